// The library's mutex and notification: std::mutex and
// std::condition_variable, annotated for clang's thread-safety analysis.
//
// Why not absl::Mutex: Debian's abseil is built without NDEBUG, so every
// absl::Mutex lock also updates a process-wide deadlock graph under one
// global lock, and destroying one (a mutex per call) clears its node from
// that graph. On the hot path, that is a lock shared by all threads and
// costs more than the call. std::mutex is a plain futex, and
// ThreadSanitizer sees it without an instrumented abseil.
#ifndef SFROUTE_SRC_SYNC_H_
#define SFROUTE_SRC_SYNC_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace sfroute::internal {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mutex_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }

 private:
  friend class Notification;
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

// Notified once; waited for by any number of threads. Safe to destroy once
// a wait for it has returned true.
class Notification {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mutex_);
    notified_ = true;
    ready_.notify_all();  // under the lock: a waiter cannot destroy it before
  }
  bool HasBeenNotified() {
    std::lock_guard<std::mutex> lock(mutex_);
    return notified_;
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [this] { return notified_; });
  }
  // False when `deadline` came first.
  bool WaitUntil(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return ready_.wait_until(lock, deadline, [this] { return notified_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  bool notified_ = false;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_SYNC_H_
