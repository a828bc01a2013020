#include "demo/players.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <utility>

namespace sfroute::demo {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A reconnect is only tried while this much of the grace period is left, so
// that it can reach Redis before the old link expires even on a busy machine.
constexpr milliseconds kReconnectMargin{300};
// Sessions are short so that disconnects and reconnects mix with arrivals.
constexpr int kMaxSessionMs = 500;

std::string PlayerUid(int index, int players) {
  std::string digits = std::to_string(index);
  const size_t width = std::to_string(std::max(players - 1, 0)).size();
  return "player-" + std::string(width - std::min(width, digits.size()), '0') + digits;
}

}  // namespace

std::vector<PlayerRecord> MakePlayers(const DemoConfig& config) {
  std::mt19937_64 rng(config.seed);
  auto chance = [&rng](int pct) { return static_cast<int>(rng() % 100) < pct; };
  auto between = [&rng](int low, int high) {
    return low + static_cast<int>(rng() % (high - low + 1));
  };
  const int max_delay_ms = std::max(100, config.grace_s * 1000 / 2);
  std::vector<PlayerRecord> players(config.players);
  for (int i = 0; i < config.players; ++i) {
    PlayerRecord& player = players[i];
    player.uid = PlayerUid(i, config.players);
    for (int svc = 0; svc < config.services; ++svc) {
      if (svc == 0 || chance(config.use_pct)) {
        LinkRecord link;
        link.svc = svc;
        player.links.push_back(link);
      }
    }
    player.will_disconnect = chance(config.disconnect_pct);
    player.will_reconnect = player.will_disconnect && chance(config.reconnect_pct);
    player.session_ms = between(0, kMaxSessionMs);
    player.reconnect_delay_ms = between(100, max_delay_ms);
  }
  return players;
}

PlayerActions::PlayerActions(Executor& executor, const DemoConfig& config,
                             const std::vector<std::string>& services, PodBoard& board,
                             EventQueue& queue)
    : executor_(executor), config_(config), services_(services), board_(board), queue_(queue) {}

void PlayerActions::Run(const Event& event, PlayerRecord& player, LatencyLog& log) {
  switch (event.kind) {
    case Event::Kind::kArrive:
      Arrive(event.player, player, log);
      break;
    case Event::Kind::kDisconnect:
      Disconnect(event.player, player, log);
      break;
    case Event::Kind::kReconnect:
      Reconnect(player, log);
      break;
  }
}

void PlayerActions::ReportLoad(int svc, PodIndex pod, LatencyLog& log) {
  std::optional<std::string> state = board_.Report(svc, pod);
  if (!state.has_value()) return;
  absl::Status status = Timed(log, Op::kSetServiceState, [&] {
    return executor_.SetServiceState(config_.ns, services_[svc], pod, *state);
  });
  if (!status.ok()) {
    AddOtherFailure("SetServiceState " + services_[svc] + "/" + std::to_string(pod) + ": " +
                    status.ToString());
  }
}

SteadyTime PlayerActions::LastRemovalEnd() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_removal_end_;
}

std::vector<std::string> PlayerActions::OtherFailures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return other_failures_;
}

void PlayerActions::AddOtherFailure(std::string failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  other_failures_.push_back(std::move(failure));
}

// A new player: placed on the least-loaded fresh pod of each service he uses
// (temporary links), then confirmed at login (persistent links).
void PlayerActions::Arrive(int index, PlayerRecord& player, LatencyLog& log) {
  for (LinkRecord& link : player.links) {
    if (!Place(player, link, log)) return;
  }
  if (!Login(player, log)) return;
  ++arrived_;
  if (player.will_disconnect) {
    queue_.PushAt(steady_clock::now() + milliseconds(player.session_ms),
                  {Event::Kind::kDisconnect, index});
  }
}

