// Counters the drivers bump on their hot paths: one set per thread shard,
// each on its own cache lines, so that 50 threads counting cache hits do
// not fight over one line. Read by adding the shards up.
#ifndef SFROUTE_SRC_DRIVERS_COUNTERS_H_
#define SFROUTE_SRC_DRIVERS_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/strings/string_view.h"

namespace sfroute::drivers {

// Debian's abseil has a string_view of its own: absl::StrCat and the hash
// maps take it, not std::string_view.
inline absl::string_view View(std::string_view text) { return {text.data(), text.size()}; }

// Which shard the calling thread counts in: threads take turns.
std::size_t ThreadShard();
inline constexpr std::size_t kCounterShards = 16;

template <std::size_t N>
class ShardedCounters {
 public:
  void Add(std::size_t counter, std::uint64_t by = 1) {
    shards_[ThreadShard()].values[counter].fetch_add(by, std::memory_order_relaxed);
  }
  std::uint64_t Get(std::size_t counter) const {
    std::uint64_t total = 0;
    for (const Shard& shard : shards_)
      total += shard.values[counter].load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct alignas(64) Shard {
    std::array<std::atomic<std::uint64_t>, N> values{};
  };
  std::array<Shard, kCounterShards> shards_;
};

}  // namespace sfroute::drivers

#endif  // SFROUTE_SRC_DRIVERS_COUNTERS_H_
