#include "demo/players.h"

#include <algorithm>
#include <chrono>
#include <latch>
#include <optional>
#include <random>
#include <thread>
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
// How soon a player whose pod was down tries again.
constexpr milliseconds kRetryAfter{100};
// Past this many tries (kRetryAfter apart) he gives up: a failure.
constexpr int kMaxRetries = 300;
// Every this many players, the first route goes through two gateways at once.
constexpr int kTwinEvery = 8;

std::string PlayerUid(int index, int players) {
  std::string digits = std::to_string(index);
  const size_t width = std::to_string(std::max(players - 1, 0)).size();
  std::string uid = "player-";
  uid.append(width - std::min(width, digits.size()), '0');
  return uid + digits;
}

std::string PodText(PodIndex pod) { return "pod " + std::to_string(pod); }

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

PlayerActions::PlayerActions(const DemoConfig& config, Fleet& fleet, EventQueue& queue)
    : config_(config), fleet_(fleet), queue_(queue) {}

void PlayerActions::Run(const Event& event, PlayerRecord& player, RouteLog& log) {
  switch (event.kind) {
    case Event::Kind::kArrive:
      Arrive(event, player, log);
      break;
    case Event::Kind::kDisconnect:
      Disconnect(event, player);
      break;
    case Event::Kind::kReconnect:
      Reconnect(event, player, log);
      break;
    case Event::Kind::kProbeCrashed:
    case Event::Kind::kRestartCrashed:
      break;  // the simulation's
  }
}

absl::StatusOr<RouteResult> PlayerActions::Route(RouteRecord::Kind kind, int index,
                                                 const PlayerRecord& player, int svc, int gateway,
                                                 RouteLog& log) {
  const std::int64_t start_ms = NowMs();
  absl::StatusOr<RouteResult> route = fleet_.Gateway(gateway, svc).Route(player.uid);
  if (route.ok()) {
    log.routes.push_back({.kind = kind,
                          .player = index,
                          .svc = svc,
                          .router = gateway % config_.routers,
                          .start_ms = start_ms,
                          .end_ms = NowMs(),
                          .pod = route->pod,
                          .placed = route->placed});
  }
  return route;
}

SteadyTime PlayerActions::LastRemovalEnd() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_removal_end_;
}

// A new player: his gateway routes him (placing him on the least-loaded
// live pod of each service he uses: temporary links), then each pod claims
// him at login (persistent links).
void PlayerActions::Arrive(const Event& event, PlayerRecord& player, RouteLog& log) {
  const int index = event.player;
  for (LinkRecord& link : player.links) {
    const std::int64_t start_ms = NowMs();
    absl::StatusOr<RouteResult> route =
        link.svc == 0 && config_.routers > 1 && index % kTwinEvery == 0
            ? RouteTwice(index, player, log)
            : Route(RouteRecord::Kind::kArrival, index, player, link.svc, GatewayOf(index), log);
    if (!route.ok()) {
      Fail(player, link, "Router::Route", route.status());
      return;
    }
    link.pod = route->pod;
    link.routed_ms = start_ms;
  }
  const Login login = ClaimAll(event, player);
  if (login != Login::kDone) return;
  MakeRequests(index, player, log);
  ++arrived_;
  if (player.will_disconnect) {
    queue_.PushAt(steady_clock::now() + milliseconds(player.session_ms),
                  {Event::Kind::kDisconnect, index});
  }
}

absl::StatusOr<RouteResult> PlayerActions::RouteTwice(int index, const PlayerRecord& player,
                                                      RouteLog& log) {
  TwinRoute twin;
  twin.player = index;
  twin.routers[0] = GatewayOf(index);
  twin.routers[1] = (GatewayOf(index) + 1) % config_.routers;
  absl::StatusOr<RouteResult> routes[2];
  RouteLog other;  // the second thread's
  twin.start_ms = NowMs();
  std::latch start(2);
  std::thread second([&] {
    start.arrive_and_wait();
    routes[1] = Route(RouteRecord::Kind::kArrival, index, player, 0, twin.routers[1], other);
  });
  start.arrive_and_wait();
  routes[0] = Route(RouteRecord::Kind::kArrival, index, player, 0, twin.routers[0], log);
  second.join();
  twin.end_ms = NowMs();
  log.routes.insert(log.routes.end(), other.routes.begin(), other.routes.end());
  for (int i = 0; i < 2; ++i) {
    if (routes[i].ok()) {
      twin.pods[i] = routes[i]->pod;
    } else {
      twin.errors[i] = routes[i].status().ToString();
    }
  }
  log.twins.push_back(std::move(twin));
  return routes[0];
}

