// The executor's metrics (SPEC.md §7), counted where things happen and
// rendered in the Prometheus text format 0.0.4. Counting a call costs a few
// relaxed atomic adds on counters of the calling thread's shard: no lock,
// and threads rarely share a cache line. Thread-safe.
#ifndef SFROUTE_SRC_OBSERVABILITY_METRICS_H_
#define SFROUTE_SRC_OBSERVABILITY_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "operation.h"
#include "sfroute/metrics.h"
#include "sync.h"

namespace sfroute::internal {

inline constexpr std::size_t kStatusCodes = MetricsSnapshot::kStatusCodes;
inline constexpr auto kDurationBuckets = MetricsSnapshot::kDurationBounds;

// Counters of one node's connections, kept as long as the executor.
struct NodeCounters {
  explicit NodeCounters(std::string address) : address(std::move(address)) {}
  const std::string address;  // host:port
  std::atomic<std::uint64_t> opened{0};
  std::atomic<std::uint64_t> failures{0};  // could not connect, or lost
};

class Metrics {
 public:
  Metrics();
  ~Metrics();

  // A call begins (calls in flight) and ends, with its code and duration.
  void CallStarted();
  void CallFinished(Operation operation, absl::StatusCode code, std::chrono::nanoseconds took);

  // The counters of `address`'s connections, made on first use.
  NodeCounters& Node(const std::string& address);
  void ScriptReloaded() { script_reloads_.fetch_add(1, std::memory_order_relaxed); }
  void TopologyReloaded() { topology_reloads_.fetch_add(1, std::memory_order_relaxed); }
  void Redirected(bool ask) { (ask ? ask_ : moved_).fetch_add(1, std::memory_order_relaxed); }
  // Links ScanLinks handed out, and links MoveLinkedPod moved (SPEC.md §11):
  // rare operator work, so one counter each is cheap enough.
  void LinksScanned(std::uint64_t count) {
    links_scanned_.fetch_add(count, std::memory_order_relaxed);
  }
  void LinkMoved() { links_moved_.fetch_add(1, std::memory_order_relaxed); }
  // Sentinel: the master moved to another node (SPEC.md §9).
  void SentinelMasterChanged() { master_changes_.fetch_add(1, std::memory_order_relaxed); }

  // Rows of labeled counters from code built on the executor (the
  // drivers): `collect` runs in every Snapshot() until the source is
  // stopped; Stop() waits for a collection in progress, so that the
  // collector may go once it returns.
  using Collector = std::function<void(std::vector<MetricsSnapshot::Labeled>&)>;
  class Source {
   public:
    explicit Source(Collector collect) : collect_(std::move(collect)) {}
    void Collect(std::vector<MetricsSnapshot::Labeled>& rows);
    void Stop();

   private:
    std::mutex mutex_;
    Collector collect_;  // empty once stopped
  };
  std::shared_ptr<Source> AddSource(Collector collect);

  MetricsSnapshot Snapshot() const;
  // The Prometheus text exposition format 0.0.4.
  static std::string Text(const MetricsSnapshot& snapshot);

 private:
  struct Shard;
  Shard& MyShard();

  std::unique_ptr<Shard[]> shards_;
  std::atomic<std::uint64_t> script_reloads_{0}, topology_reloads_{0}, moved_{0}, ask_{0};
  std::atomic<std::uint64_t> links_scanned_{0}, links_moved_{0}, master_changes_{0};
  mutable Mutex mutex_;  // registration of nodes and sources only
  std::map<std::string, std::unique_ptr<NodeCounters>> nodes_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::weak_ptr<Source>> sources_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_OBSERVABILITY_METRICS_H_
