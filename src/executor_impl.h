// The one path every operation goes through. An operation is a Plan: what
// it sends (a Batch) and how it reads the replies, built (and validated)
// before anything is sent. Run sends it with the call's deadline and
// cancellation, loads scripts again after NOSCRIPT, follows a second step
// when the first asks for one (ComputeLinkedPodIfAbsent), and completes the
// call: a sync caller wakes (or has read the replies itself), an async
// callback runs on the loop's thread, never inside the starting call.
#ifndef SFROUTE_SRC_EXECUTOR_IMPL_H_
#define SFROUTE_SRC_EXECUTOR_IMPL_H_

#include <atomic>
#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "backend.h"
#include "call_control.h"
#include "command.h"
#include "loop/event_loop.h"
#include "redis/connection.h"
#include "reply.h"
#include "scripts.h"
#include "sfroute/sfroute.h"
#include "str_cat.h"

namespace sfroute {

namespace internal {

// What operations that return only a Status give back inside.
struct Done {};

template <typename T>
struct Plan;

// What reading a plan's replies gives: the operation's result, or one more
// round trip whose outcome is the operation's.
template <typename T>
struct Step {
  template <typename U>
    requires std::constructible_from<absl::StatusOr<T>, U>
  Step(U&& result) : result(std::forward<U>(result)) {}  // NOLINT: implicit on purpose
  explicit Step(std::unique_ptr<Plan<T>> then)
      : result(absl::UnknownError("continued by the next step")), next(std::move(then)) {}
  absl::StatusOr<T> result;
  std::unique_ptr<Plan<T>> next;
};

template <typename T>
struct Plan {
  std::string context;  // "Operation(key)": a failed round trip's message starts with it
  Batch batch;
  absl::AnyInvocable<Step<T>(std::vector<Reply>& replies) &&> parse;
};

}  // namespace internal

class Executor::Impl {
 public:
  Impl(std::shared_ptr<internal::Backend> backend, std::shared_ptr<internal::EventLoop> loop,
       const Options& options);
  ~Impl();

  // Runs the plan (or reports why it could not be built) and waits.
  template <typename T>
  absl::StatusOr<T> RunSync(absl::StatusOr<internal::Plan<T>> plan, const CallOptions& call);

  // Runs the plan; `done` gets the result on the loop's thread.
  template <typename T>
  void RunAsync(absl::StatusOr<internal::Plan<T>> plan, Callback<T> done,
                const CallOptions& call);

  void Log(LogLevel level, std::string_view message) const { log_sink_(level, message); }
  std::chrono::milliseconds replica_ack_timeout() const { return replica_ack_timeout_; }

 private:
  template <typename T>
  class Call;

  std::shared_ptr<internal::CallControl> NewControl(const CallOptions& call) const;

  // Sends the batch; a script the server did not have (NOSCRIPT) is sent
  // again in full (EVAL), which runs it and loads it, with the commands
  // that followed it (WAIT). `done` gets one reply per command.
  void Exchange(std::shared_ptr<const internal::Batch> batch,
                std::shared_ptr<internal::CallControl> control, internal::BatchDone done);

  const std::shared_ptr<internal::Backend> backend_;
  const std::shared_ptr<internal::EventLoop> loop_;
  const LogSink log_sink_;
  const std::chrono::milliseconds command_timeout_;
  const std::chrono::milliseconds replica_ack_timeout_;
  std::atomic<bool> closing_{false};
};

// One call of one operation, from its start to its completion.
template <typename T>
class Executor::Impl::Call : public std::enable_shared_from_this<Call<T>> {
 public:
  using Complete = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  Call(Impl& impl, std::shared_ptr<internal::CallControl> control, bool sync, Complete complete)
      : impl_(impl), control_(std::move(control)), sync_(sync), complete_(std::move(complete)) {}

  void Start(absl::StatusOr<internal::Plan<T>> plan) {
    if (!plan.ok()) {
      Finish(plan.status());
      return;
    }
    // Stopped before it started (a cancelled Cancellation, a deadline
    // already past): nothing is sent.
    if (control_->deadline() <= internal::SteadyClock::now()) {
      control_->Stop(absl::DeadlineExceededError("the call's deadline passed"));
    }
    if (control_->is_stopped()) {
      const absl::Status why = control_->stopped();
      Finish(internal::Annotate(
          absl::Status(why.code(), internal::StrCat(why.message(), "; nothing was sent")),
          plan->context));
      return;
    }
    Send(*std::move(plan));
  }

