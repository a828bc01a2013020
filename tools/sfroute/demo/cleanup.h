// Removing what a demo run left behind.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_CLEANUP_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_CLEANUP_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "demo/records.h"
#include "sfroute/sfroute.h"

namespace sfroute::demo {

// Removes every link of the run's players (RemoveLinkedPod, no grace), with
// result.config.threads threads; returns how many links existed. Pod and
// workload states stay: the API has no call that deletes them.
absl::StatusOr<std::int64_t> RemoveRunLinks(Executor& executor, const SimulationResult& result);

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_CLEANUP_H_
