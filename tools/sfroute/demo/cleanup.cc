#include "demo/cleanup.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace sfroute::demo {

absl::StatusOr<std::int64_t> RemoveRunLinks(Executor& executor, const SimulationResult& result) {
  const int threads = std::max(result.config.threads, 1);
  std::atomic<std::int64_t> removed{0};
  std::mutex mutex;
  absl::Status first_error;
  auto remove_slice = [&](int t) {
    for (size_t i = t; i < result.players.size(); i += threads) {
      const PlayerRecord& player = result.players[i];
      // Every service he uses, whatever his fate: a failed player may have
      // left links anywhere.
      for (const LinkRecord& link : player.links) {
        absl::StatusOr<bool> existed =
            executor.RemoveLinkedPod(result.config.ns, player.uid, result.services[link.svc], 0);
        if (!existed.ok()) {
          std::lock_guard<std::mutex> lock(mutex);
          if (first_error.ok()) first_error = existed.status();
          return;
        }
        if (*existed) ++removed;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) workers.emplace_back(remove_slice, t);
  for (std::thread& worker : workers) worker.join();
  if (!first_error.ok()) return first_error;
  return removed.load();
}

}  // namespace sfroute::demo
