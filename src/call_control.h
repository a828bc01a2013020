// The deadline and cancellation of one call, as every layer below the
// executor sees it: a call is stopped once (deadline passed, cancelled, or
// the executor closing), and whoever holds a part of it (a request queued
// or written on a connection, a retry waiting for its backoff) registered
// what to do then. Thread-safe.
#ifndef SFROUTE_SRC_CALL_CONTROL_H_
#define SFROUTE_SRC_CALL_CONTROL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "sfroute/call.h"

namespace sfroute::internal {

using StopHandler = absl::AnyInvocable<void(const absl::Status& why) &&>;

class CallControl : public std::enable_shared_from_this<CallControl> {
 public:
  explicit CallControl(std::chrono::steady_clock::time_point deadline) : deadline_(deadline) {}
  ~CallControl();

  std::chrono::steady_clock::time_point deadline() const { return deadline_; }

  // Ties the call to `cancellation` (may be null) until Finish().
  void Watch(const std::shared_ptr<const Cancellation>& cancellation);

  // Runs `handler` once if the call is stopped before Remove(id) or
  // Finish(); at once, on this thread, if it is stopped already. Returns
  // an id for Remove.
  std::uint64_t OnStop(StopHandler handler);
  void Remove(std::uint64_t id);

  // Stops the call: every registered handler runs once, on this thread,
  // with `why` (DEADLINE_EXCEEDED or CANCELLED). Later stops do nothing.
  void Stop(const absl::Status& why);

  // OK while the call may go on; else why it was stopped.
  absl::Status stopped() const;
  bool is_stopped() const { return stopped_flag_.load(std::memory_order_acquire); }

  // The call completed: handlers are dropped and the cancellation forgets it.
  void Finish();

 private:
  const std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> stopped_flag_{false};
  mutable absl::Mutex mutex_;
  absl::Status why_ ABSL_GUARDED_BY(mutex_);
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  std::uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<std::pair<std::uint64_t, StopHandler>> handlers_ ABSL_GUARDED_BY(mutex_);
  std::shared_ptr<const Cancellation> cancellation_ ABSL_GUARDED_BY(mutex_);
  std::uint64_t cancellation_id_ ABSL_GUARDED_BY(mutex_) = 0;
};

// A failed status that says nothing was sent (so sending again elsewhere
// cannot run anything twice), and the test for it.
absl::Status NotSent(absl::Status status);
bool IsNotSent(const absl::Status& status);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_CALL_CONTROL_H_
