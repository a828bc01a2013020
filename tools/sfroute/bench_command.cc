#include "bench_command.h"

#include <limits>

#include "CLI/CLI.hpp"
#include "float_option.h"
#include "int_option.h"
#include "output.h"
#include "sfroute/sfroute.h"
#include "utf8.h"

namespace sfroute::cli {

CLI::App* AddBenchCommand(CLI::App& root, BenchArgs& args) {
  CLI::App* command = root.add_subcommand(
      "bench",
      "Load test: one operation, C concurrent callers, ops/s and latency percentiles "
      "(route: through one shared Router, every uid routed once before the run)");
  std::string choices;
  for (const std::string& name : bench::Operations()) {
    choices += (choices.empty() ? "" : ", ") + name;
  }
  command->add_option("--operation", args.load.operation, "One of: " + choices)
      ->required()
      ->check(Utf8Only())
      ->check(CLI::IsMember(bench::Operations()));
  constexpr std::int64_t kMaxInt = std::numeric_limits<std::int32_t>::max();
  AddIntOption(*command, "--callers", &args.callers, 1, 10000,
               "Concurrent callers (threads), default 50");
  AddIntOption(*command, "--operations", &args.operations, 1,
               std::numeric_limits<std::int64_t>::max(), "Stop after N calls in all");
  AddFloatOption(*command, "--seconds", &args.seconds, kBenchMinSeconds, kBenchMaxSeconds,
                 "Run time in seconds (0.001 to 86400) unless --operations, default 5");
  AddIntOption(*command, "--keyspace", &args.keyspace, 1, kMaxInt,
               "Number of uids, default 100000");
  AddIntOption(*command, "--batch", &args.batch, 1, 100000,
               "Uids per call of batch-get and set-many, default 100");
  AddIntOption(*command, "--connections", &args.connections, 1, 1000,
               "Connections per node the callers share, default Options' (1)");
  command->add_flag("--async", args.load.async,
                    "One thread keeps --in-flight calls going with the async API (each callback "
                    "starts the next) instead of --callers threads");
  AddIntOption(*command, "--in-flight", &args.in_flight, 1, 100000,
               "Calls kept in flight by --async, default 256");
  AddMetricsOptions(*command, args.metrics);
  command->add_option("--ns", args.load.ns, "Namespace, default bench")->check(Utf8Only());
  command->add_option("--svc", args.load.svc, "Service, default scene")->check(Utf8Only());
  return command;
}

int RunBench(BenchArgs& args, Options options) {
  bench::LoadOptions& load = args.load;
  if (args.callers) load.callers = static_cast<int>(*args.callers);
  if (args.operations) load.operations = *args.operations;
  if (args.seconds) load.seconds = *args.seconds;
  if (args.keyspace) load.keyspace = static_cast<int>(*args.keyspace);
  if (args.batch) load.batch = static_cast<int>(*args.batch);
  if (args.in_flight) load.in_flight = static_cast<int>(*args.in_flight);
  if (args.connections) options.pool_size = static_cast<int>(*args.connections);
  auto executor = Executor::Open(options);
  if (!executor.ok()) return ReportError(executor.status());
  auto metrics = MetricsOutputs::Start(**executor, args.metrics);
  if (!metrics.ok()) return ReportError(metrics.status());
  auto report = bench::RunLoad(**executor, load);
  if (!report.ok()) return ReportError(report.status());
  if (absl::Status written = (*metrics)->Finish(); !written.ok()) return ReportError(written);
  Json out{{"operation", report->operation},
           {"callers", report->callers},
           {"in_flight", report->in_flight},
           {"seconds", report->seconds},
           {"calls", report->calls},
           {"links", report->links},
           {"errors", report->errors},
           {"first_error", report->first_error},
           {"calls_per_second", report->calls_per_second},
           {"links_per_second", report->links_per_second},
           {"p50_us", report->p50_us},
           {"p99_us", report->p99_us},
           {"p999_us", report->p999_us},
           {"max_us", report->max_us}};
  if (const std::optional<bench::RouterFigures>& router = report->router; router.has_value()) {
    // The router's own counts over the timed run: hits made no Redis call.
    out["router"] =
        Json{{"live_pods", router->live_pods},   {"pre_route_seconds", router->pre_route_seconds},
             {"cache_hits", router->cache_hits}, {"redis_calls", router->redis_calls},
             {"linked", router->linked},         {"placed", router->placed},
             {"moved", router->moved},           {"errors", router->errors}};
  }
  PrintResult(out);
  return report->errors == 0 ? kExitOk : kExitFailure;
}

}  // namespace sfroute::cli