  internal::CallControl& control() { return *control_; }
  // Set once Start has returned: from then on an async callback may run on
  // the thread that completes the call (if it is the loop's).
  void Started() { started_.store(true, std::memory_order_release); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  void Send(internal::Plan<T> plan) {
    plan.batch.caller_waits = sync_;
    auto batch = std::make_shared<const internal::Batch>(std::move(plan.batch));
    impl_.Exchange(batch, control_,
                   [self = this->shared_from_this(), context = std::move(plan.context),
                    parse = std::move(plan.parse)](
                       absl::StatusOr<std::vector<internal::Reply>> replies) mutable {
                     if (!replies.ok()) {
                       self->Finish(internal::Annotate(replies.status(), context));
                       return;
                     }
                     internal::Step<T> step = std::move(parse)(*replies);
                     if (step.next != nullptr) {
                       self->Send(std::move(*step.next));
                     } else {
                       self->Finish(std::move(step.result));
                     }
                   });
  }

  void Finish(absl::StatusOr<T> result) {
    if (finished_.exchange(true, std::memory_order_acq_rel)) return;
    control_->Finish();
    if (sync_ || (started_.load(std::memory_order_acquire) && impl_.loop_->InLoopThread())) {
      std::move(complete_)(std::move(result));
      return;
    }
    // Never inside the starting call, always on the loop's thread.
    impl_.loop_->Post([complete = std::move(complete_), result = std::move(result)]() mutable {
      std::move(complete)(std::move(result));
    });
  }

  Impl& impl_;
  const std::shared_ptr<internal::CallControl> control_;
  const bool sync_;
  Complete complete_;
  std::atomic<bool> started_{false};
  std::atomic<bool> finished_{false};
};

template <typename T>
absl::StatusOr<T> Executor::Impl::RunSync(absl::StatusOr<internal::Plan<T>> plan,
                                          const CallOptions& call) {
  struct Result {
    absl::Notification done;
    std::optional<absl::StatusOr<T>> value;
  };
  auto result = std::make_shared<Result>();
  auto control = NewControl(call);
  auto running = std::make_shared<Call<T>>(*this, control, /*sync=*/true,
                                           [result](absl::StatusOr<T> value) {
                                             result->value = std::move(value);
                                             result->done.Notify();
                                           });
  running->Start(std::move(plan));
  for (;;) {
    // When this thread found its connection idle, it reads its replies
    // itself (and those that queued behind them).
    internal::Connection::ReadForCaller(*control);
    if (result->done.HasBeenNotified()) break;
    if (internal::Connection::HasReadDuty()) continue;
    const auto left = control->deadline() - internal::SteadyClock::now();
    if (!result->done.WaitForNotificationWithTimeout(absl::FromChrono(left))) {
      // Stopping ends every part still out (each drops or abandons its
      // request) and so the call, here or on the thread completing it.
      control->Stop(absl::DeadlineExceededError("the call's deadline passed"));
      internal::Connection::ReadForCaller(*control);
      result->done.WaitForNotification();
      break;
    }
  }
  return *std::move(result->value);
}

template <typename T>
void Executor::Impl::RunAsync(absl::StatusOr<internal::Plan<T>> plan, Callback<T> done,
                              const CallOptions& call) {
  auto control = NewControl(call);
  auto running = std::make_shared<Call<T>>(*this, control, /*sync=*/false, std::move(done));
  running->Start(std::move(plan));
  running->Started();
  if (running->finished()) return;
  // The deadline is the loop's to keep: a timer that stops the call.
  loop_->RunAt(control->deadline(), [weak = std::weak_ptr<internal::CallControl>(control),
                                     this] {
    auto control = weak.lock();
    if (control == nullptr) return;
    control->Stop(closing_.load() ? absl::CancelledError("the executor is closing")
                                  : absl::DeadlineExceededError("the call's deadline passed"));
  });
}

}  // namespace sfroute

#endif  // SFROUTE_SRC_EXECUTOR_IMPL_H_
