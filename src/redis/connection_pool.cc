#include "redis/connection_pool.h"

#include <utility>

#include "str_cat.h"
#include "absl/time/time.h"

namespace sfroute::internal {

ConnectionPool::ConnectionPool(ConnectionOptions options, int max_connections)
    : options_(std::move(options)), max_connections_(max_connections) {}

absl::StatusOr<std::vector<Reply>> ConnectionPool::Execute(
    const std::vector<Command>& commands) {
  auto connection = Acquire();
  if (!connection.ok()) return connection.status();
  auto replies = (*connection)->Execute(commands);
  Release(*std::move(connection));
  return replies;
}

absl::StatusOr<std::unique_ptr<Connection>> ConnectionPool::Acquire() {
  {
    absl::MutexLock lock(&mutex_);
    auto can_proceed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return !idle_.empty() || open_ < max_connections_;
    };
    const absl::Duration wait = absl::FromChrono(options_.command_timeout);
    if (!mutex_.AwaitWithTimeout(absl::Condition(&can_proceed), wait)) {
      return absl::DeadlineExceededError(StrCat(
          "all ", max_connections_, " connections to ", options_.node.Address(),
          " stayed busy for the command timeout (raise Options::pool_size?)"));
    }
    while (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      if (!connection->ClosedByPeer()) return connection;  // failed ones never idle
      --open_;  // closed by the server while idle: drop it
    }
    ++open_;  // reserve a slot, then connect without holding the lock
  }
  auto connection = Connection::Open(options_);
  if (!connection.ok()) {
    absl::MutexLock lock(&mutex_);
    --open_;
  }
  return connection;
}

void ConnectionPool::Release(std::unique_ptr<Connection> connection) {
  absl::MutexLock lock(&mutex_);
  // Only a failed round trip disqualifies it here; whether the server closed
  // it meanwhile is checked when it is next lent out.
  if (connection->failed()) {
    --open_;
    return;
  }
  idle_.push_back(std::move(connection));
}

}  // namespace sfroute::internal
