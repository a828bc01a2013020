#include "demo_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "CLI/CLI.hpp"
#include "demo/checker.h"
#include "demo/cleanup.h"
#include "demo/report.h"
#include "demo/simulation.h"
#include "demo_json.h"
#include "int_option.h"
#include "output.h"
#include "sfroute/options.h"
#include "sfroute/sfroute.h"
#include "utf8.h"

namespace sfroute::cli {
namespace {

using demo::DemoConfig;

struct IntSpec {
  const char* name;
  int DemoConfig::*field;  // null for --seed, which is 64-bit
  std::int64_t min;
  std::int64_t max;
  const char* help;
};

// The ranges are those of demo::ValidateConfig, so that a mistake is a usage
// error naming the option.
constexpr IntSpec kIntSpecs[kDemoIntOptions] = {
    {"--players", &DemoConfig::players, 1, 10'000'000, "Players who arrive during the day"},
    {"--services", &DemoConfig::services, 1, 64, "Services (scene, match, chat, ...)"},
    {"--pods", &DemoConfig::pods, 2, 10'000, "Pods per service"},
    {"--threads", &DemoConfig::threads, 1, 256, "Worker threads sharing one Executor"},
    {"--seed", nullptr, 0, std::numeric_limits<std::int64_t>::max(),
     "Seed of the players' plans and of the pods drained and crashed"},
    {"--link-ttl", &DemoConfig::link_ttl_s, 1, 86'400,
     "Seconds a router's temporary link lives until the pod claims it"},
    {"--grace", &DemoConfig::grace_s, 1, 3'600, "Seconds a disconnected player's link is kept"},
    {"--fresh-ms", &DemoConfig::fresh_ms, 2, 3'600'000,
     "The routers' freshness: a pod not heard from for longer is not live, in ms"},
    {"--heartbeat-ms", &DemoConfig::heartbeat_ms, 1, 1'800'000,
     "How often pods report their load and routers read them, in ms"},
    {"--disconnect-pct", &DemoConfig::disconnect_pct, 0, 100, "Percent of players who disconnect"},
    {"--reconnect-pct", &DemoConfig::reconnect_pct, 0, 100,
     "Percent of those who come back within the grace period"},
    {"--use-pct", &DemoConfig::use_pct, 0, 100,
     "Chance that a player uses each service after the first"},
    {"--routers", &DemoConfig::routers, 1, 64,
     "Gateways, each with one Router per service, sharing the Executor"},
    {"--requests", &DemoConfig::requests, 0, 100,
     "Routes per service a player's gateway makes after login (from its cache)"},
};

std::int64_t DefaultOf(const IntSpec& spec) {
  const DemoConfig defaults;
  return spec.field != nullptr ? defaults.*spec.field : static_cast<std::int64_t>(defaults.seed);
}

// "\r"-updated status on std::cerr; only called when stderr is a terminal.
void PrintProgress(const demo::Progress& progress) {
  char line[256];
  std::snprintf(line, sizeof(line),
                "\r[%s %5.1f s] arrived %d/%d, disconnected %d, reconnected %d, failed %d, "
                "%llu calls%s%s\033[K",
                std::string(progress.phase).c_str(), progress.elapsed_s, progress.arrived,
                progress.players, progress.disconnected, progress.reconnected, progress.failed,
                static_cast<unsigned long long>(progress.calls), progress.event.empty() ? "" : ", ",
                std::string(progress.event).c_str());
  std::cerr << line << std::flush;
}

void ClearProgress(bool shown) {
  if (shown) std::cerr << "\r\033[K" << std::flush;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs the day with a progress line on stderr when it is a terminal.
absl::StatusOr<demo::SimulationResult> Simulate(Executor& executor, const DemoConfig& config) {
  const bool show_progress = ::isatty(STDERR_FILENO) == 1;
  demo::ProgressFn progress;
  if (show_progress) progress = PrintProgress;
  absl::StatusOr<demo::SimulationResult> result = demo::RunSimulation(executor, config, progress);
  ClearProgress(show_progress);
  return result;
}

struct Cleanup {
  std::int64_t removed_links = 0;
  double seconds = 0;
};

// Removes the run's links, unless asked not to or the backend is in-process
// (it vanishes with the process). Empty when nothing was removed.
absl::StatusOr<std::optional<Cleanup>> CleanUp(Executor& executor,
                                               const demo::SimulationResult& result,
                                               const DemoArgs& args, const Options& options) {
  if (args.keep_data || options.redis_url.starts_with("memory:")) return std::nullopt;
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::int64_t> removed = demo::RemoveRunLinks(executor, result);
  if (!removed.ok()) return removed.status();
  return Cleanup{.removed_links = *removed, .seconds = SecondsSince(start)};
}

void Print(const demo::ReportInput& input, const std::optional<Cleanup>& cleanup, bool json) {
  if (json) {
    Json report = DemoReportJson(input);
    report["cleanup"] = nullptr;
    if (cleanup.has_value()) {
      report["cleanup"] = {{"removed_links", cleanup->removed_links},
                           {"seconds", cleanup->seconds}};
    }
    PrintResult(report);
    return;
  }
  // Formatted apart: std::fixed must not stick to std::cout (Run may be
  // called again in this process).
  std::ostringstream text;
  text << demo::FormatReport(input);
  if (cleanup.has_value()) {
    text << "Removed the run's " << cleanup->removed_links << " links in " << std::fixed
         << std::setprecision(2) << cleanup->seconds << " s (--keep-data keeps them).\n";
  }
  std::cout << text.str() << std::flush;
}

}  // namespace

CLI::App* AddDemoCommand(CLI::App& root, DemoArgs& args) {
  CLI::App* command =
      root.add_subcommand("demo",
                          "Simulate a day of a game backend and check the routing invariants "
                          "(default backend memory:// unless --redis or $SFROUTE_REDIS is set)");
  for (int i = 0; i < kDemoIntOptions; ++i) {
    const IntSpec& spec = kIntSpecs[i];
    AddIntOption(*command, spec.name, &args.ints[i], spec.min, spec.max,
                 std::string(spec.help) + " (default " + std::to_string(DefaultOf(spec)) + ")");
  }
  command->add_option("--ns", args.ns, "Namespace (default demo-<pid>-<epoch ms>)")
      ->check(Utf8Only());
  // `sfroute demo --redis URL` reads naturally: the global options (--redis,
  // --timeout-ms) are accepted after `demo` too.
  command->fallthrough();
  command->add_flag("--json", args.json, "Print the report as one JSON object")
      ->disable_flag_override();
  command
      ->add_flag("--keep-data", args.keep_data,
                 "Leave the run's links in Redis (removed by default)")
      ->disable_flag_override();
  AddMetricsOptions(*command, args.metrics);
  return command;
}

DemoConfig MakeDemoConfig(const DemoArgs& args) {
  DemoConfig config;
  config.ns = args.ns;
  for (int i = 0; i < kDemoIntOptions; ++i) {
    if (!args.ints[i].has_value()) continue;
    if (kIntSpecs[i].field != nullptr) {
      config.*kIntSpecs[i].field = static_cast<int>(*args.ints[i]);
    } else {
      config.seed = static_cast<std::uint64_t>(*args.ints[i]);
    }
  }
  return config;
}

int RunDemo(const DemoArgs& args, Options options) {
  const DemoConfig config = MakeDemoConfig(args);
  absl::Status valid = demo::ValidateConfig(config);
  if (!valid.ok()) return ReportError(valid);
  absl::StatusOr<std::unique_ptr<Executor>> executor = Executor::Open(options);
  if (!executor.ok()) return ReportError(executor.status());
  Executor& ex = **executor;
  auto metrics = MetricsOutputs::Start(ex, args.metrics);
  if (!metrics.ok()) return ReportError(metrics.status());

  absl::StatusOr<demo::SimulationResult> result = Simulate(ex, config);
  if (!result.ok()) return ReportError(result.status());
  const auto check_start = std::chrono::steady_clock::now();
  absl::StatusOr<demo::CheckResult> check = demo::CheckInvariants(ex, *result);
  if (!check.ok()) return ReportError(check.status());
  const double check_s = SecondsSince(check_start);
  absl::StatusOr<std::optional<Cleanup>> cleanup = CleanUp(ex, *result, args, options);
  if (!cleanup.ok()) return ReportError(cleanup.status());

  Print({.result = *result,
         .check = *check,
         .backend = RedactedUrl(options.redis_url),
         .check_s = check_s},
        *cleanup, args.json);
  if (absl::Status written = (*metrics)->Finish(); !written.ok()) return ReportError(written);
  return check->ok() ? kExitOk : kExitFailure;
}

}  // namespace sfroute::cli
