#include "demo/checker.h"

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

namespace sfroute::demo {
namespace {

std::optional<PodIndex> RedisLink(const Readback& readback, int svc, const std::string& uid) {
  const auto& links = readback.links[svc];
  auto it = links.find(uid);
  if (it == links.end()) return std::nullopt;
  return it->second;
}

std::string PodText(std::optional<PodIndex> pod) {
  return pod.has_value() ? "pod " + std::to_string(*pod) : "no link";
}

std::string LinksText(const ServicePods& links) {
  std::string text = "{";
  for (const auto& [svc, pod] : links) {
    text += (text.size() > 1 ? ", " : "") + svc + ":" + std::to_string(pod);
  }
  return text + "}";
}

const LinkRecord* FindLink(const PlayerRecord& player, int svc) {
  for (const LinkRecord& link : player.links) {
    if (link.svc == svc) return &link;
  }
  return nullptr;
}

// What GetLinkService must answer for `player`.
ServicePods ExpectedPersistent(const SimulationResult& result, const PlayerRecord& player) {
  ServicePods expected;
  if (!IsOnline(player.fate)) return expected;
  for (const LinkRecord& link : player.links) {
    expected[result.services[link.svc]] = *link.pod;
  }
  return expected;
}

InvariantResult Named(std::string name, std::string description) {
  InvariantResult invariant;
  invariant.name = std::move(name);
  invariant.description = std::move(description);
  return invariant;
}

void Add(InvariantResult& invariant, const PlayerRecord& player, const std::string& svc,
         std::string detail) {
  invariant.violations.push_back({player.uid, svc + ": " + std::move(detail)});
}

InvariantResult CheckCalls(const SimulationResult& result) {
  InvariantResult invariant =
      Named("calls", "every call succeeded and answered as the simulation expected");
  invariant.checked = static_cast<std::int64_t>(result.players.size());
  for (const PlayerRecord& player : result.players) {
    if (player.fate == Fate::kFailed) {
      invariant.violations.push_back({player.uid, player.failure});
    }
  }
  for (const std::string& failure : result.other_failures) {
    invariant.violations.push_back({"", failure});
  }
  return invariant;
}

InvariantResult CheckWorkloads(const SimulationResult& result, const Readback& readback) {
  InvariantResult invariant = Named("workloads", "every service's workload state reads READY");
  for (const std::string& svc : result.services) {
    ++invariant.checked;
    auto it = readback.workloads.find(svc);
    if (it == readback.workloads.end() || it->second != "READY") {
      invariant.violations.push_back(
          {"", svc + ": workload state is " +
                   (it == readback.workloads.end() ? "absent" : it->second)});
    }
  }
  return invariant;
}

InvariantResult CheckLinks(const SimulationResult& result, const Readback& readback) {
  InvariantResult invariant = Named("links",
                                    "each online player is on his recorded pod of each service he "
                                    "uses, and linked to no other service (BatchGetLinkedPod)");
  for (const PlayerRecord& player : result.players) {
    if (!IsOnline(player.fate)) continue;
    for (int svc = 0; svc < static_cast<int>(result.services.size()); ++svc) {
      ++invariant.checked;
      const LinkRecord* link = FindLink(player, svc);
      const std::optional<PodIndex> expected = link != nullptr ? link->pod : std::nullopt;
      const std::optional<PodIndex> actual = RedisLink(readback, svc, player.uid);
      if (actual != expected) {
        Add(invariant, player, result.services[svc],
            "Redis has " + PodText(actual) + ", the simulation recorded " + PodText(expected));
      }
    }
  }
  return invariant;
}

InvariantResult CheckPersistent(const SimulationResult& result, const Readback& readback) {
  InvariantResult invariant =
      Named("persistent",
            "GetLinkService of each player is exactly his recorded links (none once he is gone)");
  for (size_t i = 0; i < result.players.size(); ++i) {
    const PlayerRecord& player = result.players[i];
    if (player.fate == Fate::kFailed) continue;
    ++invariant.checked;
    const ServicePods expected = ExpectedPersistent(result, player);
    if (readback.persistent[i] != expected) {
      invariant.violations.push_back(
          {player.uid, "GetLinkService says " + LinksText(readback.persistent[i]) +
                           ", the simulation recorded " + LinksText(expected)});
    }
  }
  return invariant;
}

InvariantResult CheckLivePods(const SimulationResult& result, const Readback& readback) {
  InvariantResult invariant = Named("live-pods", "every link points to a pod that reports a state");
  for (size_t svc = 0; svc < result.services.size(); ++svc) {
    const std::string& name = result.services[svc];
    auto states = readback.states.find(name);
    for (const auto& [uid, pod] : readback.links[svc]) {
      ++invariant.checked;
      if (states == readback.states.end() || !states->second.contains(pod)) {
        invariant.violations.push_back(
            {uid, name + ": linked to pod " + std::to_string(pod) + ", which reports no state"});
      }
    }
  }
  return invariant;
}

// Nobody new may be placed on the drained pod once its last load report is
// no longer fresh (routers stop as soon as they read its drain report, and
// that report is stamped after every load report). Its own players may go
// on being routed to it: a reconnect returns there.
InvariantResult CheckDrain(const SimulationResult& result, const Readback& readback) {
  InvariantResult invariant = Named(
      "drain", "nobody new is on the drained pod unless a router sent him there before it drained");
  const DrainRecord& drain = result.drain;
  if (!drain.happened) {
    invariant.note = "no pod was drained";
    return invariant;
  }
  const std::string& svc = result.services[0];
  const std::int64_t aged_out_ms = drain.last_report_ms + result.config.fresh_ms;
  int kept = 0;
  int after = 0;
  for (const PlayerRecord& player : result.players) {
    const LinkRecord* link = FindLink(player, 0);
    if (player.fate == Fate::kFailed || link == nullptr) continue;
    ++invariant.checked;
    if (link->routed_ms > aged_out_ms) ++after;
    // The last pod the library gave him, even if he is gone since.
    const std::optional<PodIndex> placed =
        link->pod.has_value() ? link->pod : link->pod_before_disconnect;
    const std::optional<PodIndex> actual = RedisLink(readback, 0, player.uid);
    if (actual != drain.pod && placed != drain.pod) continue;
    const bool returned = link->pod_before_disconnect == drain.pod;
    if (placed == drain.pod && (link->routed_ms <= aged_out_ms || returned)) {
      ++kept;
    } else if (placed != drain.pod) {
      Add(invariant, player, svc,
          "Redis has him on the drained pod " + std::to_string(drain.pod) + ", the simulation on " +
              PodText(placed));
    } else {
      Add(invariant, player, svc,
          "routed to the drained pod " + std::to_string(drain.pod) + " at " +
              std::to_string(link->routed_ms) + ", " +
              std::to_string(link->routed_ms - drain.last_report_ms) + " ms after its last report");
    }
  }
  invariant.note = svc + " pod " + std::to_string(drain.pod) + ": " + std::to_string(kept) +
                   " players routed there before it drained or back to it, " +
                   std::to_string(after) + " routed after its last load report aged out";
  return invariant;
}

// The times `pod` of service `svc` was not reporting; none for a pod the
// run did not have.
const std::vector<Silence>& SilencesOf(const SimulationResult& result, int svc, PodIndex pod) {
  static const std::vector<Silence> kNone;
  if (pod < 0 || static_cast<std::size_t>(pod) >= result.pods[svc].size()) return kNone;
  return result.pods[svc][pod].silences;
}

// Whether `pod` had stopped reporting before end_ms, and was not known
// back by every router before start_ms: a router may then have moved its
// temporary links.
bool MayHaveLookedDead(const SimulationResult& result, int svc, PodIndex pod, std::int64_t start_ms,
                       std::int64_t end_ms) {
  for (const Silence& silence : SilencesOf(result, svc, pod)) {
    if (silence.last_report_ms != kNeverMs && silence.last_report_ms < end_ms &&
        start_ms <= silence.known_ms) {
      return true;
    }
  }
  return false;
}

InvariantResult CheckReconnects(const SimulationResult& result) {
  InvariantResult invariant =
      Named("reconnects",
            "every reconnect within the grace period landed on the old pod, unless that pod had "
            "stopped reporting (then the router moved him)");
  int players = 0;
  int late = 0;
  int moved = 0;
  int gave_up = 0;
  for (const PlayerRecord& player : result.players) {
    if (player.gave_up) ++gave_up;
    if (player.fate != Fate::kReconnected) continue;
    ++players;
    for (const LinkRecord& link : player.links) {
      ++invariant.checked;
      // Past the grace period the old link may be gone: nothing to judge.
      if (!link.reconnect_in_time) {
        ++late;
      } else if (link.reconnect_pod == link.pod_before_disconnect) {
        continue;
      } else if (MayHaveLookedDead(result, link.svc, *link.pod_before_disconnect,
                                   link.reconnect_start_ms, link.reconnect_end_ms)) {
        ++moved;
      } else {
        Add(invariant, player, result.services[link.svc],
            "came back to " + PodText(link.reconnect_pod) + ", was on " +
                PodText(link.pod_before_disconnect) + ", which never stopped reporting");
      }
    }
  }
  invariant.note = std::to_string(players) + " players came back";
  if (moved > 0) {
    invariant.note += ", " + std::to_string(moved) + " links moved off a pod that stopped";
  }
  if (late > 0) invariant.note += ", " + std::to_string(late) + " links late";
  if (gave_up > 0) {
    invariant.note += ", " + std::to_string(gave_up) + " too late to try";
  }
  return invariant;
}

InvariantResult CheckGraceExpiry(const SimulationResult& result, const Readback& readback) {
  InvariantResult invariant =
      Named("grace-expiry", "players who did not come back have no link after the grace period");
  int gone = 0;
  for (const PlayerRecord& player : result.players) {
    if (player.fate != Fate::kGone) continue;
    ++gone;
    for (int svc = 0; svc < static_cast<int>(result.services.size()); ++svc) {
      ++invariant.checked;
      const std::optional<PodIndex> actual = RedisLink(readback, svc, player.uid);
      if (actual.has_value()) {
        Add(invariant, player, result.services[svc],
            "still linked to " + PodText(actual) + " after the grace period");
      }
    }
  }
  invariant.note = std::to_string(gone) + " players left for good";
  return invariant;
}

// Whether `pod`'s last report aged past the freshness window between
// start_ms and end_ms: a router may have placed a player there just before,
// and another found it dead just after and moved him.
bool StoppedBeingLiveDuring(const SimulationResult& result, int svc, std::optional<PodIndex> pod,
                            std::int64_t start_ms, std::int64_t end_ms) {
  if (!pod.has_value()) return false;
  for (const Silence& silence : SilencesOf(result, svc, *pod)) {
    if (silence.last_report_ms == kNeverMs) continue;
    const std::int64_t stale_ms = silence.last_report_ms + result.config.fresh_ms;
    if (start_ms <= stale_ms && stale_ms <= end_ms) return true;
  }
  return false;
}

InvariantResult CheckTwins(const SimulationResult& result) {
  InvariantResult invariant = Named(
      "one-pod",
      "every uid routed by two routers at once got one pod from both, unless one of those pods "
      "stopped being live while they routed");
  int moved_off = 0;
  for (const TwinRoute& twin : result.twins) {
    ++invariant.checked;
    const PlayerRecord& player = result.players[twin.player];
    if (twin.pods[0].has_value() && twin.pods[0] == twin.pods[1]) continue;
    if (twin.pods[0].has_value() && twin.pods[1].has_value() &&
        (StoppedBeingLiveDuring(result, 0, twin.pods[0], twin.start_ms, twin.end_ms) ||
         StoppedBeingLiveDuring(result, 0, twin.pods[1], twin.start_ms, twin.end_ms))) {
      ++moved_off;
      continue;
    }
    std::string answers;
    for (int i = 0; i < 2; ++i) {
      answers += (i == 0 ? "router " : ", router ") + std::to_string(twin.routers[i]) + ": " +
                 (twin.pods[i].has_value() ? PodText(twin.pods[i]) : twin.errors[i]);
    }
    Add(invariant, player, result.services[0], answers);
  }
  if (result.config.routers < 2) {
    invariant.note = "needs 2 routers or more";
  } else if (moved_off > 0) {
    invariant.note = std::to_string(moved_off) +
                     " got two pods: one pod's last report aged past freshness while they routed";
  }
  return invariant;
}

const char* KindName(RouteRecord::Kind kind) {
  switch (kind) {
    case RouteRecord::Kind::kArrival:
      return "arrival";
    case RouteRecord::Kind::kRequest:
      return "request";
    case RouteRecord::Kind::kReconnect:
      return "reconnect";
    case RouteRecord::Kind::kProbe:
      return "probe";
  }
  return "?";
}

InvariantResult CheckRoutesLive(const SimulationResult& result) {
  InvariantResult invariant =
      Named("routes-live", "no route answered a pod that was not live when the route started");
  int near_silence = 0;  // routes to a pod that was not reporting at the time
  for (const RouteRecord& route : result.routes) {
    ++invariant.checked;
    const PlayerRecord& player = result.players[route.player];
    if (!MayBeLive(result, route.svc, route.pod, route.start_ms, route.end_ms)) {
      Add(invariant, player, result.services[route.svc],
          std::string(KindName(route.kind)) + " route by router " + std::to_string(route.router) +
              " at " + std::to_string(route.start_ms) + " answered " + PodText(route.pod) +
              ", not live then");
    } else if (MayHaveLookedDead(result, route.svc, route.pod, route.start_ms, route.end_ms)) {
      ++near_silence;
    }
  }
  invariant.note = std::to_string(near_silence) +
                   " routes answered a pod in the freshness window after its last report";
  return invariant;
}

InvariantResult CheckCrash(const SimulationResult& result) {
  InvariantResult invariant = Named(
      "crash",
      "while the crashed pod was down its players were refused (UNAVAILABLE), and routed to it "
      "again once it was back");
  const CrashRecord& crash = result.crash;
  if (!crash.happened) {
    invariant.note = "no pod crashed";
    return invariant;
  }
  const std::string& svc = result.services[0];
  for (const Probe& probe : crash.probes) {
    const PlayerRecord& player = result.players[probe.player];
    invariant.checked += 2;
    if (!probe.during_unavailable) {
      Add(invariant, player, svc,
          "routed while pod " + std::to_string(crash.pod) + " was down: " +
              (probe.during_pod.has_value() ? PodText(probe.during_pod) : probe.during_error) +
              ", not UNAVAILABLE");
    }
    if (probe.after_pod != crash.pod) {
      Add(invariant, player, svc,
          "routed after pod " + std::to_string(crash.pod) + " came back: " +
              (probe.after_pod.has_value() ? PodText(probe.after_pod) : probe.after_error));
    }
  }
  int retried = 0;
  for (const PlayerRecord& player : result.players) retried += player.login_retries > 0 ? 1 : 0;
  invariant.note = svc + " pod " + std::to_string(crash.pod) + " held " +
                   std::to_string(crash.players) + " players; " +
                   std::to_string(crash.probes.size()) + " of them probed; " +
                   std::to_string(retried) + " players' logins tried again";
  return invariant;
}

InvariantResult CheckScaleIn(const SimulationResult& result, const Readback& readback) {
  InvariantResult invariant =
      Named("scale-in", "the new pod got no route before it reported, and took new players after");
  const ScaleInRecord& scale_in = result.scale_in;
  if (!scale_in.happened) {
    invariant.note = "no pod was scaled in";
    return invariant;
  }
  int placements = 0;
  int to_new_pod = 0;
  for (const RouteRecord& route : result.routes) {
    if (route.svc != 0) continue;
    const bool to_it = route.pod == scale_in.pod;
    if (to_it) ++invariant.checked;
    if (to_it && route.end_ms < scale_in.started_ms) {
      Add(invariant, result.players[route.player], result.services[0],
          "routed to the new pod " + std::to_string(scale_in.pod) + " at " +
              std::to_string(route.start_ms) + ", before it started");
    }
    if (route.placed && route.start_ms >= scale_in.started_ms) {
      ++placements;
      if (to_it) ++to_new_pod;
    }
  }
  // With every other pod holding players it is the least loaded: the
  // routers must send it some. In a day too small for that (the others
  // empty, or fewer placements than pods), ties go to lower pods.
  const bool judged =
      scale_in.others_min > 0 && placements > static_cast<int>(result.pods[0].size());
  if (judged && to_new_pod == 0) {
    invariant.violations.push_back(
        {"", result.services[0] + ": the new pod " + std::to_string(scale_in.pod) +
                 " took none of " + std::to_string(placements) + " placements after it started"});
  }
  int holds = 0;
  for (const auto& [uid, pod] : readback.links[0]) holds += pod == scale_in.pod ? 1 : 0;
  invariant.note = result.services[0] + " pod " + std::to_string(scale_in.pod) + " took " +
                   std::to_string(to_new_pod) + " of the " + std::to_string(placements) +
                   " placements after it started (the others held " +
                   std::to_string(scale_in.others_min) + "-" + std::to_string(scale_in.others_max) +
                   " players then); it ends with " + std::to_string(holds);
  return invariant;
}

}  // namespace

bool MayBeLive(const SimulationResult& result, int svc, PodIndex pod, std::int64_t start_ms,
               std::int64_t end_ms) {
  if (pod < 0 || static_cast<std::size_t>(pod) >= result.pods[svc].size()) return false;
  for (const Silence& silence : SilencesOf(result, svc, pod)) {
    const bool stale_at_start = silence.last_report_ms == kNeverMs ||
                                start_ms - result.config.fresh_ms > silence.last_report_ms;
    if (stale_at_start && end_ms < silence.resumed_ms) return false;
  }
  return true;
}

bool CheckResult::ok() const {
  return std::all_of(invariants.begin(), invariants.end(),
                     [](const InvariantResult& i) { return i.ok(); });
}

const InvariantResult* CheckResult::Find(std::string_view name) const {
  for (const InvariantResult& invariant : invariants) {
    if (invariant.name == name) return &invariant;
  }
  return nullptr;
}

std::vector<InvariantResult> EvaluateInvariants(const SimulationResult& result,
                                                const Readback& readback) {
  std::vector<InvariantResult> invariants = {
      CheckCalls(result),
      CheckWorkloads(result, readback),
      CheckLinks(result, readback),
      CheckPersistent(result, readback),
      CheckLivePods(result, readback),
      CheckDrain(result, readback),
      CheckReconnects(result),
      CheckGraceExpiry(result, readback),
      CheckTwins(result),
      CheckRoutesLive(result),
      CheckCrash(result),
      CheckScaleIn(result, readback),
  };
  // Readback maps are unordered: sort so reports and tests are stable.
  for (InvariantResult& invariant : invariants) {
    std::sort(invariant.violations.begin(), invariant.violations.end(),
              [](const Violation& a, const Violation& b) {
                return std::tie(a.uid, a.detail) < std::tie(b.uid, b.detail);
              });
  }
  return invariants;
}

absl::StatusOr<CheckResult> CheckInvariants(Executor& executor, const SimulationResult& result) {
  absl::StatusOr<Readback> readback = ReadBack(executor, result, result.config.threads);
  if (!readback.ok()) return readback.status();
  CheckResult check;
  check.invariants = EvaluateInvariants(result, *readback);
  check.readback = std::move(*readback);
  return check;
}

}  // namespace sfroute::demo
