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
#include "backend.h"
#include "call_control.h"
#include "command.h"
#include "loop/event_loop.h"
#include "observability/events.h"
#include "operation.h"
#include "redis/connection.h"
#include "reply.h"
#include "scripts.h"
#include "sfroute/sfroute.h"
#include "str_cat.h"
#include "sync.h"

namespace sfroute {

namespace internal {

// What operations that return only a Status give back inside.
struct Done {};

// The audit records of one call (what it was asked), completed with its
// outcome when it ends: `outcome` fills in what the result says.
template <typename T>
struct Audit {
  std::vector<AuditRecord> records;
  void (*outcome)(const T& result, std::vector<AuditRecord>& records) = nullptr;
};

template <typename T>
struct Plan;

// What reading a plan's replies gives: the operation's result, or one more
// round trip whose outcome is the operation's.
template <typename T>
struct Step {
  template <typename U>
  requires std::constructible_from<absl::StatusOr<T>, U> Step(U&& result)
      : result(std::forward<U>(result)) {}  // NOLINT: implicit on purpose
  explicit Step(std::unique_ptr<Plan<T>> then)
      : result(absl::UnknownError("continued by the next step")), next(std::move(then)) {}
  absl::StatusOr<T> result;
  std::unique_ptr<Plan<T>> next;
};

template <typename T>
struct Plan {
  ShortText context;  // "Operation(key)": a failed round trip's message starts with it
  Batch batch;
  // Reads the replies (one per command); `context` is the plan's.
  absl::AnyInvocable<Step<T>(std::string_view context, std::vector<Reply>& replies) &&> parse;
};

}  // namespace internal

class Executor::Impl {
 public:
  Impl(std::shared_ptr<internal::Events> events, std::shared_ptr<internal::Backend> backend,
       std::shared_ptr<internal::EventLoop> loop, const Options& options);
  ~Impl();

  // Runs the plan of `operation` (or reports why it could not be built) and
  // waits. `audit`, when given, is completed and written to the audit sink.
  template <typename T>
  absl::StatusOr<T> RunSync(internal::Operation operation, absl::StatusOr<internal::Plan<T>> plan,
                            const CallOptions& call,
                            std::optional<internal::Audit<T>> audit = std::nullopt);

  // Runs the plan; `done` gets the result on the loop's thread.
  template <typename T>
  void RunAsync(internal::Operation operation, absl::StatusOr<internal::Plan<T>> plan,
                Callback<T> done, const CallOptions& call,
                std::optional<internal::Audit<T>> audit = std::nullopt);

  // Whether link mutations are audited (Options::audit_sink): build their
  // Audit only then.
  bool auditing() const { return static_cast<bool>(audit_sink_); }
  internal::Events& events() const { return *events_; }

  void Log(LogLevel level, std::string_view message) const { events_->Log(level, message); }

  // The backend's nodes (Backend::Nodes), waited for on the caller's thread
  // until the call's deadline. `operation` names the caller in errors.
  absl::StatusOr<std::vector<internal::HostPort>> Nodes(std::string_view operation,
                                                        const CallOptions& call);
  std::chrono::milliseconds replica_ack_timeout() const { return replica_ack_timeout_; }

 private:
  template <typename T>
  class Call;

  const std::shared_ptr<internal::Events> events_;  // outlives the backend's connections
  const std::shared_ptr<internal::Backend> backend_;
  const std::shared_ptr<internal::EventLoop> loop_;
  const AuditSink audit_sink_;
  const std::chrono::milliseconds command_timeout_;
  const std::chrono::milliseconds replica_ack_timeout_;
  std::atomic<bool> closing_{false};
};

// One call of one operation, from its start to its completion. One
// allocation holds the call, its control and (for a sync call) the place
// its result lands.
template <typename T>
class Executor::Impl::Call : public std::enable_shared_from_this<Call<T>> {
 public:
  using Complete = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  // A sync call when `complete` is empty: Wait() then gives the result.
  Call(Impl& impl, internal::Operation operation, const CallOptions& options,
       std::optional<internal::Audit<T>> audit, Complete complete)
      : impl_(impl),
        operation_(operation),
        start_(internal::SteadyClock::now()),
        audit_(std::move(audit)),
        control_value_(options.deadline.value_or(start_ + impl.command_timeout_),
                       options.deadline.has_value(), start_),
        sync_(!complete),
        complete_(std::move(complete)) {
    if (sync_ || options.deadline.has_value() || options.cancellation != nullptr) {
      control_value_.set_stoppable();
    }
    impl_.events_->metrics().CallStarted();
  }

  // The control as the layers below hold it (it keeps the call alive).
  std::shared_ptr<internal::CallControl> control() {
    return std::shared_ptr<internal::CallControl>(this->shared_from_this(), &control_value_);
  }

