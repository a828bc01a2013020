// Builds an Executor over a given backend: Executor::Open uses it after
// choosing the backend by URL, and benchmarks use it with backends of
// their own.
#ifndef SFROUTE_SRC_EXECUTOR_FACTORY_H_
#define SFROUTE_SRC_EXECUTOR_FACTORY_H_

#include <memory>

#include "backend.h"
#include "loop/event_loop.h"
#include "observability/events.h"
#include "sfroute/options.h"
#include "sfroute/sfroute.h"

namespace sfroute::internal {

struct ExecutorFactory {
  // What the executor's layers tell (metrics, log), for OpenBackend and Make.
  static std::shared_ptr<Events> NewEvents(const Options& options);
  static std::unique_ptr<Executor> Make(std::shared_ptr<Events> events,
                                        std::shared_ptr<Backend> backend,
                                        std::shared_ptr<EventLoop> loop, const Options& options);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_EXECUTOR_FACTORY_H_
