#include "demo/cleanup.h"

#include <atomic>

#include "demo/parallel.h"

namespace sfroute::demo {

absl::StatusOr<std::int64_t> RemoveRunLinks(Executor& executor, const SimulationResult& result) {
  std::atomic<std::int64_t> removed{0};
  absl::Status status =
      ForEachPlayer(result.config.threads, result.players.size(), [&](int, std::size_t i) {
        const PlayerRecord& player = result.players[i];
        // Every service he uses, whatever his fate: a failed player may have
        // left links anywhere.
        for (const LinkRecord& link : player.links) {
          absl::StatusOr<bool> existed =
              executor.RemoveLinkedPod(result.config.ns, player.uid, result.services[link.svc], 0);
          if (!existed.ok()) return existed.status();
          if (*existed) ++removed;
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return removed.load();
}

}  // namespace sfroute::demo
