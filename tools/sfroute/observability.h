// What the CLI writes beside its results: the audit log (--audit-log) and
// the metrics of demo and bench runs (--metrics-file, --metrics-port).
#ifndef SFROUTE_TOOLS_SFROUTE_OBSERVABILITY_H_
#define SFROUTE_TOOLS_SFROUTE_OBSERVABILITY_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sfroute/prometheus.h"
#include "sfroute/sfroute.h"

namespace CLI {
class App;
}  // namespace CLI

namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace sfroute::cli {

// Appends one JSON object per AuditRecord to a file, a line each, whole
// lines only (a lock around each write), flushed as written. A write that
// fails is remembered: status() says so at the end, and the command fails.
class AuditLog {
 public:
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();
  AuditSink Sink();
  absl::Status status() const;

 private:
  AuditLog(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  void Write(const AuditRecord& record);

  const std::string path_;
  std::FILE* const file_;
  mutable std::mutex mutex_;
  absl::Status failed_;
};

// One audit record as the line --audit-log writes (SPEC.md §10).
std::string AuditLine(const AuditRecord& record);

// --metrics-file F and --metrics-port N of demo and bench.
struct MetricsArgs {
  std::string file;
  std::optional<std::int64_t> port;
};
void AddMetricsOptions(CLI::App& command, MetricsArgs& args);

// Serves /metrics on 127.0.0.1:port while it lives (the executor's metrics,
// at most a second old), and writes the file at the end.
class MetricsOutputs {
 public:
  static absl::StatusOr<std::unique_ptr<MetricsOutputs>> Start(const Executor& executor,
                                                               const MetricsArgs& args);
  ~MetricsOutputs();
  // Writes MetricsText() to --metrics-file, if one was given.
  absl::Status Finish();

 private:
  MetricsOutputs(const Executor& executor, const MetricsArgs& args);
  const Executor& executor_;
  const MetricsArgs args_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<PrometheusMetrics> published_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_OBSERVABILITY_H_
