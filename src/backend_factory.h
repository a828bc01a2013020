// Chooses the backend for a deployment URL: redis://, redis-cluster://, memory://.
#ifndef SFROUTE_SRC_BACKEND_FACTORY_H_
#define SFROUTE_SRC_BACKEND_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "backend.h"
#include "sfroute/options.h"

namespace sfroute::internal {

// INVALID_ARGUMENT for a malformed URL or option; never connects.
absl::StatusOr<std::shared_ptr<Backend>> OpenBackend(const Options& options);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_BACKEND_FACTORY_H_
