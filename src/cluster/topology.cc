#include "cluster/topology.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "str_cat.h"

namespace sfroute::internal {

namespace {

// Generations of routes, unique in the process (0 is none).
std::atomic<std::uint64_t> next_generation{1};

// The routes this thread used last, and their generation.
struct CachedRoutes {
  std::uint64_t generation = 0;
  std::shared_ptr<const Routes> routes;
};
thread_local CachedRoutes cached_routes;

}  // namespace

Topology::Topology(std::vector<HostPort> seeds, ConnectionOptions node_options, int connections,
                   std::shared_ptr<EventLoop> loop, NodeFactory factory)
    : seeds_(std::move(seeds)),
      node_options_(std::move(node_options)),
      pool_size_(connections),
      loop_(std::move(loop)),
      factory_(factory != nullptr ? std::move(factory) : [this](ConnectionOptions options) {
        return std::make_shared<NodeConnections>(std::move(options), pool_size_, loop_);
      }) {}

const Routes* Topology::Fresh() {
  const std::uint64_t generation = fresh_generation_.load(std::memory_order_acquire);
  if (generation == 0) return nullptr;
  if (cached_routes.generation != generation) {
    MutexLock lock(&mutex_);
    if (stale_ || generation_ != generation || !shut_down_.ok()) return nullptr;
    cached_routes = {generation, routes_};
  }
  return cached_routes.routes.get();
}

void Topology::Map(RoutesDone done) {
  std::optional<absl::StatusOr<std::shared_ptr<const Routes>>> answer;
  std::vector<HostPort> candidates;
  bool load = false;
  {
    MutexLock lock(&mutex_);
    if (!shut_down_.ok()) {
      answer = NotSent(shut_down_);
    } else if (routes_ != nullptr && !stale_) {
      answer = routes_;
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
  MutexLock lock(&mutex_);  // in step with Loaded: a stale mark is never lost
  stale_ = true;
  fresh_generation_.store(0, std::memory_order_release);
}

Routes::Primary Topology::ConnectionsOf(const HostPort& node) {
  MutexLock lock(&mutex_);
  auto [entry, added] = nodes_.try_emplace(node);
  if (added) {
    ConnectionOptions options = node_options_;
    options.node = node;
    options.db = 0;  // a cluster has only db 0
    entry->second = factory_(std::move(options));
    if (!shut_down_.ok()) entry->second->Shutdown(shut_down_);
  }
  return {&entry->first, entry->second.get()};
}

std::vector<HostPort> Topology::ReloadCandidates() {
  // The primaries we know (the seeds may be gone after failovers), then the
  // seeds; each node once. Each load starts at the next one, so that a
  // dead node (a connect timeout, on a real network) is not always first.
  std::vector<HostPort> candidates;
  if (routes_ != nullptr) candidates = routes_->map.primaries();
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
  const auto now = SteadyClock::now();
  auto call = std::make_shared<CallControl>(now + node_options_.command_timeout,
                                            /*explicit_deadline=*/false, now);
  ConnectionsOf(node).connections->Send(
      Batch{{MakeCommand("CLUSTER", "SLOTS")}}, call,
      [self = shared_from_this(), candidates = std::move(candidates), next, node,
       call](absl::StatusOr<std::vector<Reply>> replies) mutable {
        call->Finish();
        absl::Status error;
        if (replies.ok()) {
          auto map = SlotMap::FromClusterSlots(replies->front(), node);
          if (map.ok()) {
            if (self->events() != nullptr) {
              self->events()->TopologyLoaded(node.Address(), true, absl::OkStatus());
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
  std::shared_ptr<Routes> loaded;
  if (map.ok()) {
    loaded = std::make_shared<Routes>(Routes{*std::move(map), {}});
    for (const HostPort& primary : loaded->map.primaries()) {
      loaded->primaries.push_back(ConnectionsOf(primary));
    }
  }
  std::vector<RoutesDone> waiting;
  absl::StatusOr<std::shared_ptr<const Routes>> result;
  {
    MutexLock lock(&mutex_);
    loading_ = false;
    waiting.swap(waiting_);
    if (loaded != nullptr) {
      routes_ = std::move(loaded);
      stale_ = false;
      generation_ = next_generation.fetch_add(1, std::memory_order_relaxed);
      fresh_generation_.store(generation_, std::memory_order_release);
    }
    if (routes_ != nullptr && map.status().code() != absl::StatusCode::kPermissionDenied &&
        shut_down_.ok()) {
      result = routes_;
    } else {
      result = NotSent(shut_down_.ok() ? map.status() : shut_down_);
    }
  }
  for (RoutesDone& done : waiting) std::move(done)(result);
}

void Topology::Sweep(SteadyClock::time_point now) {
  std::vector<std::shared_ptr<NodeSender>> nodes;
  {
    MutexLock lock(&mutex_);
    for (const auto& [node, connections] : nodes_) nodes.push_back(connections);
  }
  for (const auto& connections : nodes) connections->Sweep(now);
}

void Topology::Shutdown(const absl::Status& why) {
  std::vector<std::shared_ptr<NodeSender>> nodes;
  {
    MutexLock lock(&mutex_);
    shut_down_ = why;
    fresh_generation_.store(0, std::memory_order_release);
    for (const auto& [node, connections] : nodes_) nodes.push_back(connections);
  }
  for (const auto& connections : nodes) connections->Shutdown(why);
}

}  // namespace sfroute::internal
