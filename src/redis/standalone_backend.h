// The backend of a standalone Redis server: its shared connections.
#ifndef SFROUTE_SRC_REDIS_STANDALONE_BACKEND_H_
#define SFROUTE_SRC_REDIS_STANDALONE_BACKEND_H_

#include <memory>
#include <utility>
#include <vector>

#include "backend.h"
#include "loop/event_loop.h"
#include "redis/node_connections.h"

namespace sfroute::internal {

// Thread-safe.
class StandaloneBackend : public Backend {
 public:
  StandaloneBackend(ConnectionOptions options, int connections, std::shared_ptr<EventLoop> loop)
      : connections_(std::make_shared<NodeConnections>(std::move(options), connections, loop)) {
    // A server that stops answering fails its connection (and the calls
    // on it) once command_timeout has passed without a byte.
    std::weak_ptr<NodeConnections> weak = connections_;
    loop->Every(SweepPeriod(connections_->options().command_timeout), [weak] {
      auto connections = weak.lock();
      if (connections == nullptr) return false;
      connections->Sweep(SteadyClock::now());
      return true;
    });
  }

  void Send(const Batch& batch, std::shared_ptr<CallControl> call, BatchDone done) override {
    connections_->Send(batch, std::move(call), std::move(done));
  }
  void Nodes(NodesDone done) override {
    std::move(done)(std::vector<HostPort>{connections_->options().node});
  }
  void Shutdown(const absl::Status& why) override { connections_->Shutdown(why); }

 private:
  const std::shared_ptr<NodeConnections> connections_;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_STANDALONE_BACKEND_H_
