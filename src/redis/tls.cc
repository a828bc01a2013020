#include "redis/tls.h"

namespace sfroute::internal {

absl::StatusOr<std::shared_ptr<const TlsClient>> TlsClient::Create(const TlsOptions&,
                                                                   std::string_view) {
  return absl::UnimplementedError("TLS (rediss://) is not supported yet");
}

}  // namespace sfroute::internal
