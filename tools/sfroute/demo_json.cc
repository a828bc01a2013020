#include "demo_json.h"

#include <string>

namespace sfroute::cli {
namespace {

using demo::SimulationResult;

Json ConfigJson(const demo::DemoConfig& config) {
  return {{"players", config.players},
          {"services", config.services},
          {"pods", config.pods},
          {"threads", config.threads},
          {"seed", config.seed},
          {"link_ttl_s", config.link_ttl_s},
          {"grace_s", config.grace_s},
          {"fresh_ms", config.fresh_ms},
          {"heartbeat_ms", config.heartbeat_ms},
          {"disconnect_pct", config.disconnect_pct},
          {"reconnect_pct", config.reconnect_pct},
          {"use_pct", config.use_pct}};
}

Json DayJson(const demo::ReportInput& in) {
  const SimulationResult& result = in.result;
  const demo::DayCounts counts = demo::CountFates(result);
  Json day = {{"run_s", result.run_s},
              {"grace_wait_s", result.grace_wait_s},
              {"check_s", in.check_s},
              {"calls", result.latency.TotalCalls()},
              {"arrived", counts.arrived},
              {"disconnected", counts.disconnected},
              {"reconnected", counts.reconnected},
              {"gone", counts.gone},
              {"failed", counts.failed},
              {"drain", nullptr}};
  if (result.drain.happened) {
    day["drain"] = {{"service", result.services[result.drain.svc]},
                    {"pod", result.drain.pod},
                    {"at_s", result.drain.at_s},
                    {"last_state_ms", result.drain.last_state_ms},
                    {"calls_before", result.drain.calls_before}};
  }
  return day;
}

Json ServicesJson(const demo::ReportInput& in) {
  Json services = Json::object();
  for (int svc = 0; svc < static_cast<int>(in.result.services.size()); ++svc) {
    const demo::ServiceTable table = demo::MakeServiceTable(in.result, in.check, svc);
    Json pods = Json::object();
    for (const demo::PodRow& row : table.pods) {
      pods[std::to_string(row.pod)] = {
          {"players", row.players},
          {"state", row.state.empty() ? Json(nullptr) : Json(row.state)},
          {"drained", row.drained}};
    }
    services[table.svc] = {{"players", table.players},
                           {"pods", pods},
                           {"spread", table.spread},
                           {"stddev", table.stddev}};
  }
  return services;
}

Json OperationsJson(const demo::LatencyLog& latency) {
  Json operations = Json::object();
  for (const demo::OpSummary& op : latency.Summarize()) {
    operations[std::string(demo::OpName(op.op))] = {{"calls", op.calls},
                                                    {"calls_per_s", op.calls_per_s},
                                                    {"p50_us", op.p50_us},
                                                    {"p99_us", op.p99_us},
                                                    {"max_us", op.max_us}};
  }
  return operations;
}

// Every violation, not just the report's examples: scripts may want them.
Json InvariantsJson(const demo::CheckResult& check) {
  Json invariants = Json::object();
  for (const demo::InvariantResult& invariant : check.invariants) {
    Json violations = Json::array();
    for (const demo::Violation& violation : invariant.violations) {
      violations.push_back({{"uid", violation.uid}, {"detail", violation.detail}});
    }
    invariants[invariant.name] = {{"ok", invariant.ok()},
                                  {"description", invariant.description},
                                  {"checked", invariant.checked},
                                  {"note", invariant.note},
                                  {"violations", violations}};
  }
  return invariants;
}

}  // namespace

Json DemoReportJson(const demo::ReportInput& in) {
  return {{"ok", in.check.ok()},
          {"ns", in.result.config.ns},
          {"backend", in.backend},
          {"config", ConfigJson(in.result.config)},
          {"day", DayJson(in)},
          {"services", ServicesJson(in)},
          {"operations", OperationsJson(in.latency)},
          {"invariants", InvariantsJson(in.check)}};
}

}  // namespace sfroute::cli
