#include "counters.h"

namespace sfroute::drivers {

std::size_t ThreadShard() {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t shard = next.fetch_add(1) % kCounterShards;
  return shard;
}

}  // namespace sfroute::drivers
