// What the simulation planned and what it saw: its own record of where every
// player is, of every route the gateways made and of when each pod was not
// reporting, kept apart from Redis so the invariant checker can compare the
// two.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_RECORDS_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_RECORDS_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "demo/config.h"
#include "demo/event_queue.h"
#include "demo/library_metrics.h"
#include "sfroute/router.h"
#include "sfroute/types.h"

namespace sfroute::demo {

inline constexpr std::int64_t kNeverMs = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kForeverMs = std::numeric_limits<std::int64_t>::max();

// A player's link to one service he uses, as the simulation knows it.
struct LinkRecord {
  int svc = 0;  // index into SimulationResult::services
  // The pod that claimed him (PodReporter::Claim); empty while he is
  // offline.
  std::optional<PodIndex> pod;
  // Wall ms at the start of the route that sent him to `pod`.
  std::int64_t routed_ms = 0;

  // Disconnect and reconnect, when they happened.
  std::optional<PodIndex> pod_before_disconnect;
  SteadyTime removed_at{};  // when the Release call started
  std::optional<PodIndex> reconnect_pod;
  // The reconnect's route, wall ms at its start and end.
  std::int64_t reconnect_start_ms = 0;
  std::int64_t reconnect_end_ms = 0;
  // The reconnect's route ended before the grace link could have expired
  // (removed_at + grace), so it must have found the old link.
  bool reconnect_in_time = false;
};

enum class Fate {
  kOnline,       // arrived and stayed (or came back): persistent links
  kGone,         // disconnected and did not come back: no links after grace
  kReconnected,  // disconnected, came back within the grace period
  kFailed,       // a call failed or answered unexpectedly: see `failure`
};

struct PlayerRecord {
  std::string uid;
  // The plan, drawn from the seed before the run.
  bool will_disconnect = false;
  bool will_reconnect = false;
  int session_ms = 0;          // from login to disconnect
  int reconnect_delay_ms = 0;  // from disconnect to reconnect

  std::vector<LinkRecord> links;  // one per service he uses
  Fate fate = Fate::kOnline;
  bool gave_up = false;  // the reconnect came too late to be tried
  // Logins tried again because a router sent him to a pod that had crashed
  // (and did not look dead yet).
  int login_retries = 0;
  std::string failure;  // why fate is kFailed
};

// Online players must hold exactly their links; gone ones none at all.
inline bool IsOnline(Fate fate) { return fate == Fate::kOnline || fate == Fate::kReconnected; }

// One route a gateway made and the pod it answered, with the wall clock
// (Unix ms) just before and just after the call.
struct RouteRecord {
  enum class Kind { kArrival, kRequest, kReconnect, kProbe };
  Kind kind = Kind::kArrival;
  int player = 0;
  int svc = 0;
  int router = 0;  // the gateway
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  PodIndex pod = 0;
  bool placed = false;  // RouteResult::placed: this route wrote the link
};

// One uid routed by two gateways at once (the first service).
struct TwinRoute {
  int player = 0;
  int routers[2] = {0, 0};
  // What each router answered: a pod, or an error.
  std::optional<PodIndex> pods[2];
  std::string errors[2];
  // From before the first route started until both had ended.
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
};

// A time a pod was not reporting: after its last report (stamped
// last_report_ms) until it reported again (at or after resumed_ms). A
// route that started more than `freshness` after last_report_ms and ended
// before resumed_ms cannot have seen the pod live.
struct Silence {
  std::int64_t last_report_ms = kNeverMs;  // kNeverMs: it never reported before
  std::int64_t resumed_ms = kForeverMs;    // kForeverMs: it did not come back
  // When every router had read its new report (Router::Refresh).
  std::int64_t known_ms = kForeverMs;
};

// One pod of one service over the day.
struct PodRecord {
  PodIndex pod = 0;
  std::vector<Silence> silences;
};

struct DrainRecord {
  bool happened = false;
  PodIndex pod = 0;  // of the first service
  double at_s = 0;   // seconds into the run
  // Its first drain report: no load report is stamped later.
  std::int64_t last_report_ms = 0;
};

// A persistent player of the crashed pod routed while it was down, and
// after it came back.
struct Probe {
  int player = 0;
  std::optional<PodIndex> during_pod;  // a pod: wrong, it must be UNAVAILABLE
  std::string during_error;            // the error, e.g. UNAVAILABLE: ...
  bool during_unavailable = false;
  std::optional<PodIndex> after_pod;
  std::string after_error;
};

struct CrashRecord {
  bool happened = false;
  PodIndex pod = 0;  // of the first service
  double at_s = 0;
  double back_at_s = 0;
  std::int64_t last_report_ms = 0;
  int players = 0;  // it held when it crashed
  std::vector<Probe> probes;
};

struct ScaleInRecord {
  bool happened = false;
  PodIndex pod = 0;  // of the first service: an index that had not reported
  double at_s = 0;
  std::int64_t started_ms = 0;
  // What the other pods that were live held when it started (min, max).
  int others_min = 0;
  int others_max = 0;
};

// Router::stats() added up over every router of the run.
struct RouterFigures {
  int routers = 0;
  Router::Stats stats;
  std::uint64_t routes() const {
    return stats.cache_hits + stats.linked + stats.placed + stats.moved + stats.errors;
  }
};

struct SimulationResult {
  DemoConfig config;  // as run (with the namespace filled in)
  std::vector<std::string> services;
  std::vector<std::vector<PodRecord>> pods;  // [svc][pod]
  DrainRecord drain;
  CrashRecord crash;
  ScaleInRecord scale_in;
  std::vector<PlayerRecord> players;
  std::vector<RouteRecord> routes;  // every route that answered a pod
  std::vector<TwinRoute> twins;
  // Failures that belong to no player (setup of a reporter, reports).
  std::vector<std::string> other_failures;
  RouterFigures routers;
  LibraryFigures library;   // the executor's metrics over the day
  double run_s = 0;         // setup and the event loop
  double grace_wait_s = 0;  // waiting for the grace links to expire
  // Calls made from the start to the crash: the morning rush.
  std::uint64_t rush_calls = 0;
  double rush_s = 0;
};

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_RECORDS_H_
