// Work over every player, spread over threads.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_PARALLEL_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_PARALLEL_H_

#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace sfroute::demo {

// Calls visit(thread, player) for players 0..count-1, thread t taking
// players t, t + threads, ... A thread stops at its first error; the first
// error of all is returned.
inline absl::Status ForEachPlayer(int threads, std::size_t count,
                                  const std::function<absl::Status(int, std::size_t)>& visit) {
  std::mutex mutex;
  absl::Status first_error;
  auto slice = [&](int t) {
    for (std::size_t i = t; i < count; i += threads) {
      absl::Status status = visit(t, i);
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mutex);
        if (first_error.ok()) first_error = std::move(status);
        return;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) workers.emplace_back(slice, t);
  for (std::thread& worker : workers) worker.join();
  return first_error;
}

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_PARALLEL_H_