  void Start(absl::StatusOr<internal::Plan<T>>&& plan,
             const std::shared_ptr<const Cancellation>& cancellation) {
    if (cancellation != nullptr) control_value_.Watch(cancellation, control());
    if (!plan.ok()) {
      Finish(plan.status());
      return;
    }
    plan_ = *std::move(plan);
    // Stopped before it started (a cancelled Cancellation, a deadline
    // already past): nothing is sent.
    if (control_value_.explicit_deadline() &&
        control_value_.deadline() <= internal::SteadyClock::now()) {
      control_value_.Stop(absl::DeadlineExceededError("the call's deadline passed"));
    }
    if (control_value_.is_stopped()) {
      const absl::Status why = control_value_.stopped();
      Finish(internal::Annotate(
          absl::Status(why.code(), internal::StrCat(why.message(), "; nothing was sent")),
          plan_.context));
      return;
    }
    Send();
  }

  // Set once Start has returned: from then on an async callback may run on
  // the thread that completes the call (if it is the loop's).
  void Started() { started_.store(true, std::memory_order_release); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }

  // A sync call's result: the caller reads the replies itself when its
  // Send made it the connection's reader, else waits; past the deadline it
  // stops the call, which ends every part still out. Whichever thread
  // received them, the caller's thread works on the replies (parse, next
  // step, metrics): the I/O thread, which serves every caller, only hands
  // them over.
  absl::StatusOr<T> Wait() {
    for (;;) {
      internal::Connection::ReadForCaller(control_value_);
      if (done_.HasBeenNotified()) {
        if (TakeArrived()) continue;
        break;
      }
      if (internal::Connection::HasReadDuty()) continue;
      if (!done_.WaitUntil(control_value_.deadline())) {
        // Every part still out ends now; a next step would not be sent.
        control_value_.Stop(absl::DeadlineExceededError("the call's deadline passed"));
        internal::Connection::ReadForCaller(control_value_);
        done_.Wait();
      }
    }
    return *std::move(result_);
  }

 private:
  void Send() {
    plan_.batch.caller_waits = sync_;
    if (plan_.batch.commands.empty()) {
      OnReplies(std::vector<internal::Reply>{});
      return;
    }
    impl_.backend_->Send(plan_.batch, control(), [self = this->shared_from_this()](auto replies) {
      if (self->sync_) {
        self->arrived_ = std::move(replies);
        self->done_.Notify();
        return;
      }
      self->OnReplies(std::move(replies));
    });
  }

  // A sync call: works on the replies that arrived, if that is what woke
  // its caller (not the result).
  bool TakeArrived() {
    if (!arrived_.has_value()) return false;
    auto replies = *std::move(arrived_);
    arrived_.reset();
    done_.Reset();  // nothing else is out: the next Notify is for what this sends
    OnReplies(std::move(replies));
    return true;
  }

  void OnReplies(absl::StatusOr<std::vector<internal::Reply>> replies) {
    if (!replies.ok()) {
      Finish(internal::Annotate(replies.status(), plan_.context));
      return;
    }
    // NOSCRIPT proves a script did not run: it goes again in full (EVAL,
    // which also loads it), with the commands after the last script (WAIT
    // must follow its write).
    std::vector<std::size_t> not_loaded;
    std::size_t after_scripts = 0;
    for (std::size_t i = 0; i < replies->size(); ++i) {
      if (!internal::IsScriptCall(plan_.batch.commands[i])) continue;
      after_scripts = i + 1;
      if (internal::IsNoScript((*replies)[i])) not_loaded.push_back(i);
    }
    if (not_loaded.empty()) {
      Parse(*replies);
      return;
    }
    impl_.events_->ScriptReloaded(
        internal::StrCat(not_loaded.size(), " script call(s) of ", plan_.context));
    internal::Batch& retry = reloading_batch_;
    retry.commands.clear();
    retry.exclusive_connection = plan_.batch.exclusive_connection;
    retry.caller_waits = sync_;
    for (std::size_t i : not_loaded) {
      retry.commands.push_back(internal::WithSource(plan_.batch.commands[i]));
    }
    for (std::size_t i = after_scripts; i < plan_.batch.commands.size(); ++i) {
      retry.commands.push_back(plan_.batch.commands[i]);
    }
    impl_.backend_->Send(
        retry, control(),
        [self = this->shared_from_this(), first = *std::move(replies),
         not_loaded = std::move(not_loaded),
         after_scripts](absl::StatusOr<std::vector<internal::Reply>> retried) mutable {
          if (!retried.ok()) {
            self->Finish(internal::Annotate(retried.status(), self->plan_.context));
            return;
          }
          for (std::size_t j = 0; j < not_loaded.size(); ++j) {
            first[not_loaded[j]] = std::move((*retried)[j]);
          }
          for (std::size_t t = not_loaded.size(); t < retried->size(); ++t) {
            first[after_scripts + t - not_loaded.size()] = std::move((*retried)[t]);
          }
          self->Parse(first);
        });
  }

