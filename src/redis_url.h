// Parsing of the deployment URL (Options::redis_url, SPEC.md §4):
//   redis://[[user]:password@]host[:port][/db]                 standalone
//   redis-cluster://[[user]:password@]host:port[,host:port...]   cluster seeds
//   redis-sentinel://[[user]:password@]host:port[,...]/master[/db]  via Sentinel
//   rediss://, rediss-cluster://, rediss-sentinel://             the same over TLS
//   memory://[name]                                              in-process
// followed by ?name=value&... query parameters (SPEC.md §9).
#ifndef SFROUTE_SRC_REDIS_URL_H_
#define SFROUTE_SRC_REDIS_URL_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "sfroute/options.h"

namespace sfroute::internal {

struct HostPort {
  std::string host = "127.0.0.1";
  int port = 6379;

  // host:port ([host]:port for IPv6), for messages.
  std::string Address() const;
  bool operator==(const HostPort&) const = default;
  auto operator<=>(const HostPort&) const = default;  // a map key
};

struct RedisEndpoint {
  enum class Kind { kStandalone, kCluster, kSentinel, kMemory };
  Kind kind = Kind::kStandalone;
  // One for standalone; the seeds of a cluster; the sentinels.
  std::vector<HostPort> nodes = {HostPort{}};
  std::string user;               // the data nodes'; empty: the default user
  std::string password;           // the data nodes'; empty: no AUTH
  int db = 0;                     // standalone and sentinel only
  bool tls = false;               // a rediss... scheme
  TlsOptions tls_options;         // the defaults given, overridden by the URL's tls_* parameters
  std::string sentinel_master;    // sentinel only: the master's name
  std::string sentinel_user;      // sentinel only; empty: the default user
  std::string sentinel_password;  // sentinel only; empty: no AUTH
  std::string memory_name;        // memory:// only; empty: a private store
  // The URL as given, with the password replaced by "***": what messages
  // and reports may show.
  std::string redacted_url;

  // The first node's address, for messages (never the password).
  std::string Address() const { return nodes.front().Address(); }
};

// INVALID_ARGUMENT naming the part of the URL that is wrong. The message
// never contains a password. `tls` (Options::tls) gives the TLS settings
// the URL's tls_* parameters do not.
absl::StatusOr<RedisEndpoint> ParseRedisUrl(std::string_view url, const TlsOptions& tls = {});

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_URL_H_
