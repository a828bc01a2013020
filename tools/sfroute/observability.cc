#include "observability.h"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>

#include "CLI/CLI.hpp"
#include "int_option.h"
#include "nlohmann/json.hpp"
#include "output.h"
#include "sfroute/prometheus.h"
#include "utf8.h"

namespace sfroute::cli {
namespace {

// 2026-11-30T09:00:00.123Z
std::string UtcTime(std::chrono::system_clock::time_point when) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis % 1000));
  return text;
}

}  // namespace

std::string AuditLine(const AuditRecord& record) {
  nlohmann::ordered_json line;
  line["time"] = UtcTime(record.time);
  line["operation"] = std::string(record.operation);
  line["ns"] = record.ns;
  line["uid"] = record.uid;
  line["svc"] = record.svc;
  if (record.pod.has_value()) line["pod"] = *record.pod;
  if (record.ttl.has_value()) line["ttl"] = *record.ttl;
  line["code"] = absl::StatusCodeToString(record.code);
  if (!record.message.empty()) line["message"] = record.message;
  if (record.applied.has_value()) line["applied"] = *record.applied;
  if (record.pod_after.has_value()) line["pod_after"] = *record.pod_after;
  if (record.has_previous) {
    line["previous"] = record.previous.has_value() ? nlohmann::ordered_json(*record.previous)
                                                   : nlohmann::ordered_json(nullptr);
  }
  if (record.removed.has_value()) line["removed"] = *record.removed;
  line["duration_us"] = record.duration.count();
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    return absl::InvalidArgumentError("invalid --audit-log: cannot open " + path +
                                      " for appending: " + std::strerror(errno));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(path, file));
}

AuditLog::~AuditLog() { std::fclose(file_); }

AuditSink AuditLog::Sink() {
  return [this](const AuditRecord& record) { Write(record); };
}

void AuditLog::Write(const AuditRecord& record) {
  std::string line = AuditLine(record);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mutex_);
  const bool written =
      std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
  if (!written && failed_.ok()) {
    failed_ = absl::InternalError("audit log " + path_ +
                                  ": a record could not be written: " + std::strerror(errno));
  }
}

absl::Status AuditLog::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failed_;
}

void AddMetricsOptions(CLI::App& command, MetricsArgs& args) {
  command
      .add_option("--metrics-file", args.file,
                  "Write the executor's metrics (Prometheus text format) to this file at the "
                  "end")
      ->check(Utf8Only());
  AddIntOption(command, "--metrics-port", &args.port, 1, 65535,
               "Serve the executor's metrics at http://127.0.0.1:PORT/metrics while it runs");
}

MetricsOutputs::MetricsOutputs(const Executor& executor, const MetricsArgs& args)
    : executor_(executor), args_(args) {}

MetricsOutputs::~MetricsOutputs() {
  exposer_.reset();  // no scrape reads the registry from here on
  published_.reset();
}

absl::StatusOr<std::unique_ptr<MetricsOutputs>> MetricsOutputs::Start(const Executor& executor,
                                                                      const MetricsArgs& args) {
  std::unique_ptr<MetricsOutputs> outputs(new MetricsOutputs(executor, args));
  if (!args.port.has_value()) return outputs;
  outputs->registry_ = std::make_shared<prometheus::Registry>();
  outputs->published_ = PrometheusMetrics::Publish(executor, *outputs->registry_);
  try {
    outputs->exposer_ =
        std::make_unique<prometheus::Exposer>("127.0.0.1:" + std::to_string(*args.port));
  } catch (const std::exception& error) {
    return absl::UnavailableError("--metrics-port " + std::to_string(*args.port) +
                                  ": cannot listen: " + error.what());
  }
  outputs->exposer_->RegisterCollectable(outputs->registry_);
  return outputs;
}

absl::Status MetricsOutputs::Finish() {
  if (args_.file.empty()) return absl::OkStatus();
  std::ofstream file(args_.file, std::ios::trunc);
  file << executor_.MetricsText();
  file.close();
  if (!file) return absl::InternalError("--metrics-file " + args_.file + ": cannot write it");
  return absl::OkStatus();
}

}  // namespace sfroute::cli
