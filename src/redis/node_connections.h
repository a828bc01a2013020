// The connections to one Redis node, shared by every caller: a few sockets,
// each carrying the pipelined commands of many callers. Thread-safe.
#ifndef SFROUTE_SRC_REDIS_NODE_CONNECTIONS_H_
#define SFROUTE_SRC_REDIS_NODE_CONNECTIONS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "redis/connection.h"
#include "redis/io_loop.h"
#include "redis/shared_connection.h"

namespace sfroute::internal {

class NodeConnections {
 public:
  // Up to `count` connections, opened on first use and watched by `loop`.
  NodeConnections(ConnectionOptions options, int count, std::shared_ptr<IoLoop> loop);

  // Sends the commands on one of the shared connections (they take turns),
  // opening it first if it is not open or was lost. A pipeline with a WAIT
  // goes alone on a connection of its own instead: the server holds back a
  // connection's later commands until WAIT returns, and other calls must
  // not wait for the replicas. An error means nothing was sent: UNAVAILABLE
  // or PERMISSION_DENIED when a connection cannot be opened (or
  // DEADLINE_EXCEEDED when opening it took too long).
  absl::StatusOr<InFlight> Send(const std::vector<Command>& commands);

  // Send, then wait for the replies.
  absl::StatusOr<std::vector<Reply>> Execute(const std::vector<Command>& commands);

  const ConnectionOptions& options() const { return options_; }

 private:
  struct Slot {
    std::shared_ptr<SharedConnection> connection;
    bool opening = false;  // a caller is opening it; the others wait for it
    std::uint64_t attempts = 0;
    absl::Status last_open_error;
  };

  // The slot's connection, opened by this caller or by the one that was
  // opening it already (whose failure is then this caller's too: a server
  // that is down is not dialled by every caller at once).
  absl::StatusOr<std::shared_ptr<SharedConnection>> Connected(std::size_t slot);
  absl::StatusOr<std::shared_ptr<SharedConnection>> Open();
  absl::StatusOr<InFlight> SendShared(const std::vector<Command>& commands);
  // On an idle connection of `alone_`, or a new one: as many are kept as
  // such calls ever ran at once.
  absl::StatusOr<InFlight> SendAlone(const std::vector<Command>& commands);

  const ConnectionOptions options_;
  const std::shared_ptr<IoLoop> loop_;
  const std::uint64_t slot_count_;  // slots_.size(), read without the lock
  std::atomic<std::uint64_t> turn_{0};
  absl::Mutex mutex_;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::shared_ptr<SharedConnection>> alone_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_NODE_CONNECTIONS_H_
