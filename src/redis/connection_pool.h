// A bounded pool of connections to one Redis server. Thread-safe.
#ifndef SFROUTE_SRC_REDIS_CONNECTION_POOL_H_
#define SFROUTE_SRC_REDIS_CONNECTION_POOL_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "redis/connection.h"

namespace sfroute::internal {

class ConnectionPool {
 public:
  ConnectionPool(ConnectionOptions options, int max_connections);

  // Runs one round trip on a connection of the pool. Connections are opened
  // on demand, up to max_connections; a caller that finds them all busy
  // waits at most the command timeout. A connection that failed, or that the
  // server closed while it was idle, is dropped and replaced by a new one on
  // a later call. Nothing is ever sent twice.
  absl::StatusOr<std::vector<Reply>> Execute(const std::vector<Command>& commands);

  const ConnectionOptions& options() const { return options_; }

  // For a caller that splits the round trip (Connection::Send, then
  // Receive): takes a connection as Execute does (UNAVAILABLE or
  // PERMISSION_DENIED when a new one cannot be opened, DEADLINE_EXCEEDED
  // when all stay busy), and gives it back; a broken one is dropped.
  absl::StatusOr<std::unique_ptr<Connection>> Acquire();
  void Release(std::unique_ptr<Connection> connection);

 private:
  const ConnectionOptions options_;
  const int max_connections_;
  absl::Mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mutex_);
  int open_ ABSL_GUARDED_BY(mutex_) = 0;  // idle + in use + being opened
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_CONNECTION_POOL_H_
