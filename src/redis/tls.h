// TLS for connections to Redis (SPEC.md §9), on OpenSSL: one client setup
// per executor, a transport per connection.
#ifndef SFROUTE_SRC_REDIS_TLS_H_
#define SFROUTE_SRC_REDIS_TLS_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "loop/unique_fd.h"
#include "redis/transport.h"
#include "sfroute/options.h"

namespace sfroute::internal {

// What every TLS connection of an executor shares: the trusted CAs, the
// client certificate, the name checked. Thread-safe.
class TlsClient {
 public:
  // `url_host` is the name checked when options.sni is empty. Files that
  // cannot be read or used: INVALID_ARGUMENT naming the setting and file.
  static absl::StatusOr<std::shared_ptr<const TlsClient>> Create(const TlsOptions& options,
                                                                 std::string_view url_host);
  virtual ~TlsClient() = default;

  // The transport of one connection whose TCP connect has finished; its
  // Handshake() runs the TLS handshake and checks the server.
  virtual std::unique_ptr<Transport> Wrap(UniqueFd socket) const = 0;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_TLS_H_
