// What the simulation planned and what it saw: its own record of where every
// player is, kept apart from Redis so the invariant checker can compare the
// two.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_RECORDS_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "demo/config.h"
#include "demo/latency.h"
#include "sfroute/types.h"

namespace sfroute::demo {

// A player's link to one service he uses, as the simulation knows it.
struct LinkRecord {
  int svc = 0;  // index into SimulationResult::services
  // Where the library said he is linked; empty while he is offline.
  std::optional<PodIndex> pod;
  // Threshold of the placement that chose `pod`. A threshold above the
  // drained pod's last timestamp proves the placement came after the drain.
  std::int64_t threshold = 0;

  // Disconnect and reconnect, when they happened.
  std::optional<PodIndex> pod_before_disconnect;
  SteadyTime removed_at{};  // when the RemoveLinkedPod call started
  std::optional<PodIndex> reconnect_pod;
  // The reconnect call ended before the grace link could have expired
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
  std::string failure;   // why fate is kFailed
};

// Online players must hold exactly their links; gone ones none at all.
inline bool IsOnline(Fate fate) { return fate == Fate::kOnline || fate == Fate::kReconnected; }

struct DrainRecord {
  int svc = 0;
  PodIndex pod = 0;
  bool happened = false;
  std::int64_t last_state_ms = 0;  // timestamp of its last reported state
  double at_s = 0;                 // seconds into the run
  // Calls made before it: the morning rush, when workers never wait.
  std::int64_t calls_before = 0;
};

struct SimulationResult {
  DemoConfig config;  // as run (with the namespace filled in)
  std::vector<std::string> services;
  DrainRecord drain;
  std::vector<PlayerRecord> players;
  // Failures that belong to no player (the pods' heartbeat).
  std::vector<std::string> other_failures;
  LatencyLog latency;
  double run_s = 0;         // setup and the event loop
  double grace_wait_s = 0;  // waiting for the grace links to expire
};

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_RECORDS_H_
