#include "redis/socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "redis/transport.h"
#include "str_cat.h"

namespace sfroute::internal {

std::optional<SocketAddress> LiteralAddress(const std::string& host, int port) {
  SocketAddress address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    address.length = sizeof(sockaddr_in);
    return address;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    address.length = sizeof(sockaddr_in6);
    return address;
  }
  return std::nullopt;
}

void ResolveAsync(std::string host, int port,
                  absl::AnyInvocable<void(absl::StatusOr<std::vector<SocketAddress>>) &&> done) {
  std::thread([host = std::move(host), port, done = std::move(done)]() mutable {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int error = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (error != 0) {
      std::move(done)(absl::UnavailableError(
          StrCat("cannot resolve ", host, ": ", gai_strerror(error), "; nothing was sent")));
      return;
    }
    std::vector<SocketAddress> addresses;
    for (addrinfo* info = found; info != nullptr; info = info->ai_next) {
      SocketAddress address;
      std::memcpy(&address.storage, info->ai_addr, info->ai_addrlen);
      address.length = info->ai_addrlen;
      addresses.push_back(address);
    }
    freeaddrinfo(found);
    std::move(done)(std::move(addresses));
  }).detach();
}

absl::StatusOr<UniqueFd> StartConnect(const SocketAddress& address) {
  UniqueFd fd(socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return absl::UnavailableError(StrCat("cannot create a socket: ", std::strerror(errno)));
  }
  const int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0 &&
      errno != EINPROGRESS) {
    return absl::UnavailableError(std::strerror(errno));
  }
  return fd;
}

absl::Status ConnectResult(int fd) {
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) return absl::UnavailableError(std::strerror(error));
  return absl::OkStatus();
}

namespace {

class Plain : public Transport {
 public:
  explicit Plain(UniqueFd socket) : socket_(std::move(socket)) {}
  int fd() const override { return socket_.get(); }
  IoResult Handshake() override { return IoResult::Moved(0); }
  IoResult Send(const char* data, std::size_t size) override {
    for (;;) {
      const ssize_t sent = send(socket_.get(), data, size, MSG_NOSIGNAL);
      if (sent >= 0) return IoResult::Moved(static_cast<std::size_t>(sent));
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return IoResult::Want(IoResult::kWantWrite);
      return IoResult::Failed(absl::UnavailableError(std::strerror(errno)));
    }
  }
  IoResult Receive(char* buffer, std::size_t size) override {
    for (;;) {
      const ssize_t received = recv(socket_.get(), buffer, size, 0);
      if (received > 0) return IoResult::Moved(static_cast<std::size_t>(received));
      if (received == 0) return IoResult::Closed();
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return IoResult::Want(IoResult::kWantRead);
      return IoResult::Failed(absl::UnavailableError(std::strerror(errno)));
    }
  }
  bool HasBufferedInput() const override { return false; }
  void Shutdown() override { shutdown(socket_.get(), SHUT_RDWR); }

 private:
  UniqueFd socket_;
};

}  // namespace

std::unique_ptr<Transport> PlainTransport(UniqueFd socket) {
  return std::make_unique<Plain>(std::move(socket));
}

}  // namespace sfroute::internal
