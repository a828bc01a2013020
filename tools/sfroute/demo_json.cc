#include "demo_json.h"

#include <cstdint>
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
          {"routers", config.routers},
          {"requests", config.requests},
          {"disconnect_pct", config.disconnect_pct},
          {"reconnect_pct", config.reconnect_pct},
          {"use_pct", config.use_pct}};
}

Json DayJson(const demo::ReportInput& in) {
  const SimulationResult& result = in.result;
  const demo::DayCounts counts = demo::CountFates(result);
  const std::string& first = result.services[0];
  Json day = {{"run_s", result.run_s},
              {"grace_wait_s", result.grace_wait_s},
              {"check_s", in.check_s},
              {"calls", result.library.calls},
              {"rush_calls", result.rush_calls},
              {"rush_s", result.rush_s},
              {"arrived", counts.arrived},
              {"disconnected", counts.disconnected},
              {"reconnected", counts.reconnected},
              {"gone", counts.gone},
              {"failed", counts.failed},
              {"scale_in", nullptr},
              {"drain", nullptr},
              {"crash", nullptr}};
  if (result.scale_in.happened) {
    day["scale_in"] = {{"service", first},
                       {"pod", result.scale_in.pod},
                       {"at_s", result.scale_in.at_s},
                       {"others_min", result.scale_in.others_min},
                       {"others_max", result.scale_in.others_max}};
  }
  if (result.drain.happened) {
    day["drain"] = {{"service", first},
                    {"pod", result.drain.pod},
                    {"at_s", result.drain.at_s},
                    {"last_report_ms", result.drain.last_report_ms}};
  }
  if (result.crash.happened) {
    int refused = 0;
    int back = 0;
    for (const demo::Probe& probe : result.crash.probes) {
      refused += probe.during_unavailable ? 1 : 0;
      back += probe.after_pod == result.crash.pod ? 1 : 0;
    }
    day["crash"] = {{"service", first},
                    {"pod", result.crash.pod},
                    {"at_s", result.crash.at_s},
                    {"back_at_s", result.crash.back_at_s},
                    {"last_report_ms", result.crash.last_report_ms},
                    {"players", result.crash.players},
                    {"probed", result.crash.probes.size()},
                    {"refused_while_down", refused},
                    {"routed_back", back}};
  }
  return day;
}

Json RoutersJson(const demo::RouterFigures& routers) {
  const sfroute::Router::Stats& stats = routers.stats;
  const std::uint64_t routes = routers.routes();
  return {
      {"routers", routers.routers},
      {"routes", routes},
      {"cache_hits", stats.cache_hits},
      {"cache_hit_rate", routes > 0 ? static_cast<double>(stats.cache_hits) / routes : 0.0},
      {"linked", stats.linked},
      {"placed", stats.placed},
      {"moved", stats.moved},
      {"errors", stats.errors},
      {"redis_calls", stats.redis_calls},
      {"redis_calls_per_route", routes > 0 ? static_cast<double>(stats.redis_calls) / routes : 0.0},
      {"refreshes", stats.refreshes}};
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
          {"event", row.event.empty() ? Json(nullptr) : Json(row.event)}};
    }
    services[table.svc] = {{"players", table.players},
                           {"pods", pods},
                           {"spread", table.spread},
                           {"stddev", table.stddev}};
  }
  return services;
}

Json LibraryJson(const demo::LibraryFigures& library) {
  Json operations = Json::object();
  for (const demo::OperationFigures& op : library.operations) {
    operations[op.name] = {{"calls", op.calls},
                           {"failures", op.failures},
                           {"mean_us", op.mean_us},
                           {"p50_us", op.p50_us},
                           {"p99_us", op.p99_us}};
  }
  return {{"operations", operations},
          {"connections_opened", library.connections_opened},
          {"connection_failures", library.connection_failures},
          {"script_reloads", library.script_reloads},
          {"redirects", library.redirects},
          {"reports", library.reports}};
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
          {"routers", RoutersJson(in.result.routers)},
          {"services", ServicesJson(in)},
          {"library", LibraryJson(in.result.library)},
          {"invariants", InvariantsJson(in.check)}};
}

}  // namespace sfroute::cli
