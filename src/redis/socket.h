// Opening TCP sockets without blocking: addresses, non-blocking connect,
// and a host name resolved on a thread of its own (getaddrinfo blocks).
#ifndef SFROUTE_SRC_REDIS_SOCKET_H_
#define SFROUTE_SRC_REDIS_SOCKET_H_

#include <sys/socket.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "loop/unique_fd.h"

namespace sfroute::internal {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

// The address of an IPv4 or IPv6 literal ("127.0.0.1", "::1"); nullopt for
// a name that needs resolving.
std::optional<SocketAddress> LiteralAddress(const std::string& host, int port);

// Resolves `host` on a short-lived thread and calls `done` there with its
// addresses (UNAVAILABLE naming the host when there are none).
void ResolveAsync(std::string host, int port,
                  absl::AnyInvocable<void(absl::StatusOr<std::vector<SocketAddress>>) &&> done);

// A non-blocking TCP socket (TCP_NODELAY, keep-alive) whose connect to
// `address` has started; the socket turns writable when it has finished.
absl::StatusOr<UniqueFd> StartConnect(const SocketAddress& address);

// After the socket turned writable: OK, or why the connect failed.
absl::Status ConnectResult(int fd);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_SOCKET_H_
