#include "sentinel/sentinel_backend.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "sentinel/sentinel_master.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{4};
constexpr std::chrono::milliseconds kMaxBackoff{250};

bool IsReadOnly(const Reply& reply) {
  return reply.is_error() && reply.str.starts_with("READONLY");
}

// Whether the server provably ran nothing of the batch, so that it may go
// to the master found again: every command was refused with READONLY, WAIT
// aside. A read-only replica refuses every write before it happens, and a
// script stops at its first write (ours call redis.call, never pcall): one
// that answers READONLY wrote nothing, whatever it read before. WAIT writes
// nothing (a replica refuses it with another error). A batch with any
// other reply was run, at least in part: its replies are the caller's.
bool RefusedByReplica(const std::vector<Command>& commands, const std::vector<Reply>& replies) {
  bool refused = false;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (IsReadOnly(replies[i])) {
      refused = true;
    } else if (commands[i].args.empty() || commands[i].args[0] != "WAIT") {
      return false;
    }
  }
  return refused;
}

// One Send across its attempts: wait for the master, send, and on a
// failure that proves nothing ran, pause and go again, until the call's
// deadline.
class Call : public StopTarget, public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<SentinelMaster> master, std::shared_ptr<EventLoop> loop, const Batch& batch,
       std::shared_ptr<CallControl> control, BatchDone done, SteadyClock::time_point give_up)
      : master_(std::move(master)),
        loop_(std::move(loop)),
        batch_(batch),
        control_(std::move(control)),
        done_(std::move(done)),
        start_(SteadyClock::now()),
        give_up_(give_up) {}

  // Stopped while it waits (for the master, or its pause): nothing of it
  // is out. While it is out on a connection, the request there is stopped.
  void Stop(const absl::Status& why) override {
    if (waiting_.exchange(false)) Finish(NotSent(WithLastFailure(why)));
  }

  void Attempt() {
    if (control_ != nullptr && control_->is_stopped()) {
      Finish(NotSent(control_->stopped()));
      return;
    }
    ++attempts_;
    waiting_.store(true);
    master_->Get(give_up_, [self = shared_from_this()](absl::StatusOr<MasterNode> master) {
      if (!self->waiting_.exchange(false)) return;  // stopped meanwhile
      self->OnMaster(std::move(master));
    });
    // A lookup under way: bounded by the call's deadline, not by how long
    // the sentinels take.
    if (waiting_.load()) WaitNoLongerThanDeadline();
  }

 private:
  void OnMaster(absl::StatusOr<MasterNode> master) {
    if (!master.ok()) {
      // The lookup waited for a failover as long as the call could.
      Finish(master.status());
      return;
    }
    if (batch_.node.has_value() && *batch_.node != master->node) {
      Finish(
          absl::UnavailableError(StrCat("sentinel: the master '", master_->name(), "' moved from ",
                                        batch_.node->Address(), " to ", master->node.Address(),
                                        " (a SCAN cursor of one server means nothing on "
                                        "another: start again); nothing was sent")));
      return;
    }
    master->connections->Send(batch_, control_,
                              [self = shared_from_this(), node = master->node](auto replies) {
                                self->OnReplies(node, std::move(replies));
                              });
  }

  void OnReplies(const HostPort& node, absl::StatusOr<std::vector<Reply>> replies) {
    if (!replies.ok()) {
      // A lost connection (or a silent server): maybe a failover.
      if (replies.status().code() == absl::StatusCode::kUnavailable) master_->Suspect(node);
      if (IsNotSent(replies.status())) {
        RetryOrFinish(replies.status());
      } else {
        Finish(replies.status());  // it may have run: never sent again
      }
      return;
    }
    if (std::any_of(replies->begin(), replies->end(), IsReadOnly)) {
      master_->Suspect(node);  // a demoted master
      if (RefusedByReplica(batch_.commands, *replies)) {
        RetryOrFinish(
            absl::UnavailableError(StrCat(node.Address(), " answered: ", replies->front().str)));
        return;
      }
    }
    Finish(std::move(replies));
  }

  // A failure where nothing ran: once more after a pause, unless the
  // credentials were refused, the call was stopped, the executor is
  // closing, or the pause would end past the call's deadline.
  void RetryOrFinish(const absl::Status& status) {
    if (status.code() != absl::StatusCode::kUnavailable) {
      Finish(NotSent(status));
      return;
    }
    last_error_ = status;
    const auto resume = SteadyClock::now() + backoff_;
    if (resume > give_up_) {
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start_);
      Finish(NotSent(absl::UnavailableError(
          StrCat("sentinel: gave up after ", attempts_, " attempt(s) in ", elapsed.count(),
                 " ms; last: ", last_error_.message(), "; nothing was sent"))));
      return;
    }
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    // Waiting on the loop, not on a caller's thread.
    waiting_.store(true);
    WaitNoLongerThanDeadline();
    loop_->RunAt(resume, [self = shared_from_this()] {
      if (self->waiting_.exchange(false)) self->Attempt();
    });
  }

  // While the call waits, its stop (a cancel, a sync caller's deadline)
  // ends it at once; so does a timer at its deadline (an async call with
  // the default deadline has no other).
  void WaitNoLongerThanDeadline() {
    if (registered_.exchange(true)) return;
    if (control_ != nullptr && control_->stoppable()) control_->OnStop(shared_from_this());
    loop_->RunAt(give_up_, [weak = weak_from_this()] {
      auto self = weak.lock();
      if (self == nullptr || !self->waiting_.exchange(false)) return;
      const bool deadline = self->control_ != nullptr && self->control_->explicit_deadline();
      self->Finish(NotSent(self->WithLastFailure(
          deadline ? absl::DeadlineExceededError("the call's deadline passed")
                   : absl::UnavailableError(StrCat("sentinel: no master '", self->master_->name(),
                                                   "' within the command timeout")))));
    });
  }

  // `why` a waiting call ends, with what kept it waiting; only while it
  // waits (last_error_ is not written then).
  absl::Status WithLastFailure(const absl::Status& why) {
    absl::Status last = master_->last_failure();
    if (last.ok()) last = last_error_;
    if (last.ok()) return why;
    return absl::Status(why.code(),
                        StrCat(why.message(), " while waiting for the master '", master_->name(),
                               "' (last: ", last.message(), "); nothing was sent"));
  }

  void Finish(absl::StatusOr<std::vector<Reply>> result) {
    if (finished_.exchange(true)) return;
    std::move(done_)(std::move(result));
  }

  const std::shared_ptr<SentinelMaster> master_;
  const std::shared_ptr<EventLoop> loop_;
  const Batch batch_;
  const std::shared_ptr<CallControl> control_;
  BatchDone done_;
  const SteadyClock::time_point start_;
  const SteadyClock::time_point give_up_;
  std::atomic<bool> finished_{false};
  // For the master or for a pause: nothing of the call is out.
  std::atomic<bool> waiting_{false};
  // Touched by one thread at a time: the one running the attempt.
  absl::Status last_error_;
  std::chrono::milliseconds backoff_ = kFirstBackoff;
  int attempts_ = 0;
  // The stop and the deadline timer are set up once. Atomic: the attempt's
  // thread may get here after Get() while the loop already goes on with
  // the call.
  std::atomic<bool> registered_{false};
};

}  // namespace

