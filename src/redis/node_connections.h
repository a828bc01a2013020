// The connections to one Redis node, shared by every caller: a few
// pipelined connections, plus connections of their own for batches that
// hold a connection (WAIT). Thread-safe.
#ifndef SFROUTE_SRC_REDIS_NODE_CONNECTIONS_H_
#define SFROUTE_SRC_REDIS_NODE_CONNECTIONS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "call_control.h"
#include "command.h"
#include "loop/event_loop.h"
#include "redis/connection.h"
#include "sync.h"

namespace sfroute::internal {

// What a cluster needs of one node: NodeConnections, or a canned stand-in
// that measures the cluster's own CPU cost (bench/client_cpu_bench.cc).
class NodeSender {
 public:
  virtual ~NodeSender() = default;
  // As NodeConnections::SendWire: the bytes are read before it returns.
  virtual void SendWire(const WireBatch& batch, std::shared_ptr<CallControl> call,
                        BatchDone done) = 0;
  // Encodes the batch's commands and sends them (SendWire).
  void Send(const Batch& batch, std::shared_ptr<CallControl> call, BatchDone done,
            CheckedBy checked = {});
  virtual void Sweep(SteadyClock::time_point now) = 0;
  virtual void Shutdown(const absl::Status& why) = 0;
};

class NodeConnections : public NodeSender {
 public:
  // Up to `count` shared connections, opened on first use.
  NodeConnections(ConnectionOptions options, int count, std::shared_ptr<EventLoop> loop);

  // Sends the batch's commands on one of the shared connections (they take
  // turns), opening it first if it is not open or was lost; a batch with
  // exclusive_connection goes on a connection no other call uses until its
  // replies are in. `done` as Backend::Send.
  void SendWire(const WireBatch& batch, std::shared_ptr<CallControl> call, BatchDone done) override;

  // Connection::Sweep on each connection.
  void Sweep(SteadyClock::time_point now) override;
  // Fails every connection, and every later Send, with `why`.
  void Shutdown(const absl::Status& why) override;

  const ConnectionOptions& options() const { return options_; }

 private:
  std::shared_ptr<Connection> Shared(std::size_t slot);
  // Why a send found no connection to take it.
  absl::Status Refusal();
  void SendExclusive(const WireBatch& batch, std::shared_ptr<CallControl> call, BatchDone done);

  const ConnectionOptions options_;
  const std::shared_ptr<EventLoop> loop_;
  const std::uint64_t slot_count_;
  std::atomic<std::uint64_t> turn_{0};
  Mutex mutex_;
  absl::Status shut_down_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::shared_ptr<Connection>> slots_ ABSL_GUARDED_BY(mutex_);
  // Exclusive connections not in use; as many are kept as were ever in use
  // at once.
  std::vector<std::shared_ptr<Connection>> idle_exclusive_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::weak_ptr<Connection>> exclusive_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_NODE_CONNECTIONS_H_