// Logout with a grace period: each link stays, temporary, for grace_s.
void PlayerActions::Disconnect(int index, PlayerRecord& player, LatencyLog& log) {
  for (LinkRecord& link : player.links) {
    link.removed_at = steady_clock::now();
    absl::StatusOr<bool> removed = Timed(log, Op::kRemoveLinkedPod, [&] {
      return executor_.RemoveLinkedPod(config_.ns, player.uid, services_[link.svc],
                                       config_.grace_s);
    });
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_removal_end_ = std::max(last_removal_end_, steady_clock::now());
    }
    if (!removed.ok()) {
      Fail(player, link, "RemoveLinkedPod", removed.status());
      return;
    }
    if (!*removed) {
      Fail(player, link, "RemoveLinkedPod found no link");
      return;
    }
    link.pod_before_disconnect = link.pod;
    link.pod.reset();
    board_.AddLoad(link.svc, *link.pod_before_disconnect, -1);
    ReportLoad(link.svc, *link.pod_before_disconnect, log);
  }
  player.fate = Fate::kGone;
  ++disconnected_;
  if (player.will_reconnect) {
    queue_.PushAt(steady_clock::now() + milliseconds(player.reconnect_delay_ms),
                  {Event::Kind::kReconnect, index});
  }
}

// Back within the grace period: placement must find the old link.
void PlayerActions::Reconnect(PlayerRecord& player, LatencyLog& log) {
  const milliseconds grace(config_.grace_s * 1000);
  if (steady_clock::now() + kReconnectMargin > player.links.front().removed_at + grace) {
    player.gave_up = true;  // stays kGone: his links must expire
    return;
  }
  for (LinkRecord& link : player.links) {
    if (!Place(player, link, log)) return;
    link.reconnect_pod = link.pod;
    link.reconnect_in_time = steady_clock::now() < link.removed_at + grace;
  }
  if (!Login(player, log)) return;
  player.fate = Fate::kReconnected;
  ++reconnected_;
}

bool PlayerActions::Place(PlayerRecord& player, LinkRecord& link, LatencyLog& log) {
  const std::int64_t threshold = NowMs() - config_.fresh_ms;
  absl::StatusOr<std::optional<PodIndex>> pod = Timed(log, Op::kComputeLinkedPodIfAbsent, [&] {
    return executor_.ComputeLinkedPodIfAbsent(config_.ns, player.uid, services_[link.svc],
                                              Ttl::Seconds(config_.link_ttl_s), threshold);
  });
  if (!pod.ok()) {
    return Fail(player, link, "ComputeLinkedPodIfAbsent", pod.status());
  }
  if (!pod->has_value()) {
    return Fail(player, link, "ComputeLinkedPodIfAbsent found no fresh pod");
  }
  // A reconnect that finds his old link keeps the threshold of the placement
  // that made it: that is the one that chose the pod.
  if (link.pod_before_disconnect != **pod) link.threshold = threshold;
  link.pod = **pod;
  board_.AddLoad(link.svc, **pod, 1);
  ReportLoad(link.svc, **pod, log);
  return true;
}

bool PlayerActions::Login(PlayerRecord& player, LatencyLog& log) {
  for (LinkRecord& link : player.links) {
    absl::StatusOr<TrySetResult> result = Timed(log, Op::kTrySetLinkedPod, [&] {
      return executor_.TrySetLinkedPod(config_.ns, player.uid, services_[link.svc], *link.pod,
                                       Ttl::Persistent());
    });
    if (!result.ok()) {
      return Fail(player, link, "TrySetLinkedPod", result.status());
    }
    if (!result->applied || result->pod != *link.pod) {
      return Fail(player, link,
                  "TrySetLinkedPod at login refused: pod " + std::to_string(result->pod) +
                      " holds him, not " + std::to_string(*link.pod));
    }
  }
  return true;
}

bool PlayerActions::Fail(PlayerRecord& player, const LinkRecord& link, std::string what) {
  player.fate = Fate::kFailed;
  player.failure = player.uid + "/" + services_[link.svc] + ": " + what;
  ++failed_;
  return false;
}

bool PlayerActions::Fail(PlayerRecord& player, const LinkRecord& link, std::string_view op,
                         const absl::Status& status) {
  return Fail(player, link, std::string(op) + " failed: " + status.ToString());
}

}  // namespace sfroute::demo
