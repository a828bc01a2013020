// A day in a game backend, played against sfroute's routing drivers: pods
// report their load through PodReporters, gateways route thousands of
// players through Routers, the players log in, leave, come back. Mid-day a
// pod is scaled in, one is drained and one crashes and comes back. The
// result is the simulation's own record of every route and claim, for the
// invariant checker to hold against what Redis says.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_SIMULATION_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "demo/config.h"
#include "demo/records.h"
#include "sfroute/sfroute.h"

namespace sfroute::demo {

// INVALID_ARGUMENT naming the setting when `config` cannot make a run.
absl::Status ValidateConfig(const DemoConfig& config);

struct Progress {
  std::string_view phase;  // "setup", "day", "grace"
  double elapsed_s = 0;
  int players = 0;
  int arrived = 0;
  int disconnected = 0;
  int reconnected = 0;
  int failed = 0;
  std::string_view event;  // the last mid-day event, e.g. "pod crashed"
  std::uint64_t calls = 0;
};
// Called from the thread that called RunSimulation, a few times a second.
using ProgressFn = std::function<void(const Progress&)>;

// Plays the day with config.threads workers and config.routers gateways
// sharing `executor`, then waits until every grace link must have expired.
// Fails only when the config is invalid or the world cannot be set up
// (Redis unreachable, ...); failures during the day are recorded in the
// result for the checker to report.
absl::StatusOr<SimulationResult> RunSimulation(Executor& executor, DemoConfig config,
                                               const ProgressFn& progress = {});

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_SIMULATION_H_
