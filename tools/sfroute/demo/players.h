// What a player does: arrive (his gateway routes him, the pod claims him),
// make requests (routes from the gateway's cache), disconnect (the pod
// releases him with a grace period), reconnect (routed again, claimed
// again). Each action records what the library answered in the player's
// PlayerRecord and the worker's RouteLog, and schedules his next event.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_PLAYERS_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_PLAYERS_H_

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "demo/config.h"
#include "demo/event_queue.h"
#include "demo/records.h"
#include "demo/world.h"

namespace sfroute::demo {

// The plan of every player, drawn from config.seed: which services he uses
// (always the first), whether he disconnects and comes back, and when.
std::vector<PlayerRecord> MakePlayers(const DemoConfig& config);

// What one worker saw; merged at the end of the day.
struct RouteLog {
  std::vector<RouteRecord> routes;
  std::vector<TwinRoute> twins;
};

class PlayerActions {
 public:
  PlayerActions(const DemoConfig& config, Fleet& fleet, EventQueue& queue);

  // Runs `event` for `player`. A player's events never run concurrently:
  // each one is scheduled by the one before it.
  void Run(const Event& event, PlayerRecord& player, RouteLog& log);

  // A route through `gateway`, recorded in `log` when it answers a pod.
  absl::StatusOr<RouteResult> Route(RouteRecord::Kind kind, int index, const PlayerRecord& player,
                                    int svc, int gateway, RouteLog& log);

  // When the last Release call returned: its grace link expires at most
  // grace_s after that.
  SteadyTime LastRemovalEnd() const;

  // For the progress line.
  int arrived() const { return arrived_.load(); }
  int disconnected() const { return disconnected_.load(); }
  int reconnected() const { return reconnected_.load(); }
  int failed() const { return failed_.load(); }

 private:
  enum class Login { kDone, kRetry, kFailed };

  void Arrive(const Event& event, PlayerRecord& player, RouteLog& log);
  void Disconnect(const Event& event, PlayerRecord& player);
  void Reconnect(const Event& event, PlayerRecord& player, RouteLog& log);

  // Routes his first link through two gateways at once: they must agree.
  absl::StatusOr<RouteResult> RouteTwice(int index, const PlayerRecord& player, RouteLog& log);
  // Every pod he was routed to claims him. A pod that is down (crashed
  // before the routers saw it) cannot: his gateway forgets that route and
  // he tries again a little later, as `event`.
  Login ClaimAll(const Event& event, PlayerRecord& player);
  // His requests: routes of every link from his gateway's cache.
  void MakeRequests(int index, PlayerRecord& player, RouteLog& log);

  // Always returns false, so callers can `return Fail(...)`.
  bool Fail(PlayerRecord& player, const LinkRecord& link, std::string what);
  bool Fail(PlayerRecord& player, const LinkRecord& link, std::string_view op,
            const absl::Status& status);

  int GatewayOf(int index) const { return index % config_.routers; }
  // A reconnect comes in through another gateway (when there is one).
  int ReconnectGatewayOf(int index) const { return (index + 1) % config_.routers; }

  const DemoConfig& config_;
  Fleet& fleet_;
  EventQueue& queue_;

  mutable std::mutex mutex_;  // guards the one below
  SteadyTime last_removal_end_{};

  std::atomic<int> arrived_{0};
  std::atomic<int> disconnected_{0};
  std::atomic<int> reconnected_{0};
  std::atomic<int> failed_{0};
};

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_PLAYERS_H_
