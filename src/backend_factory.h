// Chooses the backend for a deployment URL: redis://, redis-cluster://, memory://.
#ifndef SFROUTE_SRC_BACKEND_FACTORY_H_
#define SFROUTE_SRC_BACKEND_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "backend.h"
#include "loop/event_loop.h"
#include "observability/events.h"
#include "sfroute/options.h"

namespace sfroute::internal {

// INVALID_ARGUMENT for a malformed URL or option; never connects.
// The backend's connections and timers run on `loop`.
// `events` hears the connection layers (may be null: nothing is told).
absl::StatusOr<std::shared_ptr<Backend>> OpenBackend(const Options& options,
                                                     std::shared_ptr<EventLoop> loop,
                                                     std::shared_ptr<Events> events = nullptr);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_BACKEND_FACTORY_H_
