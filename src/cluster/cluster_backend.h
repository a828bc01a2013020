// The backend of a Redis Cluster: each command goes to the primary that
// serves its slot, one pipeline per node, the nodes in parallel; redirects
// (MOVED, ASK) and refusals (TRYAGAIN, CLUSTERDOWN) are followed with
// bounded retries. hiredis 0.14 has no cluster support; this is ours.
#ifndef SFROUTE_SRC_CLUSTER_CLUSTER_BACKEND_H_
#define SFROUTE_SRC_CLUSTER_CLUSTER_BACKEND_H_

#include <chrono>
#include <memory>
#include <vector>

#include "backend.h"
#include "cluster/topology.h"
#include "loop/event_loop.h"
#include "redis/connection.h"
#include "redis_url.h"

namespace sfroute::internal {

// Thread-safe; never blocks: waiting for a slot map or a backoff happens on
// the loop. Never resends a command that may have run: a connection lost
// or a stop after sending is returned (UNAVAILABLE, DEADLINE_EXCEEDED,
// CANCELLED) and the slot map is reloaded on the next call, which is how
// calls find the new primary after a failover. Only commands the cluster
// refused (redirects, TRYAGAIN, CLUSTERDOWN) or that never left (the node
// could not be reached) are sent again: at most kMaxAttempts times in all,
// and no pause between attempts ends later than the command timeout after
// the call began. Past that the call fails with UNAVAILABLE naming the last
// node tried and what it said.
class ClusterBackend : public Backend, private ReplyCheck {
 public:
  static constexpr int kMaxAttempts = 16;

  // `seeds`: where to load the slot map from first. `node_options`: user,
  // password, TLS and timeouts for every node. `connections`: per node.
  // `factory`: opens a node's connections (null: NodeConnections).
  ClusterBackend(std::vector<HostPort> seeds, ConnectionOptions node_options, int connections,
                 std::shared_ptr<EventLoop> loop, NodeFactory factory = nullptr);

  // A batch with a `node` goes to that node alone, as it is: no slots, no
  // redirects (its commands are keyless), nothing sent again.
  void Send(const Batch& batch, std::shared_ptr<CallControl> call, BatchDone done) override;
  // The primaries of the slot map (loaded first if there is none or it is
  // stale).
  void Nodes(NodesDone done) override;
  void Shutdown(const absl::Status& why) override { topology_->Shutdown(why); }
  // Shuts down: no send of its direct path outlives it.
  ~ClusterBackend() override;

 private:
  // The replies of a direct send: to the caller when the cluster refused
  // none of it, else to a Call that sends the refused part again.
  void Check(const CheckedBy& sent, const std::shared_ptr<CallControl>& call, BatchDone done,
             absl::StatusOr<std::vector<Reply>> replies) override;

  const std::shared_ptr<Topology> topology_;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_CLUSTER_CLUSTER_BACKEND_H_
