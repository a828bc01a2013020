// What a cluster client knows of the cluster: the slot map and one set of
// shared connections per node. Thread-safe; never blocks.
#ifndef SFROUTE_SRC_CLUSTER_TOPOLOGY_H_
#define SFROUTE_SRC_CLUSTER_TOPOLOGY_H_

#include <cstdint>
#include <map>
#include <memory>
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

class Topology : public std::enable_shared_from_this<Topology> {
 public:
  using MapDone = absl::AnyInvocable<void(absl::StatusOr<std::shared_ptr<const SlotMap>>) &&>;

  // `node_options` carries the user, password and timeouts every node is
  // opened with (its node and db are replaced); `connections` is per node.
  Topology(std::vector<HostPort> seeds, ConnectionOptions node_options, int connections,
           std::shared_ptr<EventLoop> loop);

  // Calls `done` with the current slot map: at once (on this thread) when
  // there is one and it is not stale; else once it is loaded (CLUSTER
  // SLOTS from the first node that answers; one load at a time, the others
  // wait for it). When a load fails, an older map is given all the same
  // (most of it is usually still right, and redirects correct the rest);
  // UNAVAILABLE naming the nodes tried when there is none.
  void Map(MapDone done);

  // The map may be wrong (MOVED, a node that cannot be reached, a
  // failover): the next Map() loads it again.
  void MarkStale();

  // The connections of `node`, created on first use. They live as long as
  // the topology: a cluster has few nodes.
  std::shared_ptr<NodeConnections> ConnectionsOf(const HostPort& node);

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

  Mutex mutex_;
  absl::Status shut_down_ ABSL_GUARDED_BY(mutex_);
  std::shared_ptr<const SlotMap> map_ ABSL_GUARDED_BY(mutex_);
  bool stale_ ABSL_GUARDED_BY(mutex_) = true;
  bool loading_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<MapDone> waiting_ ABSL_GUARDED_BY(mutex_);  // for the load under way
  std::uint64_t loads_ ABSL_GUARDED_BY(mutex_) = 0;       // loads started
  std::map<std::string, std::shared_ptr<NodeConnections>> nodes_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_CLUSTER_TOPOLOGY_H_
