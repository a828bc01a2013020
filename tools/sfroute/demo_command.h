// `sfroute demo`: a simulated day of a game backend against sfroute, with a
// report and an invariant check (docs/demo.md). Unlike the other commands it
// prints a human-readable report, and exits 1 when an invariant fails.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_COMMAND_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_COMMAND_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "demo/config.h"
#include "observability.h"
#include "sfroute/options.h"

namespace CLI {
class App;
}  // namespace CLI

namespace sfroute::cli {

// The demo's default backend: in-process, nothing to start.
inline constexpr char kDemoDefaultRedisUrl[] = "memory://";

inline constexpr int kDemoIntOptions = 14;

struct DemoArgs {
  // Integer options as parsed (empty when absent), in the order of the
  // option table in demo_command.cc.
  std::array<std::optional<std::int64_t>, kDemoIntOptions> ints;
  std::string ns;
  bool keep_data = false;
  bool json = false;
  MetricsArgs metrics;
};

// Adds the `demo` command to `root`, binding its options to `args`.
CLI::App* AddDemoCommand(CLI::App& root, DemoArgs& args);

// The config the parsed options describe (defaults where absent).
demo::DemoConfig MakeDemoConfig(const DemoArgs& args);

// Runs the demo against options.redis_url and prints the report on stdout.
// Returns the exit code: 0 when every invariant holds, 1 when one does not,
// or the code of the error that stopped the run.
int RunDemo(const DemoArgs& args, Options options);

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_COMMAND_H_
