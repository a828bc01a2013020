#include "cluster/topology.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "str_cat.h"

namespace sfroute::internal {

Topology::Topology(std::vector<HostPort> seeds, ConnectionOptions node_options, int connections,
                   std::shared_ptr<EventLoop> loop)
    : seeds_(std::move(seeds)),
      node_options_(std::move(node_options)),
      pool_size_(connections),
      loop_(std::move(loop)) {}

void Topology::Map(MapDone done) {
  std::optional<absl::StatusOr<std::shared_ptr<const SlotMap>>> answer;
  std::vector<HostPort> candidates;
  bool load = false;
  {
    MutexLock lock(&mutex_);
    if (!shut_down_.ok()) {
      answer = NotSent(shut_down_);
    } else if (map_ != nullptr && !stale_) {
      answer = map_;
    } else {
      waiting_.push_back(std::move(done));
      load = !loading_;
      loading_ = true;
      if (load) candidates = ReloadCandidates();
    }
  }
  if (answer.has_value()) {
    std::move(done)(*std::move(answer));
  } else if (load) {
    LoadFrom(std::move(candidates), 0, absl::UnavailableError("no node to ask"));
  }
}

void Topology::MarkStale() {
  MutexLock lock(&mutex_);
  stale_ = true;
}

std::shared_ptr<NodeConnections> Topology::ConnectionsOf(const HostPort& node) {
  MutexLock lock(&mutex_);
  std::shared_ptr<NodeConnections>& connections = nodes_[node.Address()];
  if (connections == nullptr) {
    ConnectionOptions options = node_options_;
    options.node = node;
    options.db = 0;  // a cluster has only db 0
    connections = std::make_shared<NodeConnections>(std::move(options), pool_size_, loop_);
    if (!shut_down_.ok()) connections->Shutdown(shut_down_);
  }
  return connections;
}

std::vector<HostPort> Topology::ReloadCandidates() {
  // The primaries we know (the seeds may be gone after failovers), then the
  // seeds; each node once. Each load starts at the next one, so that a
  // dead node (a connect timeout, on a real network) is not always first.
  std::vector<HostPort> candidates;
  if (map_ != nullptr) candidates = map_->primaries();
  const std::size_t start = static_cast<std::size_t>(loads_++);
  for (const HostPort& seed : seeds_) {
    if (std::find(candidates.begin(), candidates.end(), seed) == candidates.end()) {
      candidates.push_back(seed);
    }
  }
  if (!candidates.empty()) {
    std::rotate(candidates.begin(), candidates.begin() + start % candidates.size(),
                candidates.end());
  }
  return candidates;
}

void Topology::LoadFrom(std::vector<HostPort> candidates, std::size_t next,
                        absl::Status last_error) {
  if (next == candidates.size()) {
    absl::Status failed =
        absl::UnavailableError(StrCat("cannot load the cluster slot map from any of ",
                                      candidates.size(), " nodes; last: ", last_error.message()));
    if (events() != nullptr) events()->TopologyLoaded("", false, failed);
    Loaded(std::move(failed));
    return;
  }
  const HostPort node = candidates[next];
  // The load is the topology's own, not a caller's: a caller's deadline or
  // cancel does not stop it, the command timeout does.
  auto call = std::make_shared<CallControl>(SteadyClock::now() + node_options_.command_timeout,
                                            /*explicit_deadline=*/false);
  ConnectionsOf(node)->Send(Batch{{Command{{"CLUSTER", "SLOTS"}}}}, call,
                            [self = shared_from_this(), candidates = std::move(candidates), next,
                             node, call](absl::StatusOr<std::vector<Reply>> replies) mutable {
                              call->Finish();
                              absl::Status error;
                              if (replies.ok()) {
                                auto map = SlotMap::FromClusterSlots(replies->front(), node);
                                if (map.ok()) {
                                  if (self->events() != nullptr) {
                                    self->events()->TopologyLoaded(node.Address(), true,
                                                                   absl::OkStatus());
                                  }
                                  self->Loaded(*std::move(map));
                                  return;
                                }
                                error = map.status();
                              } else {
                                error = replies.status();
                              }
                              if (error.code() == absl::StatusCode::kPermissionDenied ||
                                  error.code() == absl::StatusCode::kCancelled) {
                                self->Loaded(error);
                                return;
                              }
                              self->LoadFrom(std::move(candidates), next + 1, std::move(error));
                            });
}

void Topology::Loaded(absl::StatusOr<SlotMap> map) {
  std::vector<MapDone> waiting;
  absl::StatusOr<std::shared_ptr<const SlotMap>> result;
  {
    MutexLock lock(&mutex_);
    loading_ = false;
    waiting.swap(waiting_);
    if (map.ok()) {
      map_ = std::make_shared<const SlotMap>(*std::move(map));
      stale_ = false;
    }
    if (map_ != nullptr && map.status().code() != absl::StatusCode::kPermissionDenied &&
        shut_down_.ok()) {
      result = map_;
    } else {
      result = NotSent(shut_down_.ok() ? map.status() : shut_down_);
    }
  }
  for (MapDone& done : waiting) std::move(done)(result);
}

void Topology::Sweep(SteadyClock::time_point now) {
  std::vector<std::shared_ptr<NodeConnections>> nodes;
  {
    MutexLock lock(&mutex_);
    for (const auto& [address, connections] : nodes_) nodes.push_back(connections);
  }
  for (const auto& connections : nodes) connections->Sweep(now);
}

void Topology::Shutdown(const absl::Status& why) {
  std::vector<std::shared_ptr<NodeConnections>> nodes;
  {
    MutexLock lock(&mutex_);
    shut_down_ = why;
    for (const auto& [address, connections] : nodes_) nodes.push_back(connections);
  }
  for (const auto& connections : nodes) connections->Shutdown(why);
}

}  // namespace sfroute::internal
