// The deadline and cancellation of one call, as every layer below the
// executor sees it: a call is stopped once (deadline passed, cancelled, or
// the executor closing), and whoever holds a part of it (a request queued
// or written on a connection, a retry waiting for its backoff) registered
// itself to be told then. Thread-safe.
#ifndef SFROUTE_SRC_CALL_CONTROL_H_
#define SFROUTE_SRC_CALL_CONTROL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "sfroute/call.h"

namespace sfroute::internal {

// A part of a call that must end when the call is stopped.
class StopTarget {
 public:
  virtual ~StopTarget() = default;
  // Runs once, on the thread that stopped the call; must not block.
  virtual void Stop(const absl::Status& why) = 0;
};

// One per call: it allocates nothing more unless a cancellation or more
// than two parts are involved.
class CallControl {
 public:
  // `explicit_deadline`: the caller set it (CallOptions::deadline); else it
  // is started + command_timeout. `started`: when the call began.
  CallControl(std::chrono::steady_clock::time_point deadline, bool explicit_deadline,
              std::chrono::steady_clock::time_point started)
      : deadline_(deadline), explicit_deadline_(explicit_deadline), started_(started) {}
  ~CallControl();

  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  bool explicit_deadline() const { return explicit_deadline_; }
  // Layers that need the call's start read it here rather than the clock.
  std::chrono::steady_clock::time_point started() const { return started_; }

  // Whether its parts must register as stop targets: the call may be
  // stopped by a timer, a cancellation or a waiting caller. An async call
  // with the default deadline and no cancellation is only ever stopped by
  // its connections' sweep (which stops each part there itself) or by the
  // executor closing: registering would cost a lock for nothing.
  bool stoppable() const { return stoppable_; }
  void set_stoppable() { stoppable_ = true; }

  // Ties the call to `cancellation` (may be null) until Finish(); `self`
  // is this control, as the cancellation is to know it.
  void Watch(const std::shared_ptr<const Cancellation>& cancellation,
             std::weak_ptr<CallControl> self);

  // Tells `target` once if the call is stopped before Finish(); at once, on
  // this thread, if it is stopped already.
  void OnStop(std::shared_ptr<StopTarget> target);

  // Stops the call: every registered target is told once, on this thread,
  // with `why` (DEADLINE_EXCEEDED or CANCELLED). Later stops do nothing.
  void Stop(const absl::Status& why);

  // OK while the call may go on; else why it was stopped.
  absl::Status stopped() const;
  bool is_stopped() const { return stopped_flag_.load(std::memory_order_acquire); }

  // The call completed: targets are let go and the cancellation forgets it.
  void Finish();

 private:
  const std::chrono::steady_clock::time_point deadline_;
  const bool explicit_deadline_;
  const std::chrono::steady_clock::time_point started_;
  bool stoppable_ = false;  // set before the call starts
  std::atomic<bool> stopped_flag_{false};
  // A std::mutex as Cancellation's (sync.h says why not absl's); the
  // fields below are guarded by it.
  mutable std::mutex mutex_;
  absl::Status why_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> registered_{false};  // a target or a cancellation is held
  absl::InlinedVector<std::shared_ptr<StopTarget>, 2> targets_;
  std::shared_ptr<const Cancellation> cancellation_;
  std::uint64_t cancellation_id_ = 0;
};

// A failed status that says nothing was sent (so sending again elsewhere
// cannot run anything twice), and the test for it.
absl::Status NotSent(absl::Status status);
bool IsNotSent(const absl::Status& status);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_CALL_CONTROL_H_
