// Everything a demo run left in Redis, read back through the public API.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_READBACK_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_READBACK_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "demo/records.h"
#include "sfroute/sfroute.h"

namespace sfroute::demo {

struct Readback {
  // [svc] uid -> pod, from BatchGetLinkedPod over every player.
  std::vector<std::unordered_map<std::string, PodIndex>> links;
  // [player] his persistent links, from GetLinkService.
  std::vector<ServicePods> persistent;
  ServicePodStates states;   // GetServiceStates of every service
  WorkloadStates workloads;  // GetWorkloadStates of every service
};

// Reads with `threads` threads sharing `executor`. Fails on the first call
// that fails: a check that cannot read Redis cannot say anything.
absl::StatusOr<Readback> ReadBack(Executor& executor, const SimulationResult& result, int threads);

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_READBACK_H_
