// The fixed shape of a demo run (namespace, services) and its pods: each
// holds players and reports their number through a PodReporter.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_WORLD_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_WORLD_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "demo/records.h"
#include "sfroute/clock.h"
#include "sfroute/reporter.h"
#include "sfroute/router.h"
#include "sfroute/sfroute.h"

namespace sfroute::demo {

// Wall-clock milliseconds since the epoch: what pods stamp their reports
// with and what routers judge them by.
std::int64_t NowMs();

// A namespace no earlier run used: "demo-<pid>-<epoch ms>".
std::string FreshNamespace();

// "scene", "match", "chat", ... then "svc<i>" past the built-in names.
std::vector<std::string> ServiceNames(int count);

// The Unix clock, remembering the latest time it told: given to a pod's
// reporters, it bounds every stamp they ever wrote.
class StampClock : public Clock {
 public:
  std::chrono::milliseconds Now() const override;
  std::int64_t LatestMs() const { return latest_ms_.load(); }

 private:
  mutable std::atomic<std::int64_t> latest_ms_{kNeverMs};
};

// One pod of the simulated backend. It holds players (the ones it claimed
// and has not released) and reports their number every period through a
// PodReporter of its own. It can be drained (it goes on reporting, as
// draining, and serving its players), and it can crash: its reporter is
// destroyed, without draining, and it claims or releases nobody until it
// starts again. Thread-safe.
class DemoPod {
 public:
  DemoPod(Executor& executor, std::string ns, std::string svc, PodIndex pod,
          std::chrono::milliseconds period);
  ~DemoPod();

  // Starts reporting (a new PodReporter; its first report is made before
  // this returns).
  absl::Status Start();
  // PodReporter::Drain: it reports as draining from now on (routers place
  // nobody new on it) and keeps serving its players.
  void Drain();
  // The stamp of its first drain report, at or after its last load report.
  std::int64_t drain_report_ms() const;
  // The process dies: its reporter is destroyed mid-period. Returns the
  // stamp of its last report.
  std::int64_t Crash();
  bool up() const;
  // Up and not drained.
  bool reporting() const;
  // Every router has read its report since it (re)started.
  void MarkKnown(std::int64_t ms);

  // PodReporter::Claim / Release. Empty when the pod is down: the gateway
  // could not reach it.
  std::optional<absl::StatusOr<TrySetResult>> Claim(const std::string& uid, int player);
  std::optional<absl::StatusOr<bool>> Release(const std::string& uid, int player,
                                              std::int64_t keep_seconds);

  PodIndex index() const { return pod_; }
  int players() const;
  std::vector<int> PlayerList() const;
  // When it was not reporting (crashed).
  PodRecord Record() const;

 private:
  Executor& executor_;
  const std::string ns_, svc_;
  const PodIndex pod_;
  const std::chrono::milliseconds period_;
  const std::shared_ptr<StampClock> clock_ = std::make_shared<StampClock>();

  // Claims and releases hold it shared; Start and Crash exclusive, so a
  // crash waits for the calls in progress and none starts after it.
  mutable std::shared_mutex life_mutex_;
  std::unique_ptr<PodReporter> reporter_;  // null while down

  mutable std::mutex mutex_;  // guards the four below
  std::set<int> players_;
  // Open at first: it has never reported.
  std::vector<Silence> silences_{Silence{}};
  bool drained_ = false;
  std::int64_t drain_report_ms_ = kNeverMs;
};

// The backend of the day: the pods of each service, and the gateways, each
// with one Router per service. Routers go before pods.
struct Fleet {
  std::vector<std::string> services;
  std::vector<std::vector<std::unique_ptr<DemoPod>>> pods;     // [svc][pod]
  std::vector<std::vector<std::unique_ptr<Router>>> gateways;  // [gateway][svc]

  DemoPod& Pod(int svc, PodIndex pod) { return *pods[svc][pod]; }
  Router& Gateway(int gateway, int svc) { return *gateways[gateway % gateways.size()][svc]; }
  // Every gateway reads the pod states of `svc` now (rather than at its
  // next refresh).
  absl::Status RefreshRouters(int svc);
  // Router::stats() of every router, added up.
  RouterFigures RouterStats() const;
};

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_WORLD_H_
