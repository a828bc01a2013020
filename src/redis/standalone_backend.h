// The backend of a standalone Redis server: one connection pool.
#ifndef SFROUTE_SRC_REDIS_STANDALONE_BACKEND_H_
#define SFROUTE_SRC_REDIS_STANDALONE_BACKEND_H_

#include "backend.h"
#include "redis/connection_pool.h"

namespace sfroute::internal {

// Thread-safe.
class StandaloneBackend : public Backend {
 public:
  StandaloneBackend(ConnectionOptions options, int pool_size)
      : pool_(std::move(options), pool_size) {}

  absl::StatusOr<std::vector<Reply>> Execute(const std::vector<Command>& commands) override {
    return pool_.Execute(commands);
  }

 private:
  ConnectionPool pool_;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_STANDALONE_BACKEND_H_
