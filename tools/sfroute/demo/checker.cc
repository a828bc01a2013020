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

// Nobody may be on the drained pod unless the placement that put him there
// came before the drain: its threshold was at most the pod's last state, the
// only way that state could still count as fresh.
InvariantResult CheckDrain(const SimulationResult& result, const Readback& readback) {
  InvariantResult invariant =
      Named("drain", "nobody is on the drained pod unless he was placed there before the drain");
  const DrainRecord& drain = result.drain;
  if (!drain.happened) {
    invariant.note = "no pod was drained";
    return invariant;
  }
  const std::string& svc = result.services[drain.svc];
  int kept = 0;
  int after = 0;
  for (const PlayerRecord& player : result.players) {
    const LinkRecord* link = FindLink(player, drain.svc);
    if (player.fate == Fate::kFailed || link == nullptr) continue;
    ++invariant.checked;
    if (link->threshold > drain.last_state_ms) ++after;
    // The last pod the library gave him, even if he is gone since.
    const std::optional<PodIndex> placed =
        link->pod.has_value() ? link->pod : link->pod_before_disconnect;
    const std::optional<PodIndex> actual = RedisLink(readback, drain.svc, player.uid);
    if (actual != drain.pod && placed != drain.pod) continue;
    if (placed == drain.pod && link->threshold <= drain.last_state_ms) {
      ++kept;
    } else if (placed != drain.pod) {
      Add(invariant, player, svc,
          "Redis has him on the drained pod " + std::to_string(drain.pod) +
              ", the simulation placed him on " + PodText(placed));
    } else {
      Add(invariant, player, svc,
          "placed on the drained pod " + std::to_string(drain.pod) +
              " after the drain (threshold " + std::to_string(link->threshold) +
              " > its last state " + std::to_string(drain.last_state_ms) + ")");
    }
  }
  invariant.note = svc + " pod " + std::to_string(drain.pod) + ": " + std::to_string(kept) +
                   " players placed before the drain, " + std::to_string(after) +
                   " placements after it";
  return invariant;
}

InvariantResult CheckReconnects(const SimulationResult& result) {
  InvariantResult invariant =
      Named("reconnects", "every reconnect within the grace period landed on the old pod");
  int players = 0;
  int late = 0;
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
      } else if (link.reconnect_pod != link.pod_before_disconnect) {
        Add(invariant, player, result.services[link.svc],
            "came back to " + PodText(link.reconnect_pod) + ", was on " +
                PodText(link.pod_before_disconnect));
      }
    }
  }
  invariant.note = std::to_string(players) + " players came back";
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

}  // namespace

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

absl::StatusOr<CheckResult> CheckInvariants(Executor& executor, const SimulationResult& result,
                                            LatencyLog& log) {
  absl::StatusOr<Readback> readback = ReadBack(executor, result, result.config.threads, log);
  if (!readback.ok()) return readback.status();
  CheckResult check;
  check.invariants = EvaluateInvariants(result, *readback);
  check.readback = std::move(*readback);
  return check;
}

}  // namespace sfroute::demo
