// The client side of routing (SPEC.md §8): a gateway asks which pod a
// player belongs on. Linked players go to their pod (from a local cache
// when they can: no Redis call); new players are placed on the least-loaded
// live pod, as every other router would agree.
//
//   auto router = sfroute::Router::Open(*executor, {.ns = "prod", .svc = "scene"});
//   auto route = (*router)->Route(uid);   // {pod, placed}, or UNAVAILABLE
//
// docs/routing.md says how a game backend wires reporters and routers.
#ifndef SFROUTE_ROUTER_H_
#define SFROUTE_ROUTER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sfroute/clock.h"
#include "sfroute/sfroute.h"

namespace sfroute {

struct RouterOptions {
  std::string ns, svc;
  // The temporary link written when placing or moving a player; his pod
  // claims it (PodReporter::Claim) once he is in. Must be temporary.
  // Default 300 s, as the Java routers.
  Ttl link_ttl = Ttl::Seconds(300);
  // A pod is live while its last report (`<load>-<unix_ms>`, or
  // `drain-<unix_ms>` from a draining pod, which takes no new player) is at most
  // this old. Default 15 s: three missed reports at the reporters' 5 s.
  std::chrono::milliseconds freshness{15000};
  // How often the pod states are read (one HGETALL, in the background).
  std::chrono::milliseconds state_refresh{1000};
  // How long a route is kept in the local cache; 0: no cache. Entries on a
  // pod go as soon as it stops being live, whatever their age. Default 30 s
  // (the Java routers keep 240 s, without that invalidation).
  std::chrono::milliseconds cache_ttl{30000};
  std::size_t cache_capacity = 100000;
  // The wall clock that reports are judged by. Default (null): UnixClock().
  // Tests pass a ManualClock (and call Refresh()).
  std::shared_ptr<const Clock> clock;
};

struct RouteResult {
  PodIndex pod = 0;
  // This route linked the uid: he had no link (or a temporary one to a pod
  // that is not live) and is now linked to the pod this router chose. Two
  // routers that choose the same pod for the same new uid at once both say
  // so; they never disagree on the pod.
  bool placed = false;
  bool operator==(const RouteResult&) const = default;
};

// One pod as a router sees it.
struct PodView {
  PodIndex pod = 0;
  std::string state;                   // as stored
  std::optional<std::int64_t> load;    // when the state is `<load>-<unix_ms>`
  std::optional<std::int64_t> age_ms;  // now - unix_ms, also for `drain-<unix_ms>`
  bool live = false;                   // one of those forms, and age_ms <= freshness
  bool draining = false;               // `drain-<unix_ms>`: live, takes no new player
};
// The pods of `states` (pod -> state, as GetServiceState returns them) at
// `now` (Unix ms), in pod order.
std::vector<PodView> ViewPods(const PodStates& states, std::chrono::milliseconds freshness,
                              std::chrono::milliseconds now);

// Thread-safe: one router serves every thread of a gateway. A route that
// hits the cache takes one shard's lock of 64 and makes no Redis call.
class Router {
 public:
  // Checks the options (INVALID_ARGUMENT naming the field) and reads the pod
  // states once before it returns. That read may fail for want of Redis:
  // the router opens anyway, routes fail UNAVAILABLE (no pod is known live)
  // until a refresh succeeds.
  static absl::StatusOr<std::unique_ptr<Router>> Open(Executor& executor, RouterOptions options);
  // Stops the background refresh; Route() must not be running.
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // The pod for `uid` (SPEC.md §8):
  // - linked to a live pod: that pod, from the cache or one read;
  // - not linked: placed on the live pod (not draining) with the least load — its reported
  //   load plus what this router placed there since that report, weighed by
  //   stats().placement_weight — with
  //   SetLinkedPodIfAbsent semantics and link_ttl; if another router won,
  //   its pod;
  // - a temporary link to a pod that is not live: moved to a live pod
  //   (MoveTemporaryLinkedPod: a persistent claim made meanwhile wins);
  // - a persistent link to a pod that is not live: UNAVAILABLE naming the
  //   pod — it holds the player's state, a router never moves it;
  // - no live pod: UNAVAILABLE.
  // "Not live" is never judged on this router's view alone before a link
  // moves or a route is refused: the pod states are read again first (one
  // HGETALL shared by the routes that need it at once), since another
  // router may know a pod this one has not read yet.
  // Errors of the calls made are returned as they are; none is cached.
  // `call` bounds the whole route (its deadline spans every call made).
  absl::StatusOr<RouteResult> Route(std::string_view uid, const CallOptions& call = {});

  // Forgets the cached route of `uid` if it is to `pod` (the gateway found
  // the player is not there).
  void Invalidate(std::string_view uid, PodIndex pod);

  // Reads the pod states now (the background refresh does every
  // state_refresh).
  absl::Status Refresh(const CallOptions& call = {});

  // The pods as of the last refresh, judged at the clock's now.
  std::vector<PodView> Pods() const;

  struct Stats {
    std::uint64_t cache_hits = 0;  // answered from the cache
    std::uint64_t linked = 0;      // found linked to a live pod, by a read
    std::uint64_t placed = 0;      // new uids placed
    std::uint64_t moved = 0;       // temporary links moved off pods not live
    std::uint64_t errors = 0;
    std::uint64_t redis_calls = 0;  // made by routes (refreshes not counted)
    std::uint64_t refreshes = 0;    // pod state reads that succeeded
    std::size_t cached = 0;         // routes in the cache now
    // How much each of this router's placements counts on a pod until the
    // pod's next report: the players the pods gained over those this router
    // placed, learnt from the reports — about the number of routers placing
    // at its rate. 1 alone.
    double placement_weight = 1;
  };
  Stats stats() const;

  const RouterOptions& options() const;

  class Impl;

 private:
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sfroute

#endif  // SFROUTE_ROUTER_H_
