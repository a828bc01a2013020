#include "sync.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace sfroute::internal {
namespace {

long Futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t value,
           const timespec* deadline) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op, value, deadline, nullptr,
                 FUTEX_BITSET_MATCH_ANY);
}

}  // namespace

void Notification::Notify() {
  state_.store(1, std::memory_order_seq_cst);
  // A waiter counted itself before it looked at the state: it either saw
  // it set, or it is (about to be) asleep on it and is woken here.
  if (waiters_.load(std::memory_order_seq_cst) > 0) {
    Futex(&state_, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);
  }
}

bool Notification::WaitUntil(std::chrono::steady_clock::time_point deadline) {
  if (HasBeenNotified()) return true;
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  const bool forever = deadline == std::chrono::steady_clock::time_point::max();
  timespec at{};
  if (!forever) {
    // steady_clock is CLOCK_MONOTONIC on Linux, the futex's clock here.
    const auto since = deadline.time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
    at.tv_sec = static_cast<time_t>(seconds.count());
    at.tv_nsec = static_cast<long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(since - seconds).count());
  }
  bool notified = false;
  while (!(notified = HasBeenNotified())) {
    // Sleeps only while the word is still 0; an absolute deadline.
    const long woke = Futex(&state_, FUTEX_WAIT_BITSET_PRIVATE, 0, forever ? nullptr : &at);
    if (woke != 0 && errno == ETIMEDOUT) {
      notified = HasBeenNotified();
      break;
    }
  }
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
  return notified;
}

}  // namespace sfroute::internal
