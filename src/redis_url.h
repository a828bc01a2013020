// Parsing of the deployment URL (Options::redis_url, SPEC.md §4):
//   redis://[[user]:password@]host[:port][/db]                 standalone
//   redis-cluster://[[user]:password@]host:port[,host:port...]   cluster seeds
//   memory://[name]                                              in-process
#ifndef SFROUTE_SRC_REDIS_URL_H_
#define SFROUTE_SRC_REDIS_URL_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sfroute::internal {

struct HostPort {
  std::string host = "127.0.0.1";
  int port = 6379;

  // host:port ([host]:port for IPv6), for messages.
  std::string Address() const;
  bool operator==(const HostPort&) const = default;
};

struct RedisEndpoint {
  enum class Kind { kStandalone, kCluster, kMemory };
  Kind kind = Kind::kStandalone;
  std::vector<HostPort> nodes = {HostPort{}};  // one for standalone; the seeds of a cluster
  std::string user;                            // empty: the default user
  std::string password;                        // empty: no AUTH
  int db = 0;                                  // standalone only
  std::string memory_name;                     // memory:// only; empty: a private store
  // The URL as given, with the password replaced by "***": what messages
  // and reports may show.
  std::string redacted_url;

  // The first node's address, for messages (never the password).
  std::string Address() const { return nodes.front().Address(); }
};

// INVALID_ARGUMENT naming the part of the URL that is wrong. The message
// never contains the password.
absl::StatusOr<RedisEndpoint> ParseRedisUrl(std::string_view url);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_URL_H_
