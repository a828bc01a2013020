// A throwaway Redis Sentinel deployment for tests, on loopback ports: a
// primary, a replica and three sentinels (`redis-server <conf> --sentinel`)
// that watch them as "mymaster" with a quorum of 2, and fail over within a
// few seconds (down-after-milliseconds 1000). The data nodes and the
// sentinels have passwords of their own. Stopped when the object dies.
// With Config::tls, every process has a TLS port as well (the harness keeps
// using the plain ones): the data nodes replicate over TLS, and the
// sentinels watch them and talk to each other over TLS, so they name the
// data nodes' TLS ports.
#ifndef SFROUTE_TESTS_TESTING_REDIS_SENTINEL_H_
#define SFROUTE_TESTS_TESTING_REDIS_SENTINEL_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raw_redis.h"
#include "redis_server.h"
#include "tls_certs.h"

namespace sfroute::testing {

class RedisSentinel {
 public:
  static constexpr char kMasterName[] = "mymaster";
  static constexpr char kDataPassword[] = "data-secret";
  static constexpr char kSentinelPassword[] = "sentinel-secret";

  struct Config {
    // When set (it must outlive the deployment), TLS ports as well, serving
    // certificate "server" (localhost, 127.0.0.1) signed by the test CA.
    const TlsCerts* tls = nullptr;
  };

  // Starts the five processes and waits until the sentinels know each
  // other and the replica (WaitSettled). Aborts if they do not come up.
  static std::unique_ptr<RedisSentinel> Start(Config config);
  static std::unique_ptr<RedisSentinel> Start() { return Start(Config{}); }

  // redis-sentinel://:<data password>@<the three sentinels>/mymaster[/db]
  // ?sentinel_password=<sentinel password>
  std::string url(int db = 0) const;
  // With TLS: rediss-sentinel://:<data password>@localhost:<each sentinel's
  // TLS port>,.../mymaster[/db]?sentinel_password=...&tls_ca=<the test CA>
  std::string tls_url(int db = 0) const;
  // "127.0.0.1:<port>" of each sentinel.
  std::vector<std::string> sentinel_addresses() const;
  // "localhost:<TLS port>" of each sentinel (with TLS).
  std::vector<std::string> sentinel_tls_addresses() const;
  // The port the sentinels know the data node listening on plain `port`
  // by: its TLS port with TLS, else `port`.
  int Announced(int port) const;
  RedisServer& sentinel(int i) { return *sentinels_[i]; }

  // The data node that answers ROLE master, and the other one (null while
  // nobody is master).
  RedisServer* Master();
  RedisServer* Replica();

  // The port every sentinel names as the master (a TLS port with TLS);
  // nullopt while they disagree or one cannot be asked.
  std::optional<int> NamedMaster();
  // Waits until every sentinel names the same master, which says ROLE
  // master, and knows the other data node as its replica with its link up
  // and the other two sentinels: a failover can start.
  bool WaitSettled(std::chrono::seconds timeout = std::chrono::seconds(40));
  // Waits until every sentinel names the data node on plain `port` as the
  // master and it says ROLE master.
  bool WaitMaster(int port, std::chrono::seconds timeout = std::chrono::seconds(30));

  // SENTINEL FAILOVER on a sentinel; false when it refused.
  bool StartFailover();
  // REPLICAOF on the data node at `port`, as the sentinels do (8 s or more
  // after a failover, for a master that is back), but without closing its
  // clients; waits until its link to `master_port` is up.
  bool MakeReplica(int port, int master_port);

  // A command on a data node, with its password; nullopt when it cannot be
  // reached.
  std::optional<RawReply> Data(int port, const std::vector<std::string>& args);
  // A command on sentinel `i`, with the sentinel password.
  std::optional<RawReply> Ask(int i, const std::vector<std::string>& args);

 private:
  RedisSentinel() = default;

  const TlsCerts* tls_ = nullptr;
  std::unique_ptr<RedisServer> a_, b_;   // the first primary and replica
  int a_tls_port_ = 0, b_tls_port_ = 0;  // with TLS
  std::vector<std::unique_ptr<RedisServer>> sentinels_;
  std::vector<int> sentinel_tls_ports_;  // with TLS
};

}  // namespace sfroute::testing

#endif  // SFROUTE_TESTS_TESTING_REDIS_SENTINEL_H_
