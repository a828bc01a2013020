#include "cluster/topology.h"

#include <algorithm>
#include <utility>

#include "str_cat.h"

namespace sfroute::internal {

Topology::Topology(std::vector<HostPort> seeds, ConnectionOptions node_options, int connections,
                   std::shared_ptr<IoLoop> loop)
    : seeds_(std::move(seeds)),
      node_options_(std::move(node_options)),
      pool_size_(connections),
      loop_(std::move(loop)) {}

absl::StatusOr<std::shared_ptr<const SlotMap>> Topology::Map() {
  std::uint64_t generation = 0;
  {
    absl::MutexLock lock(&mutex_);
    if (map_ != nullptr && !stale_) return map_;
    generation = generation_;
  }
  const absl::Status reloaded = Reload(generation);
  absl::MutexLock lock(&mutex_);
  if (map_ != nullptr) return map_;
  return reloaded;
}

void Topology::MarkStale() {
  absl::MutexLock lock(&mutex_);
  stale_ = true;
}

std::shared_ptr<NodeConnections> Topology::ConnectionsOf(const HostPort& node) {
  absl::MutexLock lock(&mutex_);
  std::shared_ptr<NodeConnections>& connections = nodes_[node.Address()];
  if (connections == nullptr) {
    ConnectionOptions options = node_options_;
    options.node = node;
    options.db = 0;  // a cluster has only db 0
    connections = std::make_shared<NodeConnections>(std::move(options), pool_size_, loop_);
  }
  return connections;
}

std::vector<HostPort> Topology::ReloadCandidates() {
  // The primaries we know (the seeds may be gone after failovers), then the
  // seeds; each node once. Each reload starts at the next one, so that a
  // dead node (a connect timeout, on a real network) is not always first.
  std::vector<HostPort> candidates;
  std::size_t start = 0;
  {
    absl::MutexLock lock(&mutex_);
    if (map_ != nullptr) candidates = map_->primaries();
    start = static_cast<std::size_t>(reloads_++);
  }
  for (const HostPort& seed : seeds_) {
    bool known = false;
    for (const HostPort& node : candidates) known = known || node == seed;
    if (!known) candidates.push_back(seed);
  }
  if (!candidates.empty()) {
    std::rotate(candidates.begin(), candidates.begin() + start % candidates.size(),
                candidates.end());
  }
  return candidates;
}

absl::Status Topology::Reload(std::uint64_t seen_generation) {
  absl::MutexLock reload_lock(&reload_mutex_);
  {
    absl::MutexLock lock(&mutex_);
    if (generation_ != seen_generation && map_ != nullptr) return absl::OkStatus();
  }
  absl::Status last_error;
  const std::vector<HostPort> candidates = ReloadCandidates();
  for (const HostPort& node : candidates) {
    auto replies = ConnectionsOf(node)->Execute({Command{{"CLUSTER", "SLOTS"}}});
    if (!replies.ok()) {
      if (replies.status().code() == absl::StatusCode::kPermissionDenied) return replies.status();
      last_error = replies.status();
      continue;
    }
    auto map = SlotMap::FromClusterSlots(replies->front(), node);
    if (!map.ok()) {
      last_error = map.status();
      continue;
    }
    absl::MutexLock lock(&mutex_);
    map_ = std::make_shared<const SlotMap>(*std::move(map));
    stale_ = false;
    ++generation_;
    return absl::OkStatus();
  }
  return absl::UnavailableError(StrCat("cannot load the cluster slot map from any of ",
                                       candidates.size(), " nodes; last: ", last_error.message()));
}

}  // namespace sfroute::internal
