// The fixed shape of a demo run (namespace, services, pods) and the pods'
// own view of their load, which they report to sfroute as "<load>-<ms>".
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_WORLD_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_WORLD_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sfroute/types.h"

namespace sfroute::demo {

// Wall-clock milliseconds since the epoch: what pods put in their states and
// what placement thresholds are compared with.
std::int64_t NowMs();

// A namespace no earlier run used: "demo-<pid>-<epoch ms>".
std::string FreshNamespace();

// "scene", "match", "chat", ... then "svc<i>" past the built-in names.
std::vector<std::string> ServiceNames(int count);

// The state string a pod reports: "<load>-<timestamp ms>".
std::string PodState(int load, std::int64_t timestamp_ms);

// What each pod knows about itself: how many players it holds and whether it
// still reports. Thread-safe.
class PodBoard {
 public:
  PodBoard(int services, int pods);

  void AddLoad(int svc, PodIndex pod, int delta);
  int Load(int svc, PodIndex pod) const;

  // The state `pod` reports now, stamped with the current time; empty once
  // the pod is drained.
  std::optional<std::string> Report(int svc, PodIndex pod);
  // The states of every pod that still reports, indexed by service.
  std::vector<PodStates> ReportAll();

  // Stops `pod` from reporting and returns the timestamp of the last state
  // it was ever given. Every state of that pod a writer still has in flight
  // carries that timestamp or an older one, so a placement whose threshold is
  // above it can never choose the pod.
  std::int64_t Drain(int svc, PodIndex pod);

 private:
  struct Pod {
    int load = 0;
    bool drained = false;
    std::int64_t last_reported_ms = 0;
  };
  std::string StampLocked(Pod& pod);

  mutable std::mutex mutex_;
  std::vector<std::vector<Pod>> pods_;  // [svc][pod]
};

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_WORLD_H_