SentinelBackend::SentinelBackend(std::vector<ConnectionOptions> sentinels, std::string master_name,
                                 ConnectionOptions master_options, int connections,
                                 std::shared_ptr<EventLoop> loop)
    : loop_(loop),
      command_timeout_(master_options.command_timeout),
      master_(std::make_shared<SentinelMaster>(std::move(sentinels), std::move(master_name),
                                               std::move(master_options), connections, loop)) {
  std::weak_ptr<SentinelMaster> weak = master_;
  loop->Every(SweepPeriod(command_timeout_), [weak] {
    auto master = weak.lock();
    if (master == nullptr) return false;
    master->Sweep(SteadyClock::now());
    return true;
  });
  loop->Every(kRecheckPeriod, [weak] {
    auto master = weak.lock();
    if (master == nullptr) return false;
    master->Recheck();
    return true;
  });
}

void SentinelBackend::Send(const Batch& batch, std::shared_ptr<CallControl> call, BatchDone done) {
  if (batch.commands.empty()) {
    std::move(done)(std::vector<Reply>{});
    return;
  }
  // A call waits for the master no longer than its deadline; one without
  // a control, the command timeout.
  const SteadyClock::time_point give_up =
      call != nullptr ? call->deadline() : SteadyClock::now() + command_timeout_;
  auto sentinel_call =
      std::make_shared<Call>(master_, loop_, batch, std::move(call), std::move(done), give_up);
  sentinel_call->Attempt();
}

void SentinelBackend::Nodes(NodesDone done) {
  master_->Get(SteadyClock::now() + command_timeout_,
               [done = std::move(done)](absl::StatusOr<MasterNode> master) mutable {
                 if (!master.ok()) {
                   std::move(done)(master.status());
                   return;
                 }
                 std::move(done)(std::vector<HostPort>{master->node});
               });
}

void SentinelBackend::Shutdown(const absl::Status& why) { master_->Shutdown(why); }

}  // namespace sfroute::internal
