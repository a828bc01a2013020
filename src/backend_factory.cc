#include "backend_factory.h"

#include "redis/standalone_backend.h"
#include "redis_url.h"
#include "reply.h"

namespace sfroute::internal {

absl::StatusOr<std::shared_ptr<Backend>> OpenBackend(const Options& options) {
  auto endpoint = ParseRedisUrl(options.redis_url);
  if (!endpoint.ok()) return endpoint.status();
  if (options.connect_timeout.count() <= 0 || options.command_timeout.count() <= 0) {
    return absl::InvalidArgumentError("invalid timeout: must be > 0 ms");
  }
  if (options.pool_size < 1) return absl::InvalidArgumentError("invalid pool_size: must be >= 1");

  ConnectionOptions connection{endpoint->nodes.front(), endpoint->user,
                               endpoint->password,      endpoint->db,
                               options.connect_timeout, options.command_timeout};
  switch (endpoint->kind) {
    case RedisEndpoint::Kind::kStandalone:
      return std::make_shared<StandaloneBackend>(std::move(connection), options.pool_size);
    case RedisEndpoint::Kind::kCluster:
    case RedisEndpoint::Kind::kMemory:
      break;
  }
  return absl::InvalidArgumentError("invalid redis_url: this kind of deployment is not built in yet");
}

}  // namespace sfroute::internal
