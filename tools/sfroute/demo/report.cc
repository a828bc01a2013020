#include "demo/report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "demo/world.h"

namespace sfroute::demo {
namespace {

// Violations shown per invariant; the rest are counted.
constexpr size_t kExamples = 3;

// The timestamp of a "<load>-<ms>" state; empty for any other form.
std::optional<std::int64_t> StateTimestamp(const std::string& state) {
  const size_t dash = state.find('-');
  if (dash == std::string::npos || dash + 1 >= state.size()) return std::nullopt;
  std::int64_t value = 0;
  for (char c : state.substr(dash + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

void AppendHeader(const ReportInput& in, std::string& out) {
  const DemoConfig& config = in.result.config;
  absl::StrAppendFormat(&out, "sfroute demo: namespace %s on %s\n", config.ns, in.backend);
  absl::StrAppendFormat(&out,
                        "%d players, %d services x %d pods, %d threads, %d gateways (a Router "
                        "per service each), seed %d\n\n",
                        config.players, config.services, config.pods, config.threads,
                        config.routers, config.seed);
}

void AppendEvents(const SimulationResult& result, std::string& out) {
  const std::string& svc = result.services[0];
  if (result.scale_in.happened) {
    absl::StrAppendFormat(&out,
                          "  +%.2f s  %s pod %d scaled in: a new reporter, the others held "
                          "%d-%d players\n",
                          result.scale_in.at_s, svc, result.scale_in.pod,
                          result.scale_in.others_min, result.scale_in.others_max);
  }
  if (result.drain.happened) {
    absl::StrAppendFormat(&out,
                          "  +%.2f s  %s pod %d drained (PodReporter::Drain): reports "
                          "drain-<ms> from %d on, serving its players; no placement there\n",
                          result.drain.at_s, svc, result.drain.pod, result.drain.last_report_ms);
  }
  if (result.crash.happened) {
    const CrashRecord& crash = result.crash;
    absl::StrAppendFormat(&out,
                          "  +%.2f s  %s pod %d crashed (its reporter destroyed) holding %d "
                          "players; back at +%.2f s\n",
                          crash.at_s, svc, crash.pod, crash.players, crash.back_at_s);
  }
}

void AppendDay(const ReportInput& in, std::string& out) {
  const SimulationResult& result = in.result;
  const DayCounts counts = CountFates(result);
  const DemoConfig& config = result.config;
  absl::StrAppendFormat(&out,
                        "The day: %.2f s, then %.2f s until grace links "
                        "expired, then %.2f s of checks\n",
                        result.run_s, result.grace_wait_s, in.check_s);
  absl::StrAppendFormat(&out,
                        "  %d players arrived: routed to the least-loaded live pod (%d s link), "
                        "claimed by it at login (persistent)\n",
                        counts.arrived, config.link_ttl_s);
  absl::StrAppendFormat(&out,
                        "  %d disconnected, released with a %d s grace period: %d came "
                        "back, %d left for good\n",
                        counts.disconnected, config.grace_s, counts.reconnected, counts.gone);
  AppendEvents(result, out);
  absl::StrAppendFormat(&out, "  %d library calls in %.2f s, %d players failed\n",
                        result.library.calls, result.run_s, counts.failed);
  // Until the crash nothing waits on a pod: that pace is what the backend
  // sustains with this many threads.
  if (result.crash.happened && result.rush_s > 0) {
    absl::StrAppendFormat(&out,
                          "  rush hour (start to the crash): %d calls in %.2f s = %.0f calls/s "
                          "with %d threads\n",
                          result.rush_calls, result.rush_s, result.rush_calls / result.rush_s,
                          config.threads);
  }
  out += "\n";
}

void AppendRouters(const RouterFigures& routers, std::string& out) {
  const Router::Stats& stats = routers.stats;
  const std::uint64_t routes = routers.routes();
  absl::StrAppendFormat(&out, "Routers (Router::stats() over the %d routers)\n", routers.routers);
  absl::StrAppendFormat(&out, "  %d routes: %d from the cache (hit rate %.1f %%), %d read linked\n",
                        routes, stats.cache_hits,
                        routes > 0 ? 100.0 * stats.cache_hits / routes : 0, stats.linked);
  absl::StrAppendFormat(&out, "  %d placed, %d moved off pods that were not live, %d errors\n",
                        stats.placed, stats.moved, stats.errors);
  absl::StrAppendFormat(&out, "  %d Redis calls by routes = %.3f per route; %d pod state reads\n\n",
                        stats.redis_calls,
                        routes > 0 ? static_cast<double>(stats.redis_calls) / routes : 0,
                        stats.refreshes);
}

void AppendService(const ServiceTable& table, std::string& out) {
  absl::StrAppendFormat(&out, "  %s: %d players\n    %4s %8s  %s\n", table.svc, table.players,
                        "pod", "players", "last state");
  for (const PodRow& row : table.pods) {
    absl::StrAppendFormat(&out, "    %4d %8d  %s", row.pod, row.players,
                          row.state.empty() ? "(none)" : row.state);
    if (!row.event.empty()) {
      absl::StrAppendFormat(&out, "  %s, state %.1f s old", row.event, row.state_age_s.value_or(0));
    }
    out += "\n";
  }
  if (table.accepting > 0) {
    absl::StrAppendFormat(&out,
                          "    spread over the %d pods taking players: max-min %d, stddev "
                          "%.1f\n",
                          table.accepting, table.spread, table.stddev);
  }
}

void AppendLibrary(const LibraryFigures& library, std::string& out) {
  absl::StrAppendFormat(&out,
                        "Operations during the day (the executor's metrics)\n  %-26s %7s %7s "
                        "%9s %9s %9s\n",
                        "operation", "calls", "failed", "mean us", "p50 us", "p99 us");
  for (const OperationFigures& op : library.operations) {
    absl::StrAppendFormat(&out, "  %-26s %7d %7d %9.1f %9.1f %9.1f\n", op.name, op.calls,
                          op.failures, op.mean_us, op.p50_us, op.p99_us);
  }
  absl::StrAppendFormat(&out,
                        "  (p50/p99 interpolated in the histogram's buckets, 50 us to 10 s)\n"
                        "  connections opened %d, failed %d; scripts reloaded %d; redirects %d\n",
                        library.connections_opened, library.connection_failures,
                        library.script_reloads, library.redirects);
  std::string reports;
  for (const auto& [code, count] : library.reports) {
    absl::StrAppendFormat(&reports, "%s%s %d", reports.empty() ? "" : ", ", code, count);
  }
  absl::StrAppendFormat(&out, "  pod reports (the reporters running at the end): %s\n\n",
                        reports.empty() ? "none" : reports);
}

// Breaks `text` into lines of at most `width` columns, at spaces.
std::vector<std::string> Wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines(1);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!lines.back().empty() && lines.back().size() + 1 + word.size() > width) {
      lines.emplace_back();
    }
    lines.back() += (lines.back().empty() ? "" : " ") + word;
    start = end + 1;
  }
  return lines;
}

void AppendInvariant(const InvariantResult& invariant, std::string& out) {
  const char* indent = "                      ";  // under the description
  std::vector<std::string> lines = Wrap(invariant.description, 64);
  absl::StrAppendFormat(&out, "  %-4s  %-12s  %s\n", invariant.ok() ? "OK" : "FAIL", invariant.name,
                        lines.front());
  for (size_t i = 1; i < lines.size(); ++i) {
    absl::StrAppendFormat(&out, "%s%s\n", indent, lines[i]);
  }
  std::string facts = absl::StrFormat("%d checked", invariant.checked);
  if (!invariant.note.empty()) facts += "; " + invariant.note;
  for (const std::string& line : Wrap(facts, 64)) {
    absl::StrAppendFormat(&out, "%s%s\n", indent, line);
  }
  if (invariant.ok()) return;
  absl::StrAppendFormat(&out, "%s%d violations, e.g.:\n", indent, invariant.violations.size());
  for (size_t i = 0; i < invariant.violations.size() && i < kExamples; ++i) {
    const Violation& violation = invariant.violations[i];
    absl::StrAppendFormat(&out, "%s  %s%s%s\n", indent, violation.uid,
                          violation.uid.empty() ? "" : " ", violation.detail);
  }
}

}  // namespace

DayCounts CountFates(const SimulationResult& result) {
  DayCounts counts;
  for (const PlayerRecord& player : result.players) {
    if (player.fate == Fate::kFailed) {
      ++counts.failed;
      continue;
    }
    ++counts.arrived;
    if (player.fate != Fate::kOnline) ++counts.disconnected;
    if (player.fate == Fate::kReconnected) ++counts.reconnected;
    if (player.fate == Fate::kGone) ++counts.gone;
  }
  return counts;
}

ServiceTable MakeServiceTable(const SimulationResult& result, const CheckResult& check, int svc) {
  ServiceTable table;
  table.svc = result.services[svc];
  std::map<PodIndex, int> players;
  for (const auto& [uid, pod] : check.readback.links[svc]) ++players[pod];
  table.players = static_cast<int>(check.readback.links[svc].size());
  const auto states = check.readback.states.find(table.svc);
  const std::int64_t now_ms = NowMs();
  std::vector<int> accepting;
  for (PodIndex pod = 0; pod < static_cast<PodIndex>(result.pods[svc].size()); ++pod) {
    PodRow row;
    row.pod = pod;
    row.players = players[pod];
    if (states != check.readback.states.end() && states->second.contains(pod)) {
      row.state = states->second.at(pod);
      const std::optional<std::int64_t> ts = StateTimestamp(row.state);
      if (ts.has_value()) row.state_age_s = (now_ms - *ts) / 1000.0;
    }
    const bool drained = svc == 0 && result.drain.happened && result.drain.pod == pod;
    if (drained) {
      row.event = "drained";
    } else if (svc == 0 && result.crash.happened && result.crash.pod == pod) {
      row.event = "crashed, back";
    } else if (svc == 0 && result.scale_in.happened && result.scale_in.pod == pod) {
      row.event = "scaled in";
    }
    if (!drained) accepting.push_back(row.players);
    table.pods.push_back(row);
  }
  if (accepting.empty()) return table;
  const auto [min, max] = std::minmax_element(accepting.begin(), accepting.end());
  double mean = 0;
  for (int count : accepting) mean += count;
  mean /= accepting.size();
  double variance = 0;
  for (int count : accepting) variance += (count - mean) * (count - mean);
  table.accepting = static_cast<int>(accepting.size());
  table.spread = *max - *min;
  table.stddev = std::sqrt(variance / accepting.size());
  return table;
}

std::string FormatReport(const ReportInput& in) {
  std::string out;
  AppendHeader(in, out);
  AppendDay(in, out);
  AppendRouters(in.result.routers, out);
  out += "Players per pod (read back through sfroute)\n";
  for (int svc = 0; svc < static_cast<int>(in.result.services.size()); ++svc) {
    AppendService(MakeServiceTable(in.result, in.check, svc), out);
  }
  out += "\n";
  AppendLibrary(in.result.library, out);
  out += "Invariants (the backend read back against the simulation's records)\n";
  int violated = 0;
  for (const InvariantResult& invariant : in.check.invariants) {
    AppendInvariant(invariant, out);
    if (!invariant.ok()) ++violated;
  }
  if (violated == 0) {
    absl::StrAppendFormat(&out, "\nAll %d invariants hold.\n", in.check.invariants.size());
  } else {
    absl::StrAppendFormat(&out, "\n%d of %d invariants violated.\n", violated,
                          in.check.invariants.size());
  }
  return out;
}

}  // namespace sfroute::demo
