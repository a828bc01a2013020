// One blocking hiredis connection. Not thread-safe: the pool hands it to one
// caller at a time. After a failed round trip it is broken and must be
// dropped (hiredis does not recover a context that reported an error).
#ifndef SFROUTE_SRC_REDIS_CONNECTION_H_
#define SFROUTE_SRC_REDIS_CONNECTION_H_

#include <chrono>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "backend.h"
#include "redis_url.h"
#include "reply.h"

struct redisContext;

namespace sfroute::internal {

// How to reach and log in to one Redis node.
struct ConnectionOptions {
  HostPort node;
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH
  int db = 0;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};
};

class Connection {
 public:
  // Connects, authenticates and selects the db. UNAVAILABLE when the server
  // cannot be reached, PERMISSION_DENIED when it refuses the credentials.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends the commands as one pipeline and reads one reply per command.
  // A failed round trip (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL for a
  // protocol error) leaves the connection failed().
  absl::StatusOr<std::vector<Reply>> Execute(const std::vector<Command>& commands);

  // The two halves of Execute, so that one caller can have pipelines in
  // flight on several connections at once (a cluster sends to every node,
  // then reads from each). Send writes every command; Receive reads `count`
  // replies. A failure leaves the connection failed(); after a failed Send
  // the commands may have reached the server.
  absl::Status Send(const std::vector<Command>& commands);
  absl::StatusOr<std::vector<Reply>> Receive(std::size_t count);

  // True after a failed round trip: the connection must be dropped.
  bool failed() const { return failed_; }

  // True when the server has closed the connection while it sat idle, seen
  // without a round trip (one poll), so that a pooled connection to a
  // restarted server is replaced before it is lent out.
  bool ClosedByPeer() const;

 private:
  Connection(redisContext* context, std::string address);
  absl::Status TransportError(const char* doing, int saved_errno);

  redisContext* context_;
  std::string address_;  // host:port, for messages
  bool failed_ = false;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_CONNECTION_H_
