// Throwaway redis-server processes for tests: a free loopback port, a temp
// dir, stopped and removed when the object dies.
#ifndef SFROUTE_TESTS_TESTING_REDIS_SERVER_H_
#define SFROUTE_TESTS_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace sfroute::testing {

class RedisServer {
 public:
  // Starts redis-server on a free 127.0.0.1 port; `extra_args` are passed on
  // its command line (for example {"--requirepass", "x"}). Aborts the test
  // binary if the server does not come up: nothing can be tested then.
  static std::unique_ptr<RedisServer> Start(std::vector<std::string> extra_args = {});
  // Starts `redis-server <config> --sentinel` on a free 127.0.0.1 port:
  // `config` holds the sentinel's lines (sentinel monitor ...); the port,
  // bind address, dir and log file are added. A sentinel rewrites its
  // config file, which lives in the server's dir.
  static std::unique_ptr<RedisServer> StartSentinel(const std::string& config);
  ~RedisServer();

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  std::string url() const;  // redis://127.0.0.1:<port>

  // Stops the process (SIGKILL) and waits for it: the server is gone.
  void Kill();
  // SIGSTOP: the server answers nothing and reads nothing (its socket
  // buffers fill up) until Thaw (SIGCONT).
  void Freeze();
  void Thaw();
  // Starts it again on the same port and dir; waits until it answers PING.
  void Restart();

 private:
  RedisServer(int port, std::string dir, std::vector<std::string> extra_args);
  void Launch();
  static std::string NewDir();

  int port_;
  std::string dir_;
  std::vector<std::string> extra_args_;
  std::string sentinel_config_;  // the config file's path: a sentinel
  pid_t pid_ = -1;
};

// A loopback port nobody listens on now, outside the ephemeral range and
// reserved for this process. (A cluster node's bus port comes from here too:
// the default, port + 10000, may pass 65535.)
int FreeLoopbackPort();

// The Redis every test of the suite may share: $SFROUTE_TEST_REDIS when set
// (scripts/test.sh starts one), else one started for this test binary.
// Tests keep apart by using their own namespace (UniqueNamespace()).
std::string SharedRedisUrl();

// A namespace no other test uses: "t-<test name>-<pid>-<n>".
std::string UniqueNamespace();

}  // namespace sfroute::testing

#endif  // SFROUTE_TESTS_TESTING_REDIS_SERVER_H_
