// The human-readable account of a demo run: the day, the routers' figures,
// players per pod, the library's metrics and the invariants.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_REPORT_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "demo/checker.h"
#include "demo/records.h"

namespace sfroute::demo {

struct ReportInput {
  const SimulationResult& result;
  const CheckResult& check;
  std::string backend;  // the Redis URL, passwords already redacted
  double check_s = 0;
};

std::string FormatReport(const ReportInput& input);

// The pieces of the report, for other renderings (the CLI's --json).
struct DayCounts {
  int arrived = 0;  // placed and logged in (failed players excluded)
  int disconnected = 0;
  int reconnected = 0;
  int gone = 0;
  int failed = 0;
};
DayCounts CountFates(const SimulationResult& result);

struct PodRow {
  PodIndex pod = 0;
  int players = 0;    // linked to it, as read back
  std::string state;  // its state as read back; empty when it has none
  std::string event;  // what happened to it: "drained", "crashed", "scaled in"; or empty
  std::optional<double> state_age_s;  // when the state is "<load>-<ms>"
};
struct ServiceTable {
  std::string svc;
  int players = 0;
  std::vector<PodRow> pods;
  // Over the pods taking players at the end (the drained one is left out).
  int accepting = 0;
  int spread = 0;  // max - min
  double stddev = 0;
};
ServiceTable MakeServiceTable(const SimulationResult& result, const CheckResult& check, int svc);

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_REPORT_H_
