// Settings of `sfroute demo`: the size and pace of the simulated day.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_CONFIG_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_CONFIG_H_

#include <cstdint>
#include <string>

namespace sfroute::demo {

struct DemoConfig {
  // Namespace of the run; empty means a fresh "demo-<pid>-<epoch ms>", so
  // runs never see each other's links.
  std::string ns;
  int players = 5000;
  int services = 3;  // named scene, match, chat, guild, ...
  int pods = 6;      // per service; at least 2, since one pod is drained
  int threads = 4;   // workers sharing one Executor
  std::uint64_t seed = 1;

  // Lifetime of the temporary link a placement creates, until login makes it
  // persistent.
  int link_ttl_s = 300;
  // How long a disconnected player's link is kept for a reconnect.
  int grace_s = 2;
  // A pod state older than this is not fresh: placements skip that pod.
  int fresh_ms = 1000;
  // Every pod still reporting re-reports its state this often, so that idle
  // pods stay fresh.
  int heartbeat_ms = 100;

  int disconnect_pct = 20;  // players who disconnect after a short session
  int reconnect_pct = 50;   // of those, who come back within the grace period
  int use_pct = 70;         // chance a player uses each service after the first
};

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_CONFIG_H_
