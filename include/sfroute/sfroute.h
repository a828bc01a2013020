// sfroute: routing state of stateful services, kept in Redis.
//
// Start here. An Executor runs the operations of the contract (SPEC.md §2)
// against one Redis deployment. Every operation validates its arguments
// first (a violation is INVALID_ARGUMENT naming the field, and nothing is
// sent), then does one round trip: one command, one Lua script, or one
// pipeline. Failures are returned as absl::Status values; nothing is thrown.
//
// Error codes: INVALID_ARGUMENT (bad input), UNAVAILABLE (cannot reach the
// server, or it refuses work for now), DEADLINE_EXCEEDED (no answer within
// the command timeout: a mutation may or may not have been applied; re-read),
// PERMISSION_DENIED (NOAUTH, WRONGPASS, NOPERM), DATA_LOSS (a stored value is
// corrupt), INTERNAL (anything else).
//
// Every operation also has an async twin (<Operation>Async) that never
// blocks and hands its result to a callback; every call takes a deadline
// and a cancellation (CallOptions, sfroute/call.h). CANCELLED is the code
// of a cancelled call.
//
// Thread safety: an Executor is safe to share between threads.
//
//   auto executor = sfroute::Executor::Open({.redis_url = "redis://127.0.0.1:6379"});
//   if (!executor.ok()) return executor.status();
//   auto previous = (*executor)->SetLinkedPod("prod", "u1", "scene", 3,
//                                             sfroute::Ttl::Persistent());
#ifndef SFROUTE_SFROUTE_H_
#define SFROUTE_SFROUTE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sfroute/call.h"
#include "sfroute/metrics.h"
#include "sfroute/options.h"
#include "sfroute/types.h"

namespace sfroute {

namespace internal {
class Backend;
struct ExecutorFactory;
}  // namespace internal

class Executor {
 public:
  // Checks the options and starts the executor's I/O thread. Connections
  // are opened on first use, so Open succeeds while the server is down.
  static absl::StatusOr<std::unique_ptr<Executor>> Open(const Options& options);

  // Completes every call still in progress with CANCELLED (their callbacks
  // run before it returns), then closes the connections. It may run inside
  // one of the executor's own callbacks.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // This executor's metrics (and those of the routers and reporters opened
  // on it) in the Prometheus text exposition format 0.0.4: calls by
  // operation and code, their durations, calls in flight, connections
  // opened and failed per node, scripts loaded again, cluster slot maps
  // loaded and redirects followed. docs/operations.md says what to alert on.
  std::string MetricsText() const;
  // The same, as values (sfroute/metrics.h).
  MetricsSnapshot Metrics() const;

  // Every operation comes twice: a sync one, which returns its result, and
  // an async twin <Operation>Async, which returns at once and hands the same
  // result to a callback (sfroute/call.h). Both take the same arguments and
  // a CallOptions (deadline, cancellation) last.

  // --- Pod states: sf:{<ns>:state:<svc>}, a hash pod -> state -------------
  absl::Status SetServiceState(std::string_view ns, std::string_view svc, PodIndex pod,
                               std::string_view state, const CallOptions& call = {});
  void SetServiceStateAsync(std::string_view ns, std::string_view svc, PodIndex pod,
                            std::string_view state, StatusCallback done,
                            const CallOptions& call = {});
  // Fields that are not pod indices are skipped. A missing hash is empty.
  absl::StatusOr<PodStates> GetServiceState(std::string_view ns, std::string_view svc,
                                            const CallOptions& call = {});
  void GetServiceStateAsync(std::string_view ns, std::string_view svc, Callback<PodStates> done,
                            const CallOptions& call = {});
  // Every service asked for is in the answer (empty when it has no states).
  absl::StatusOr<ServicePodStates> GetServiceStates(std::string_view ns,
                                                    const std::vector<std::string>& svcs,
                                                    const CallOptions& call = {});
  void GetServiceStatesAsync(std::string_view ns, const std::vector<std::string>& svcs,
                             Callback<ServicePodStates> done, const CallOptions& call = {});
  absl::Status SetServiceStates(std::string_view ns, const ServicePodStates& states,
                                const CallOptions& call = {});
  void SetServiceStatesAsync(std::string_view ns, const ServicePodStates& states,
                             StatusCallback done, const CallOptions& call = {});

  // --- Workload state: sf:{<ns>:workload:<svc>}, a string without TTL ------
  absl::Status SetWorkloadState(std::string_view ns, std::string_view svc, std::string_view state,
                                const CallOptions& call = {});
  void SetWorkloadStateAsync(std::string_view ns, std::string_view svc, std::string_view state,
                             StatusCallback done, const CallOptions& call = {});
  absl::StatusOr<std::optional<std::string>> GetWorkloadState(std::string_view ns,
                                                              std::string_view svc,
                                                              const CallOptions& call = {});
  void GetWorkloadStateAsync(std::string_view ns, std::string_view svc,
                             Callback<std::optional<std::string>> done,
                             const CallOptions& call = {});
  // Services without a state are left out.
  absl::StatusOr<WorkloadStates> GetWorkloadStates(std::string_view ns,
                                                   const std::vector<std::string>& svcs,
                                                   const CallOptions& call = {});
  void GetWorkloadStatesAsync(std::string_view ns, const std::vector<std::string>& svcs,
                              Callback<WorkloadStates> done, const CallOptions& call = {});

