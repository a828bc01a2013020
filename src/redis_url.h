// Parsing of redis://[[user]:password@]host[:port][/db] (SPEC.md §4).
#ifndef SFROUTE_SRC_REDIS_URL_H_
#define SFROUTE_SRC_REDIS_URL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sfroute::internal {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH
  int db = 0;

  // host:port, for messages (never the password).
  std::string Address() const;
};

// INVALID_ARGUMENT naming the part of the URL that is wrong. The message
// never contains the password.
absl::StatusOr<RedisEndpoint> ParseRedisUrl(std::string_view url);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_URL_H_
