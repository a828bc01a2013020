// A TCP proxy on a loopback port in front of a real server, which cuts
// connections at random: each chunk it forwards ends the connection (both
// sides) with the given chance. For tests of what a client does when its
// connections die under it. Thread-safe; one thread per proxied connection.
#ifndef SFROUTE_TESTS_TESTING_FLAKY_PROXY_H_
#define SFROUTE_TESTS_TESTING_FLAKY_PROXY_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sfroute::testing {

class FlakyProxy {
 public:
  // Forwards 127.0.0.1:<port()> to 127.0.0.1:<upstream_port>; each chunk
  // forwarded cuts its connection with probability `cut_chance`.
  FlakyProxy(int upstream_port, double cut_chance, unsigned seed);
  ~FlakyProxy();  // closes everything and joins the threads
  FlakyProxy(const FlakyProxy&) = delete;
  FlakyProxy& operator=(const FlakyProxy&) = delete;

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }  // accepted so far
  int cuts() const { return cuts_.load(); }

 private:
  void Accept();
  void Forward(int client, int server, unsigned seed);

  const int upstream_port_;
  const double cut_chance_;
  const unsigned seed_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> cuts_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> forwarders_;
};

}  // namespace sfroute::testing

#endif  // SFROUTE_TESTS_TESTING_FLAKY_PROXY_H_
