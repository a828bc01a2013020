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
  // Per service; at least 2: one pod of the first service is drained and
  // another crashes (a third, scaled in mid-day, takes players meanwhile).
  int pods = 6;
  int threads = 4;  // workers sharing one Executor
  // Gateways: each routes through one sfroute::Router per service, all on
  // the one Executor. A player's routes go to gateway (player % routers).
  int routers = 3;
  // Routes per service a player's gateway makes during his session (his
  // requests), after the one that placed him: answered from its cache.
  int requests = 4;
  std::uint64_t seed = 1;

  // Lifetime of the temporary link a router writes when it places a player,
  // until his pod claims it at login (persistent).
  int link_ttl_s = 300;
  // How long a disconnected player's link is kept for a reconnect.
  int grace_s = 2;
  // The routers' freshness: a pod whose last report is older than this is
  // not live (no placements; its temporary links move).
  int fresh_ms = 1000;
  // The reporters' period (each pod reports its player count this often),
  // and how often the routers read the pod states.
  int heartbeat_ms = 100;

  int disconnect_pct = 20;  // players who disconnect after a short session
  int reconnect_pct = 50;   // of those, who come back within the grace period
  int use_pct = 70;         // chance a player uses each service after the first
};

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_CONFIG_H_
