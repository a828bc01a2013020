// The backend of a standalone Redis server: its shared connections.
#ifndef SFROUTE_SRC_REDIS_STANDALONE_BACKEND_H_
#define SFROUTE_SRC_REDIS_STANDALONE_BACKEND_H_

#include <memory>
#include <utility>

#include "backend.h"
#include "redis/io_loop.h"
#include "redis/node_connections.h"

namespace sfroute::internal {

// Thread-safe.
class StandaloneBackend : public Backend {
 public:
  StandaloneBackend(ConnectionOptions options, int connections, std::shared_ptr<IoLoop> loop)
      : connections_(std::move(options), connections, std::move(loop)) {}

  absl::StatusOr<std::vector<Reply>> Execute(const std::vector<Command>& commands) override {
    return connections_.Execute(commands);
  }

 private:
  NodeConnections connections_;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_STANDALONE_BACKEND_H_
