#include "flaky_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

#include "gtest/gtest.h"

namespace sfroute::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  return address;
}

// Sends all of `data`; false when the peer is gone.
bool SendAll(int fd, const char* data, ssize_t size) {
  while (size > 0) {
    const ssize_t sent = send(fd, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data += sent;
    size -= sent;
  }
  return true;
}

}  // namespace

FlakyProxy::FlakyProxy(int upstream_port, double cut_chance, unsigned seed)
    : upstream_port_(upstream_port), cut_chance_(cut_chance), seed_(seed) {
  listener_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof address;
  if (listener_ < 0 ||
      bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener_, 64) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ADD_FAILURE() << "the proxy cannot listen";
    return;
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

FlakyProxy::~FlakyProxy() {
  stopping_ = true;
  shutdown(listener_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  close(listener_);
  std::vector<std::thread> forwarders;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    forwarders.swap(forwarders_);
  }
  for (std::thread& forwarder : forwarders) forwarder.join();
}

void FlakyProxy::Accept() {
  for (unsigned n = 0; !stopping_; ++n) {
    pollfd ready{listener_, POLLIN, 0};
    if (poll(&ready, 1, 50) <= 0) continue;
    const int client = accept(listener_, nullptr, nullptr);
    if (client < 0) continue;
    const int server = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in upstream = Loopback(upstream_port_);
    if (server < 0 ||
        connect(server, reinterpret_cast<sockaddr*>(&upstream), sizeof upstream) != 0) {
      close(client);
      if (server >= 0) close(server);
      continue;
    }
    ++connections_;
    std::lock_guard<std::mutex> lock(mutex_);
    forwarders_.emplace_back([this, client, server, n] { Forward(client, server, seed_ + n); });
  }
}

void FlakyProxy::Forward(int client, int server, unsigned seed) {
  std::mt19937 random(seed);
  std::bernoulli_distribution cut(cut_chance_);
  char buffer[16 * 1024];
  pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
  while (!stopping_) {
    if (poll(fds, 2, 50) <= 0) continue;
    bool alive = true;
    for (int side = 0; side < 2 && alive; ++side) {
      if (fds[side].revents == 0) continue;
      const ssize_t received = recv(fds[side].fd, buffer, sizeof buffer, 0);
      if (received <= 0) {
        alive = false;
        break;
      }
      if (cut(random)) {
        // Half of the cuts let the chunk through first: a command that ran
        // whose reply never arrives, or a reply cut in the middle.
        if (random() % 2 == 0) SendAll(fds[1 - side].fd, buffer, received / 2 + 1);
        ++cuts_;
        alive = false;
        break;
      }
      alive = SendAll(fds[1 - side].fd, buffer, received);
    }
    if (!alive) break;
  }
  close(client);
  close(server);
}

}  // namespace sfroute::testing
