// `sfroute bench`: a load run of one operation (tools/sfroute/bench/load.h),
// printed as one JSON object: calls and links per second, p50/p99/p999.
#ifndef SFROUTE_TOOLS_SFROUTE_BENCH_COMMAND_H_
#define SFROUTE_TOOLS_SFROUTE_BENCH_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>

#include "bench/load.h"
#include "observability.h"
#include "sfroute/options.h"

namespace CLI {
class App;
}  // namespace CLI

namespace sfroute::cli {

struct BenchArgs {
  bench::LoadOptions load;
  std::optional<std::int64_t> callers, operations, keyspace, batch, connections, in_flight;
  std::optional<double> seconds;
  MetricsArgs metrics;
};

// The range of bench --seconds: a millisecond to a day.
inline constexpr double kBenchMinSeconds = 0.001;
inline constexpr double kBenchMaxSeconds = 86400;

// Adds the `bench` command to `root`, binding its options to `args`.
CLI::App* AddBenchCommand(CLI::App& root, BenchArgs& args);

// Runs the load against `options` (one connection per caller) and prints
// the report. Returns the exit code.
int RunBench(BenchArgs& args, Options options);

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_BENCH_COMMAND_H_
