// The invariants of a demo run: what Redis says (read back through the
// public API) against what the simulation recorded, and the simulation's
// records against the rules of the day. Every violation is named.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_CHECKER_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_CHECKER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "demo/readback.h"
#include "demo/records.h"
#include "sfroute/sfroute.h"

namespace sfroute::demo {

struct Violation {
  std::string uid;  // empty when it belongs to no player
  std::string detail;
};

struct InvariantResult {
  std::string name;          // short id, e.g. "links"
  std::string description;   // what holds when it is OK
  std::int64_t checked = 0;  // how many cases were looked at
  std::vector<Violation> violations;
  std::string note;  // context for the report, e.g. counts
  bool ok() const { return violations.empty(); }
};

struct CheckResult {
  std::vector<InvariantResult> invariants;
  Readback readback;
  bool ok() const;
  // The invariant called `name`, or nullptr.
  const InvariantResult* Find(std::string_view name) const;
};

// The invariants, from a readback already made. Pure: no I/O.
std::vector<InvariantResult> EvaluateInvariants(const SimulationResult& result,
                                                const Readback& readback);

// Whether `pod` of `svc` may have been live for a route that started at
// start_ms and ended at end_ms (wall ms): false when it had stopped
// reporting more than `freshness` before the start and did not report
// again before the end. Sound whatever the routers' refresh: a router only
// knows reports that were made.
bool MayBeLive(const SimulationResult& result, int svc, PodIndex pod, std::int64_t start_ms,
               std::int64_t end_ms);

// Reads back the run (with result.config.threads threads) and evaluates the
// invariants. Fails only when Redis cannot be read.
absl::StatusOr<CheckResult> CheckInvariants(Executor& executor, const SimulationResult& result);

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_CHECKER_H_