  // --- Links: sf:{<ns>:lk:<uid>}<svc> (string) and sf:{<ns>:lk:<uid>} -----
  // Links uid to pod, whatever was there. Returns the previous pod.
  absl::StatusOr<std::optional<PodIndex>> SetLinkedPod(std::string_view ns, std::string_view uid,
                                                       std::string_view svc, PodIndex pod, Ttl ttl,
                                                       const CallOptions& call = {});
  void SetLinkedPodAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                         PodIndex pod, Ttl ttl, Callback<std::optional<PodIndex>> done,
                         const CallOptions& call = {});
  // Links uid to pod unless a different pod holds a persistent link.
  absl::StatusOr<TrySetResult> TrySetLinkedPod(std::string_view ns, std::string_view uid,
                                               std::string_view svc, PodIndex pod, Ttl ttl,
                                               const CallOptions& call = {});
  void TrySetLinkedPodAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                            PodIndex pod, Ttl ttl, Callback<TrySetResult> done,
                            const CallOptions& call = {});
  // Links uid to pod only if it has no link; returns the pod linked after
  // the call. An existing link is left as it is (its TTL is not refreshed).
  absl::StatusOr<PodIndex> SetLinkedPodIfAbsent(std::string_view ns, std::string_view uid,
                                                std::string_view svc, PodIndex pod, Ttl ttl,
                                                const CallOptions& call = {});
  void SetLinkedPodIfAbsentAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                                 PodIndex pod, Ttl ttl, Callback<PodIndex> done,
                                 const CallOptions& call = {});
  // The outcome of one link of SetLinkedPods.
  struct LinkWrite {
    absl::Status status;               // OK, or why this one link failed
    std::optional<PodIndex> previous;  // as SetLinkedPod returns it
  };
  // SetLinkedPod for many uids of one service in one pipeline (one per node
  // on a cluster). Each link is atomic on its own, the batch is not: the
  // answer has one LinkWrite per link, in order. Invalid input rejects the
  // whole call before anything is sent; a failed round trip fails the call
  // (links may then have been written: re-read).
  absl::StatusOr<std::vector<LinkWrite>> SetLinkedPods(std::string_view ns, std::string_view svc,
                                                       const std::vector<UidPod>& links, Ttl ttl,
                                                       const CallOptions& call = {});
  void SetLinkedPodsAsync(std::string_view ns, std::string_view svc,
                          const std::vector<UidPod>& links, Ttl ttl,
                          Callback<std::vector<LinkWrite>> done, const CallOptions& call = {});
  // The linked pod, temporary or persistent.
  absl::StatusOr<std::optional<PodIndex>> GetLinkedPod(std::string_view ns, std::string_view uid,
                                                       std::string_view svc,
                                                       const CallOptions& call = {});
  void GetLinkedPodAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                         Callback<std::optional<PodIndex>> done, const CallOptions& call = {});
  // The linked pod only if the link is persistent.
  absl::StatusOr<std::optional<PodIndex>> GetLinkedPodIfPersist(std::string_view ns,
                                                                std::string_view uid,
                                                                std::string_view svc,
                                                                const CallOptions& call = {});
  void GetLinkedPodIfPersistAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                                  Callback<std::optional<PodIndex>> done,
                                  const CallOptions& call = {});
  // pod -> uids for many uids of one service, in input order; unlinked uids
  // and unreadable values (logged: corrupt, or a key of another type) are
  // left out.
  absl::StatusOr<PodUids> BatchGetLinkedPod(std::string_view ns,
                                            const std::vector<std::string>& uids,
                                            std::string_view svc, const CallOptions& call = {});
  void BatchGetLinkedPodAsync(std::string_view ns, const std::vector<std::string>& uids,
                              std::string_view svc, Callback<PodUids> done,
                              const CallOptions& call = {});
  // Removes the link. keep_seconds > 0 leaves it as a temporary link that
  // expires after that many seconds (a grace period for reconnects); 0 or -1
  // deletes it now. Either way it leaves the links hash. Returns whether a
  // link existed.
  absl::StatusOr<bool> RemoveLinkedPod(std::string_view ns, std::string_view uid,
                                       std::string_view svc, std::int64_t keep_seconds = 0,
                                       const CallOptions& call = {});
  void RemoveLinkedPodAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                            std::int64_t keep_seconds, Callback<bool> done,
                            const CallOptions& call = {});
  // The same, only if the link is to `pod`. Returns whether it was removed.
  absl::StatusOr<bool> RemoveLinkedPodWithId(std::string_view ns, std::string_view uid,
                                             std::string_view svc, std::int64_t keep_seconds,
                                             PodIndex pod, const CallOptions& call = {});
  void RemoveLinkedPodWithIdAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                                  std::int64_t keep_seconds, PodIndex pod, Callback<bool> done,
                                  const CallOptions& call = {});
  // The uid's persistent links: service -> pod.
  absl::StatusOr<ServicePods> GetLinkService(std::string_view ns, std::string_view uid,
                                             const CallOptions& call = {});
  void GetLinkServiceAsync(std::string_view ns, std::string_view uid, Callback<ServicePods> done,
                           const CallOptions& call = {});
  // Returns the existing link if there is one. Otherwise places the uid on
  // the least-loaded pod whose state is "<weight>-<number>" with
  // number >= threshold (smallest weight, ties to the lowest pod), links it
  // with SetLinkedPodIfAbsent semantics, and returns the pod linked after the
  // call; empty when no pod qualifies. Two round trips: read, then link.
  absl::StatusOr<std::optional<PodIndex>> ComputeLinkedPodIfAbsent(std::string_view ns,
                                                                   std::string_view uid,
                                                                   std::string_view svc, Ttl ttl,
                                                                   std::int64_t threshold,
                                                                   const CallOptions& call = {});
  void ComputeLinkedPodIfAbsentAsync(std::string_view ns, std::string_view uid,
                                     std::string_view svc, Ttl ttl, std::int64_t threshold,
                                     Callback<std::optional<PodIndex>> done,
                                     const CallOptions& call = {});

  // --- Moving links (SPEC.md §8, §11) ---------------------------------------
  // Moves the link of uid from `from` to `to` only if it still points at
  // `from` (one atomic script, failing before any write), keeping it
  // persistent, or temporary with the TTL it has left. Returns whether it
  // moved. Moves are counted in sfroute_links_moved_total.
  absl::StatusOr<bool> MoveLinkedPod(std::string_view ns, std::string_view uid,
                                     std::string_view svc, PodIndex from, PodIndex to,
                                     const CallOptions& call = {});
  void MoveLinkedPodAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                          PodIndex from, PodIndex to, Callback<bool> done,
                          const CallOptions& call = {});
  // A router's move: relinks uid to `to` for `ttl` (which must be
  // temporary) only if its link is a temporary one to `from`. A persistent
  // link (a pod's claim), a link to another pod, or none, stays as it is.
  // Returns what is linked after the call: of two routers moving one uid,
  // one moves it and the other learns where to.
  absl::StatusOr<MoveResult> MoveTemporaryLinkedPod(std::string_view ns, std::string_view uid,
                                                    std::string_view svc, PodIndex from,
                                                    PodIndex to, Ttl ttl,
                                                    const CallOptions& call = {});
  void MoveTemporaryLinkedPodAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                                   PodIndex from, PodIndex to, Ttl ttl, Callback<MoveResult> done,
                                   const CallOptions& call = {});

  // Every link of svc in ns (only those to `pod` when it is given), found
  // with SCAN on every primary of a cluster, or on the one server: the wire
  // format has no index. Calls `each` with batches of at most `batch` links,
  // on the caller's thread; stops early, with OK, when `each` returns false.
  // Each link is handed out once (keys created, removed or moved during the
  // scan may or may not be seen: SCAN's own guarantee); its TTL is what was
  // left when it was read. Values that are not pod indices are logged as
  // corrupt and skipped; links that vanished meanwhile are skipped. Costs
  // round trips of `batch`-sized SCAN pages (one per node and page) and
  // value reads, and memory for one uid string per link found (to hand each
  // out once). There is no async twin. `call`: an explicit deadline bounds
  // the whole scan, the cancellation stops it; each round trip also has the
  // command timeout. Counted in the metrics as one ScanLinks call per round
  // trip, and in sfroute_links_scanned_total per link handed out.
  absl::Status ScanLinks(std::string_view ns, std::string_view svc, std::optional<PodIndex> pod,
                         std::size_t batch,
                         absl::FunctionRef<bool(const std::vector<LinkInfo>&)> each,
                         const CallOptions& call = {});

  // --- For code built on the executor (the routing drivers, yours) ----------
  // A line to this executor's log sink (Options::log_sink).
  void Log(LogLevel level, std::string_view message) const;
  // Adds counters to this executor's metrics: `collect` runs in every
  // Metrics() and MetricsText() (on the caller's thread, so it must be
  // thread-safe and quick) and appends rows (name, labels, value); rows of
  // one name are rendered as one counter family. Routers and reporters
  // count this way. The rows stop when the returned handle is destroyed,
  // which must happen before the executor is.
  using MetricsCollector = std::function<void(std::vector<MetricsSnapshot::Labeled>& rows)>;
  class MetricsSource {
   public:
    virtual ~MetricsSource() = default;
  };
  std::unique_ptr<MetricsSource> AddMetricsSource(MetricsCollector collect);

  class Impl;  // src/executor_impl.h

 private:
  friend struct internal::ExecutorFactory;  // builds executors over a backend
  explicit Executor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sfroute

#endif  // SFROUTE_SFROUTE_H_