PlayerActions::Login PlayerActions::ClaimAll(const Event& event, PlayerRecord& player) {
  for (LinkRecord& link : player.links) {
    DemoPod& pod = fleet_.Pod(link.svc, *link.pod);
    std::optional<absl::StatusOr<TrySetResult>> claim = pod.Claim(player.uid, event.player);
    if (!claim.has_value()) {
      // The pod is down: he cannot log in there. His temporary link stays;
      // once the routers see the pod dead they move it.
      for (int gateway = 0; gateway < config_.routers; ++gateway) {
        fleet_.Gateway(gateway, link.svc).Invalidate(player.uid, *link.pod);
      }
      if (++player.login_retries > kMaxRetries) {
        Fail(player, link, PodText(*link.pod) + " stayed down through every login retry");
        return Login::kFailed;
      }
      Event again = event;
      again.retry = true;
      queue_.PushAt(steady_clock::now() + kRetryAfter, again);
      return Login::kRetry;
    }
    if (!claim->ok()) {
      Fail(player, link, "PodReporter::Claim", claim->status());
      return Login::kFailed;
    }
    if (!(*claim)->applied || (*claim)->pod != *link.pod) {
      Fail(player, link,
           "Claim at login refused: " + PodText((*claim)->pod) + " holds him, not " +
               std::to_string(*link.pod));
      return Login::kFailed;
    }
  }
  return Login::kDone;
}

void PlayerActions::MakeRequests(int index, PlayerRecord& player, RouteLog& log) {
  for (int request = 0; request < config_.requests; ++request) {
    for (LinkRecord& link : player.links) {
      absl::StatusOr<RouteResult> route =
          Route(RouteRecord::Kind::kRequest, index, player, link.svc, GatewayOf(index), log);
      if (!route.ok()) {
        // A router refuses a persistent link to a pod that is not live.
        // His pod may have crashed (or aged out, drained) since he logged
        // in: he is cut off, nothing to judge.
        if (absl::IsUnavailable(route.status()) && !fleet_.Pod(link.svc, *link.pod).reporting()) {
          return;
        }
        Fail(player, link, "Router::Route (request)", route.status());
        return;
      }
      if (route->pod != *link.pod) {
        Fail(player, link,
             "request routed to " + PodText(route->pod) + ", his pod is " +
                 std::to_string(*link.pod));
        return;
      }
    }
  }
}

// Logout with a grace period: his pods release him, leaving each link
// temporary for grace_s. A pod that is down cannot: he waits for it.
void PlayerActions::Disconnect(const Event& event, PlayerRecord& player) {
  for (LinkRecord& link : player.links) {
    if (!link.pod.has_value()) continue;  // released by an earlier try
    link.removed_at = steady_clock::now();
    std::optional<absl::StatusOr<bool>> released =
        fleet_.Pod(link.svc, *link.pod).Release(player.uid, event.player, config_.grace_s);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_removal_end_ = std::max(last_removal_end_, steady_clock::now());
    }
    if (!released.has_value()) {
      queue_.PushAt(steady_clock::now() + kRetryAfter, event);
      return;
    }
    if (!released->ok()) {
      Fail(player, link, "PodReporter::Release", released->status());
      return;
    }
    if (!**released) {
      Fail(player, link, "PodReporter::Release found no link to " + PodText(*link.pod));
      return;
    }
    link.pod_before_disconnect = link.pod;
    link.pod.reset();
  }
  player.fate = Fate::kGone;
  ++disconnected_;
  if (player.will_reconnect) {
    queue_.PushAt(steady_clock::now() + milliseconds(player.reconnect_delay_ms),
                  {Event::Kind::kReconnect, event.player});
  }
}

// Back within the grace period: his route must find the old link (unless
// his old pod stopped reporting: then the router moves him), and the pod
// claims him again.
void PlayerActions::Reconnect(const Event& event, PlayerRecord& player, RouteLog& log) {
  const milliseconds grace(config_.grace_s * 1000);
  if (!event.retry &&
      steady_clock::now() + kReconnectMargin > player.links.front().removed_at + grace) {
    player.gave_up = true;  // stays kGone: his links must expire
    return;
  }
  for (LinkRecord& link : player.links) {
    link.reconnect_start_ms = NowMs();
    absl::StatusOr<RouteResult> route = Route(RouteRecord::Kind::kReconnect, event.player, player,
                                              link.svc, ReconnectGatewayOf(event.player), log);
    link.reconnect_end_ms = NowMs();
    if (!route.ok()) {
      Fail(player, link, "Router::Route (reconnect)", route.status());
      return;
    }
    link.pod = route->pod;
    link.routed_ms = link.reconnect_start_ms;
    link.reconnect_pod = route->pod;
    link.reconnect_in_time = steady_clock::now() < link.removed_at + grace;
  }
  if (ClaimAll(event, player) != Login::kDone) return;
  player.fate = Fate::kReconnected;
  ++reconnected_;
}

bool PlayerActions::Fail(PlayerRecord& player, const LinkRecord& link, std::string what) {
  player.fate = Fate::kFailed;
  player.failure = player.uid + "/" + fleet_.services[link.svc] + ": " + what;
  ++failed_;
  return false;
}

bool PlayerActions::Fail(PlayerRecord& player, const LinkRecord& link, std::string_view op,
                         const absl::Status& status) {
  return Fail(player, link, std::string(op) + " failed: " + status.ToString());
}

}  // namespace sfroute::demo
