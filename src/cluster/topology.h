// What a cluster client knows of the cluster: the slot map and one set of
// shared connections per node. Thread-safe; never blocks.
#ifndef SFROUTE_SRC_CLUSTER_TOPOLOGY_H_
#define SFROUTE_SRC_CLUSTER_TOPOLOGY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "cluster/slot_map.h"
#include "loop/event_loop.h"
#include "redis/node_connections.h"
#include "sync.h"

namespace sfroute::internal {

// The slot map with each primary's connections resolved when it loaded:
// all a call needs to send, found without a lock or a string.
struct Routes {
  SlotMap map;
  // A primary: its address and connections, both living as long as the
  // topology that made them (not only as long as these routes).
  struct Primary {
    const HostPort* node;
    NodeSender* connections;
  };
  std::vector<Primary> primaries;  // per map.primaries()

  // The primary that serves `slot`; nullopt when no node does.
  std::optional<Primary> Of(int slot) const {
    const int index = map.OwnerIndex(slot);
    if (index < 0) return std::nullopt;
    return primaries[index];
  }
};

// Opens the connections of one node (NodeConnections by default).
using NodeFactory = std::function<std::shared_ptr<NodeSender>(ConnectionOptions options)>;

class Topology : public std::enable_shared_from_this<Topology> {
 public:
  using RoutesDone = absl::AnyInvocable<void(absl::StatusOr<std::shared_ptr<const Routes>>) &&>;

  // `node_options` carries the user, password, TLS and timeouts every node
  // is opened with (its node and db are replaced); `connections` is per
  // node. `factory` null: NodeConnections.
  Topology(std::vector<HostPort> seeds, ConnectionOptions node_options, int connections,
           std::shared_ptr<EventLoop> loop, NodeFactory factory = nullptr);

  // The current routes when they are loaded and not stale: what nearly
  // every call gets, from a copy this thread keeps (no lock, no count
  // shared with the other callers). Valid until this thread's next Fresh()
  // or Map(). Null: ask Map().
  const Routes* Fresh();

  // Calls `done` with the current routes: at once (on this thread) when
  // there are some and they are not stale; else once the slot map is
  // loaded (CLUSTER SLOTS from the first node that answers; one load at a
  // time, the others wait for it). When a load fails, older routes are
  // given all the same (most of it is usually still right, and redirects
  // correct the rest); UNAVAILABLE naming the nodes tried when there are
  // none.
  void Map(RoutesDone done);

  // The map may be wrong (MOVED, a node that cannot be reached, a
  // failover): the next Fresh() misses and Map() loads it again.
  void MarkStale();

  // The connections of `node`, created on first use (for redirects and
  // loads; calls find a primary's through Routes). They live as long as
  // the topology: a cluster has few nodes.
  Routes::Primary ConnectionsOf(const HostPort& node);

  const std::shared_ptr<EventLoop>& loop() const { return loop_; }
  // How long a call may go on retrying: the command timeout.
  std::chrono::milliseconds retry_budget() const { return node_options_.command_timeout; }

  void Sweep(SteadyClock::time_point now);
  // Told of slot maps loaded and redirects; null when nobody listens.
  Events* events() const { return node_options_.events.get(); }
  void Shutdown(const absl::Status& why);

 private:
  std::vector<HostPort> ReloadCandidates() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Asks candidates[next], then the next ones, for the slot map.
  void LoadFrom(std::vector<HostPort> candidates, std::size_t next, absl::Status last_error);
  void Loaded(absl::StatusOr<SlotMap> map);

  const std::vector<HostPort> seeds_;
  const ConnectionOptions node_options_;
  const int pool_size_;
  const std::shared_ptr<EventLoop> loop_;
  const NodeFactory factory_;

  // The generation of routes_ while it is fresh; 0 when there is none or
  // it is stale. Generations are unique across topologies, so a thread's
  // cached copy can only match the topology that made it.
  std::atomic<std::uint64_t> fresh_generation_{0};

  Mutex mutex_;
  absl::Status shut_down_ ABSL_GUARDED_BY(mutex_);
  std::shared_ptr<const Routes> routes_ ABSL_GUARDED_BY(mutex_);
  std::uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;  // of routes_
  bool stale_ ABSL_GUARDED_BY(mutex_) = true;
  bool loading_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<RoutesDone> waiting_ ABSL_GUARDED_BY(mutex_);  // for the load under way
  std::uint64_t loads_ ABSL_GUARDED_BY(mutex_) = 0;          // loads started
  std::map<HostPort, std::shared_ptr<NodeSender>> nodes_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_CLUSTER_TOPOLOGY_H_
