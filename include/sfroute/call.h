// Per-call options (a deadline, a cancellation) and the callbacks of the
// async operations (SPEC.md §6).
#ifndef SFROUTE_CALL_H_
#define SFROUTE_CALL_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sfroute {

namespace internal {
class CallControl;
}  // namespace internal

// Cancels the calls it was given to (any number, on any threads) that have
// not completed yet: each fails with CANCELLED. A call not yet sent is never
// sent; one already sent fails at once and may or may not have run on the
// server (it is never sent again). Cancelling again, or after the calls
// completed, does nothing; a call started with a cancelled Cancellation fails
// with CANCELLED at once, sending nothing. Thread-safe; share it through a
// shared_ptr.
//
//   auto cancel = std::make_shared<sfroute::Cancellation>();
//   executor->GetLinkedPodAsync("prod", uid, "scene", on_pod, {.cancellation = cancel});
//   ...
//   cancel->Cancel();  // the player left: on_pod gets CANCELLED unless it ran already
class Cancellation {
 public:
  Cancellation() = default;
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

  void Cancel() const;
  bool cancelled() const;

 private:
  friend class internal::CallControl;
  // What the calls in progress registered: each is told once on Cancel().
  mutable std::mutex mutex_;
  mutable bool cancelled_ = false;
  mutable std::uint64_t next_id_ = 0;
  mutable std::unordered_map<std::uint64_t, std::weak_ptr<internal::CallControl>> calls_;
};

struct CallOptions {
  // Past it the call fails with DEADLINE_EXCEEDED: if it was not sent yet,
  // it is dropped and never sent; if it was, it may or may not have run (it
  // is never sent again) and its late reply is discarded, while the other
  // calls on the same connection go on. Default: now + Options::command_timeout.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Cancel() before the reply arrives fails the call with CANCELLED.
  std::shared_ptr<const Cancellation> cancellation;
};

// The callback of an async operation: called exactly once, with what the
// sync operation would have returned, on a thread of the executor, never
// inside the call that started it. It must not block (it may start new
// calls). Destroying the executor completes every pending callback with
// CANCELLED before the destructor returns.
template <typename T>
using Callback = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;
using StatusCallback = absl::AnyInvocable<void(absl::Status) &&>;

}  // namespace sfroute

#endif  // SFROUTE_CALL_H_
