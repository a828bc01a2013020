#include "backend_factory.h"

#include <map>
#include <string>
#include <vector>

#include "cluster/cluster_backend.h"
#include "memory/memory_backend.h"
#include "redis/standalone_backend.h"
#include "redis/tls.h"
#include "redis_url.h"
#include "reply.h"
#include "sentinel/sentinel_backend.h"
#include "sync.h"

namespace sfroute::internal {
namespace {

// memory://<name> stores live as long as an executor uses them; every
// executor of the process that opens the same name shares one store (the
// first one's clock is the store's clock). memory:// alone is private.
std::shared_ptr<Backend> OpenMemoryBackend(const std::string& name,
                                           std::shared_ptr<const Clock> clock) {
  if (clock == nullptr) clock = SystemClock();
  if (name.empty()) return std::make_shared<MemoryBackend>(std::move(clock));
  static Mutex mutex;
  static auto* stores = new std::map<std::string, std::weak_ptr<MemoryBackend>>;
  MutexLock lock(&mutex);
  std::weak_ptr<MemoryBackend>& store = (*stores)[name];
  if (auto existing = store.lock()) return existing;
  auto created = std::make_shared<MemoryBackend>(std::move(clock));
  store = created;
  return created;
}

}  // namespace

absl::StatusOr<std::shared_ptr<Backend>> OpenBackend(const Options& options,
                                                     std::shared_ptr<EventLoop> loop,
                                                     std::shared_ptr<Events> events) {
  auto endpoint = ParseRedisUrl(options.redis_url, options.tls);
  if (!endpoint.ok()) return endpoint.status();
  if (!endpoint->tls && options.tls != TlsOptions{}) {
    return absl::InvalidArgumentError(
        "invalid tls: TLS options are set but the redis_url's scheme has no TLS (use rediss://, "
        "rediss-cluster:// or rediss-sentinel://)");
  }
  if (options.connect_timeout.count() <= 0 || options.command_timeout.count() <= 0) {
    return absl::InvalidArgumentError("invalid timeout: must be > 0 ms");
  }
  if (options.pool_size < 1) {
    return absl::InvalidArgumentError("invalid pool_size: must be >= 1");
  }
  // WAIT blocks the connection for up to replica_ack_timeout: past the
  // command timeout the call would fail with DEADLINE_EXCEEDED instead.
  if (options.replica_ack_timeout.count() < 0 ||
      (options.replica_ack_timeout.count() > 0 &&
       options.replica_ack_timeout >= options.command_timeout)) {
    return absl::InvalidArgumentError(
        "invalid replica_ack_timeout: must be 0 (off) or > 0 ms and below command_timeout");
  }

  if (endpoint->kind == RedisEndpoint::Kind::kMemory) {
    if (options.replica_ack_timeout.count() > 0) {
      return absl::InvalidArgumentError(
          "invalid replica_ack_timeout: a memory:// store has no replicas to wait for");
    }
    return OpenMemoryBackend(endpoint->memory_name, options.clock);
  }
  ConnectionOptions connection{.node = endpoint->nodes.front(),
                               .user = endpoint->user,
                               .password = endpoint->password,
                               .db = endpoint->db,
                               .connect_timeout = options.connect_timeout,
                               .command_timeout = options.command_timeout,
                               .busy_poll = options.busy_poll,
                               .events = std::move(events),
                               .tls = nullptr};
  if (endpoint->tls) {
    auto tls = TlsClient::Create(endpoint->tls_options, endpoint->nodes.front().host);
    if (!tls.ok()) return tls.status();
    connection.tls = *std::move(tls);
  }
  if (endpoint->kind == RedisEndpoint::Kind::kSentinel) {
    // The sentinels with their own credentials, the data nodes with the
    // URL's; both over TLS with rediss-sentinel://. Each sentinel's
    // certificate is checked against its own host in the URL (unless
    // tls_sni is set); the data nodes, announced by the sentinels (by IP,
    // as Redis does), against tls_sni else the URL's first host.
    std::vector<ConnectionOptions> sentinels;
    std::map<std::string, std::shared_ptr<const TlsClient>> tls_by_host;
    for (const HostPort& node : endpoint->nodes) {
      ConnectionOptions sentinel = connection;
      sentinel.node = node;
      sentinel.user = endpoint->sentinel_user;
      sentinel.password = endpoint->sentinel_password;
      sentinel.db = 0;
      if (endpoint->tls && endpoint->tls_options.sni.empty() &&
          node.host != endpoint->nodes.front().host) {
        std::shared_ptr<const TlsClient>& tls = tls_by_host[node.host];
        if (tls == nullptr) {
          auto created = TlsClient::Create(endpoint->tls_options, node.host);
          if (!created.ok()) return created.status();
          tls = *std::move(created);
        }
        sentinel.tls = tls;
      }
      sentinels.push_back(std::move(sentinel));
    }
    return std::make_shared<SentinelBackend>(std::move(sentinels), endpoint->sentinel_master,
                                             std::move(connection), options.pool_size,
                                             std::move(loop));
  }
  if (endpoint->kind == RedisEndpoint::Kind::kCluster) {
    return std::make_shared<ClusterBackend>(endpoint->nodes, std::move(connection),
                                            options.pool_size, std::move(loop));
  }
  return std::make_shared<StandaloneBackend>(std::move(connection), options.pool_size,
                                             std::move(loop));
}

}  // namespace sfroute::internal
