// A throwaway Redis Cluster for tests: redis-server processes on free
// loopback ports in temp dirs (3 primaries, 3 replicas by default), joined
// with redis-cli --cluster create; stopped and removed when the object dies.
// Helpers kill and restart nodes, find owners, migrate slots and fail over.
#ifndef SFROUTE_TESTS_TESTING_REDIS_CLUSTER_H_
#define SFROUTE_TESTS_TESTING_REDIS_CLUSTER_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raw_redis.h"
#include "redis_server.h"
#include "tls_certs.h"

namespace sfroute::testing {

class RedisCluster {
 public:
  struct Config {
    int primaries = 3;
    int replicas_per_primary = 1;
    // Small, so that a killed primary is replaced within a few seconds.
    int node_timeout_ms = 1000;
    // When set, every node also has a TLS port serving certs->Cert("server"),
    // and the nodes talk TLS among themselves (tls-cluster, tls-replication).
    // Redis 7.0 announces the TLS ports to TLS clients and the plain ones to
    // plain clients: the helpers below keep to the plain ports.
    std::shared_ptr<const TlsCerts> tls;
  };

  // Aborts the test binary if the cluster does not come up healthy.
  static std::unique_ptr<RedisCluster> Start(Config config);
  static std::unique_ptr<RedisCluster> Start() { return Start(Config{}); }
  ~RedisCluster();

  // redis-cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,... (every node a seed).
  std::string url() const;
  std::vector<int> ports() const;
  // rediss-cluster://127.0.0.1:<tls port 1>,... (Config::tls only).
  std::string tls_url() const;
  // The TLS port of the node whose plain port is `port` (Config::tls only).
  int TlsPortOf(int port) const;

  // One command on one node over a fresh connection; nullopt when the node
  // cannot be reached.
  std::optional<RawReply> Command(int port, const std::vector<std::string>& args);

  // The primary that serves `slot`, as the live nodes see it (-1: none).
  int PrimaryOfSlot(int slot);
  // A replica connected to `primary_port` (-1: none).
  int ReplicaOf(int primary_port);
  // The ports of the primaries that serve slots.
  std::vector<int> Primaries();

  // SIGKILL (the node's data is gone) / start again on the same port and
  // dir: it rejoins from its nodes.conf, as a replica if it was replaced.
  void KillNode(int port);
  void RestartNode(int port);

  // Moves `slot` from its owner `from` to `to` the way redis-cli does:
  // SETSLOT IMPORTING/MIGRATING, MIGRATE its keys in batches, then SETSLOT
  // NODE on every primary. False (with a gtest failure) on error.
  bool MigrateSlot(int slot, int from, int to);

  // CLUSTER FAILOVER on `replica_port`; waits until it is a primary and the
  // cluster is healthy again.
  bool ManualFailover(int replica_port);

  // Every live node: cluster_state:ok, all 16384 slots served, the same
  // slot map, every replica's link up, every live node in the map.
  bool Healthy();
  bool WaitHealthy(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  explicit RedisCluster(Config config) : config_(config) {}
  std::optional<RawReply> ClusterSlots();  // from the first live node that answers
  std::string NodeId(int port);
  // With tls-replication, replicas and primaries name each other by TLS
  // port: the plain port of that node (else `port` itself).
  int PlainPort(int port) const;
  bool Create();

  Config config_;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<bool> alive_;
  std::vector<int> tls_ports_;  // of nodes_, with Config::tls
  std::string dir_;             // redis-cli's log
};

// The cluster every test of a binary may share: one started once for it.
RedisCluster* SharedCluster();

// $SFROUTE_TEST_CLUSTER (a redis-cluster:// URL) when set, else the URL of
// SharedCluster(). Tests keep apart by namespace (UniqueNamespace()).
std::string SharedClusterUrl();

}  // namespace sfroute::testing

#endif  // SFROUTE_TESTS_TESTING_REDIS_CLUSTER_H_
