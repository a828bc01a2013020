// What happens below the executor — connections opened, lost and opened
// again, slot maps loaded, redirects, scripts loaded again — told by the
// layer where it happens: counted in the metrics and written to the log
// sink, each kind at most once a second per node, with the number of lines
// held back meanwhile. Thread-safe; shared by the executor's layers.
#ifndef SFROUTE_SRC_OBSERVABILITY_EVENTS_H_
#define SFROUTE_SRC_OBSERVABILITY_EVENTS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "observability/metrics.h"
#include "sfroute/options.h"
#include "sync.h"

namespace sfroute::internal {

class Events {
 public:
  Events(LogSink log_sink, bool log_events, std::shared_ptr<Metrics> metrics);

  Metrics& metrics() { return *metrics_; }
  void Log(LogLevel level, std::string_view message) const { log_sink_(level, message); }

  // The connections of one node.
  class Node {
   public:
    // Logged in and ready; "reconnected" after a failure.
    void Opened();
    // Could not open (never ready), or lost after it was.
    void Failed(bool was_ready, const absl::Status& why);
    const std::string& address() const { return counters_.address; }

   private:
    friend class Events;
    Node(Events& events, NodeCounters& counters) : events_(events), counters_(counters) {}
    Events& events_;
    NodeCounters& counters_;
    std::atomic<bool> failed_since_open_{false};
  };
  // Lives as long as this object.
  Node& ForNode(const std::string& address);

  void ScriptReloaded(std::string_view what);
  void TopologyLoaded(const std::string& from, bool ok, const absl::Status& why);
  void Redirected(bool ask, int slot, const std::string& to);
  // Sentinel (SPEC.md §9): a sentinel gave no usable master; the master
  // `name` was found (`from` empty: the first time) or moved; no sentinel
  // gave it.
  void SentinelSkipped(const std::string& sentinel, const std::string& name,
                       const absl::Status& why);
  void MasterChanged(const std::string& name, const std::string& from, const std::string& to,
                     const std::string& sentinel);
  void MasterLookupFailed(const std::string& name, const absl::Status& why);

 private:
  // Writes the line unless one of the same kind about the same node went
  // out less than a second ago; says how many were held back.
  void Limited(LogLevel level, std::string_view kind, const std::string& node,
               std::string_view message);

  const LogSink log_sink_;
  const bool log_events_;  // Limited() writes nothing when false
  const std::shared_ptr<Metrics> metrics_;
  Mutex mutex_;
  std::map<std::string, std::unique_ptr<Node>> nodes_ ABSL_GUARDED_BY(mutex_);
  struct Limit {
    std::chrono::steady_clock::time_point last;
    std::uint64_t held_back = 0;
  };
  std::map<std::pair<std::string, std::string>, Limit> limits_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_OBSERVABILITY_EVENTS_H_
