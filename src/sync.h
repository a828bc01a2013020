// The library's mutex (std::mutex, annotated for clang's thread-safety
// analysis) and notification (a futex).
//
// Why not absl::Mutex: Debian's abseil is built without NDEBUG, so every
// absl::Mutex lock also updates a process-wide deadlock graph under one
// global lock, and destroying one (a mutex per call) clears its node from
// that graph. On the hot path, that is a lock shared by all threads and
// costs more than the call. std::mutex is a plain futex, and
// ThreadSanitizer sees it without an instrumented abseil.
#ifndef SFROUTE_SRC_SYNC_H_
#define SFROUTE_SRC_SYNC_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace sfroute::internal {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mutex_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }

 private:
  std::mutex mutex_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mutex) ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex) : mutex_(mutex) {
    mutex_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mutex_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mutex_;
};

// Notified once; waited for by any number of threads. A futex word, so
// that a call that never waits (it read its reply itself, or the backend
// answered at once) pays for no mutex or condition variable. Whoever
// notifies must hold a share of it until Notify returns (a waiter that sees
// it notified may go on and let it go).
//
// A waiter sleeps on one of two words shared by all threads, with a bit
// of its own thread's (FUTEX_WAIT_BITSET), so that one system call can wake
// many waiters: see WakeBatch.
class Notification {
 public:
  void Notify();
  bool HasBeenNotified() const { return state_.load(std::memory_order_acquire) != 0; }
  void Wait() { WaitUntil(std::chrono::steady_clock::time_point::max()); }
  // False when `deadline` came first.
  bool WaitUntil(std::chrono::steady_clock::time_point deadline);
  // Back to not notified, for the next Notify. Only by the one waiter,
  // once it has seen it notified and before anything can notify it again.
  void Reset() { state_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint32_t> state_{0};  // 1 once notified
  // The sleep slots of its waiters (bit i: slot i, see sync.cc).
  std::atomic<std::uint64_t> sleepers_{0};
  // Waiters of threads with no slot: they sleep on state_.
  std::atomic<std::uint32_t> slotless_waiters_{0};
};

// While one lives on a thread, the waiters of the Notifications notified
// there are woken when it ends, all together: one system call per shared
// word instead of one per waiter. The I/O thread that completes many sync
// calls in one read so wakes their callers at once, and the scheduler
// preempts it once for all of them, not once per caller (a woken caller
// runs before the busy I/O thread, which has had more than its share of
// the CPU). Only around code that never waits for one of those waiters:
// the application's code (async callbacks, the log sink) runs after
// WakeDue. Nests: the outermost one wakes.
class WakeBatch {
 public:
  WakeBatch();
  ~WakeBatch();
  // Wakes now the waiters due so far on this thread's batch: before code
  // that may wait for one of them.
  static void WakeDue();
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;

 private:
  friend class Notification;
  bool outermost_ = false;
  std::uint64_t due_ = 0;  // the sleep slots to wake (bit i: slot i)
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_SYNC_H_
