// What a cluster client knows of the cluster: the slot map and one
// set of shared connections per node. Thread-safe.
#ifndef SFROUTE_SRC_CLUSTER_TOPOLOGY_H_
#define SFROUTE_SRC_CLUSTER_TOPOLOGY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cluster/slot_map.h"
#include "redis/io_loop.h"
#include "redis/node_connections.h"

namespace sfroute::internal {

class Topology {
 public:
  // `node_options` carries the user, password and timeouts every node is
  // opened with (its node and db are replaced); `connections` is per node,
  // all watched by `loop`.
  Topology(std::vector<HostPort> seeds, ConnectionOptions node_options, int connections,
           std::shared_ptr<IoLoop> loop);

  // The current slot map. Loads it (CLUSTER SLOTS) when there is none yet
  // or it was marked stale; when a reload fails, an older map is returned
  // all the same (most of it is usually still right, and redirects correct
  // the rest). UNAVAILABLE naming the nodes tried when there is no map.
  absl::StatusOr<std::shared_ptr<const SlotMap>> Map();

  // The map may be wrong (MOVED, a node that cannot be reached, a failover):
  // the next Map() reloads it.
  void MarkStale();

  // The connections of `node`, created on first use. They live as long as
  // the topology: a cluster has few nodes.
  std::shared_ptr<NodeConnections> ConnectionsOf(const HostPort& node);

 private:
  // Loads the map from the first node that answers, unless another thread
  // has loaded one since `seen_generation`.
  absl::Status Reload(std::uint64_t seen_generation);
  std::vector<HostPort> ReloadCandidates();

  const std::vector<HostPort> seeds_;
  const ConnectionOptions node_options_;
  const int pool_size_;
  const std::shared_ptr<IoLoop> loop_;

  absl::Mutex reload_mutex_;  // one reload at a time; the others wait for it
  absl::Mutex mutex_;
  std::shared_ptr<const SlotMap> map_ ABSL_GUARDED_BY(mutex_);
  bool stale_ ABSL_GUARDED_BY(mutex_) = true;
  std::uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;  // maps loaded
  std::uint64_t reloads_ ABSL_GUARDED_BY(mutex_) = 0;     // loads tried
  std::map<std::string, std::shared_ptr<NodeConnections>> nodes_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_CLUSTER_TOPOLOGY_H_
