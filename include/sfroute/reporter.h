// The server side of routing (SPEC.md §8): a pod reports its load, so that
// routers place new players on it, and owns its players' persistent links.
//
//   auto reporter = sfroute::PodReporter::Start(*executor, {
//       .ns = "prod", .svc = "scene", .pod = 3,
//       .load = [&] { return static_cast<std::int64_t>(players.size()); }});
//   ...                                   // a player logs in on this pod:
//   auto claim = (*reporter)->Claim(uid); // his link, persistent, to pod 3
//
// docs/routing.md says how a game backend wires reporters and routers.
#ifndef SFROUTE_REPORTER_H_
#define SFROUTE_REPORTER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sfroute/clock.h"
#include "sfroute/sfroute.h"

namespace sfroute {

struct ReporterOptions {
  std::string ns, svc;
  PodIndex pod = 0;
  // How often the load is reported. Routers judge a pod live while its last
  // report is at most their `freshness` old (15 s by default): keep the
  // period well under it. Default 5 s.
  std::chrono::milliseconds period{5000};
  // The pod's load (players, rooms, ... — routers place new players on the
  // least-loaded live pod). Called once per report, on the reporter's
  // thread; a value below 0 skips that report. Required.
  std::function<std::int64_t()> load;
  // The wall clock that stamps the reports (`<load>-<unix_ms>`). Default
  // (null): UnixClock(). Tests pass a ManualClock.
  std::shared_ptr<const Clock> clock;
};

// Writes `<load>-<unix_ms>` to the pod's field of the service's state hash
// at start and every period, on a thread of its own. A failed report is
// logged (through the executor's log sink), counted
// (sfroute_reporter_reports_total{svc,code}) and tried again the next
// period; it never throws, crashes or holds up the caller. Thread-safe.
class PodReporter {
 public:
  // Checks the options (INVALID_ARGUMENT naming the field, nothing written)
  // and reports once before it returns. That first report may fail for
  // want of Redis (UNAVAILABLE, DEADLINE_EXCEEDED): the reporter starts
  // anyway and tries again each period, so a pod may start before Redis.
  static absl::StatusOr<std::unique_ptr<PodReporter>> Start(Executor& executor,
                                                            ReporterOptions options);
  // Stops reporting and waits for a report in progress; writes nothing more.
  ~PodReporter();
  PodReporter(const PodReporter&) = delete;
  PodReporter& operator=(const PodReporter&) = delete;

  // Reports now, on this thread (the timer goes on as before): the load,
  // or DrainState() while draining. The status of the write.
  absl::Status ReportNow(const CallOptions& call = {});

  // Stops reporting the load: from now on each report is DrainState(), at
  // once and then every period. Routers place no new player on the pod as
  // soon as they read it (their next refresh), and go on routing its
  // players to it while those reports are fresh: a drain empties a pod
  // gracefully, where a crash (no report at all) cuts its players off.
  // Resume() reports the load at once and goes on.
  void Drain();
  void Resume();
  bool draining() const;

  // This pod's own links. Claim: the player logged in here — his link to
  // this pod, persistent (TrySetLinkedPod(pod, Persistent()): refused when
  // another pod holds a persistent link). Release: he left — the link is
  // removed only if it is to this pod, kept as a temporary link for
  // `keep_seconds` when > 0 (RemoveLinkedPodWithId).
  absl::StatusOr<TrySetResult> Claim(std::string_view uid, const CallOptions& call = {});
  absl::StatusOr<bool> Release(std::string_view uid, std::int64_t keep_seconds,
                               const CallOptions& call = {});

  const ReporterOptions& options() const;

  class Impl;

 private:
  explicit PodReporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "<load>-<unix_ms>", the state a reporter writes.
std::string LoadState(std::int64_t load, std::chrono::milliseconds unix_ms);
// "drain-<unix_ms>", the state a draining reporter writes: the pod is alive
// but takes no new player. ComputeLinkedPodIfAbsent skips it (not
// `<weight>-<number>`), as every reader of the wire format skips states it
// does not know.
std::string DrainState(std::chrono::milliseconds unix_ms);

}  // namespace sfroute

#endif  // SFROUTE_REPORTER_H_