  void Parse(std::vector<internal::Reply>& replies) {
    internal::Step<T> step = std::move(plan_.parse)(plan_.context, replies);
    if (step.next == nullptr) {
      Finish(std::move(step.result));
      return;
    }
    plan_ = std::move(*step.next);  // a second round trip: its outcome is the call's
    Send();
  }

  void Finish(absl::StatusOr<T> result) {
    if (finished_.exchange(true, std::memory_order_acq_rel)) return;
    control_value_.Finish();
    const auto took = internal::SteadyClock::now() - start_;
    impl_.events_->metrics().CallFinished(operation_, result.status().code(), took);
    if (audit_.has_value()) WriteAudit(result, took);
    if (sync_) {
      result_ = std::move(result);
      done_.Notify();
      return;
    }
    if (started_.load(std::memory_order_acquire) && impl_.loop_->InLoopThread()) {
      std::move(complete_)(std::move(result));
      return;
    }
    // Never inside the starting call, always on the loop's thread.
    impl_.loop_->Post([complete = std::move(complete_), result = std::move(result)]() mutable {
      std::move(complete)(std::move(result));
    });
  }

  // Completes the audit records with the outcome and hands them out.
  void WriteAudit(const absl::StatusOr<T>& result, internal::SteadyClock::duration took) {
    const auto now = std::chrono::system_clock::now();
    for (AuditRecord& record : audit_->records) {
      record.time = now;
      record.operation = internal::OperationName(operation_);
      record.code = result.status().code();
      record.message = std::string(result.status().message());
      record.duration = std::chrono::duration_cast<std::chrono::microseconds>(took);
    }
    if (result.ok() && audit_->outcome != nullptr) audit_->outcome(*result, audit_->records);
    for (const AuditRecord& record : audit_->records) impl_.audit_sink_(record);
  }

  Impl& impl_;
  const internal::Operation operation_;
  const internal::SteadyClock::time_point start_;
  std::optional<internal::Audit<T>> audit_;
  internal::CallControl control_value_;
  const bool sync_;
  Complete complete_;
  std::optional<absl::StatusOr<T>> result_;  // a sync call's
  // A sync call's replies, handed over to its caller's thread.
  std::optional<absl::StatusOr<std::vector<internal::Reply>>> arrived_;
  internal::Notification done_;  // a sync call's: its result, or replies, are in
  internal::Plan<T> plan_;       // the step under way
  // The scripts sent again after NOSCRIPT. Batches live in the call until
  // their replies are in (Backend::Send's contract).
  internal::Batch reloading_batch_;
  std::atomic<bool> started_{false};
  std::atomic<bool> finished_{false};
};

template <typename T>
absl::StatusOr<T> Executor::Impl::RunSync(internal::Operation operation,
                                          absl::StatusOr<internal::Plan<T>> plan,
                                          const CallOptions& call,
                                          std::optional<internal::Audit<T>> audit) {
  if (loop_->InLoopThread()) {
    // It would wait for the very thread that has to answer it.
    const std::string_view operation = plan.ok() ? plan->context.view() : "a call";
    return absl::FailedPreconditionError(
        internal::StrCat(operation,
                         ": a sync call inside an executor's callback would wait forever for the "
                         "executor's own thread; use the async call there"));
  }
  auto running = std::make_shared<Call<T>>(*this, operation, call, std::move(audit), nullptr);
  running->Start(std::move(plan), call.cancellation);
  return running->Wait();
}

template <typename T>
void Executor::Impl::RunAsync(internal::Operation operation, absl::StatusOr<internal::Plan<T>> plan,
                              Callback<T> done, const CallOptions& call,
                              std::optional<internal::Audit<T>> audit) {
  auto running =
      std::make_shared<Call<T>>(*this, operation, call, std::move(audit), std::move(done));
  running->Start(std::move(plan), call.cancellation);
  running->Started();
  // A deadline the caller set has a timer of its own, on the loop; the
  // default one (now + command_timeout) is swept by the connections.
  if (running->finished() || !call.deadline.has_value()) return;
  loop_->RunAt(*call.deadline, [weak = std::weak_ptr<Call<T>>(running), this] {
    auto running = weak.lock();
    if (running == nullptr) return;
    running->control()->Stop(closing_.load()
                                 ? absl::CancelledError("the executor is closing")
                                 : absl::DeadlineExceededError("the call's deadline passed"));
  });
}

}  // namespace sfroute

#endif  // SFROUTE_SRC_EXECUTOR_IMPL_H_
