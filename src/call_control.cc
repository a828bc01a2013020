#include "call_control.h"

#include <utility>

#include "absl/strings/cord.h"

namespace sfroute {

void Cancellation::Cancel() const {
  std::unordered_map<std::uint64_t, std::weak_ptr<internal::CallControl>> calls;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return;
    cancelled_ = true;
    calls.swap(calls_);
  }
  const absl::Status why = absl::CancelledError("cancelled by the caller");
  for (auto& [id, weak] : calls) {
    if (auto call = weak.lock()) call->Stop(why);
  }
}

bool Cancellation::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

namespace internal {
namespace {

constexpr char kNotSentKey[] = "sfroute/not-sent";

}  // namespace

absl::Status NotSent(absl::Status status) {
  if (!status.ok()) status.SetPayload(kNotSentKey, absl::Cord("1"));
  return status;
}

bool IsNotSent(const absl::Status& status) { return status.GetPayload(kNotSentKey).has_value(); }

CallControl::~CallControl() { Finish(); }

void CallControl::Watch(const std::shared_ptr<const Cancellation>& cancellation,
                        std::weak_ptr<CallControl> self) {
  if (cancellation == nullptr) return;
  bool cancelled = false;
  {
    std::lock_guard<std::mutex> lock(cancellation->mutex_);
    cancelled = cancellation->cancelled_;
    if (!cancelled) {
      const std::uint64_t id = cancellation->next_id_++;
      cancellation->calls_.emplace(id, std::move(self));
      std::lock_guard<std::mutex> own(mutex_);
      cancellation_ = cancellation;
      cancellation_id_ = id;
      registered_.store(true);
    }
  }
  if (cancelled) Stop(absl::CancelledError("cancelled by the caller before it started"));
}

void CallControl::OnStop(std::shared_ptr<StopTarget> target) {
  // Flagged before finished_ is read, as Finish sets finished_ before it
  // reads this flag (both sequentially consistent): a Finish that runs
  // meanwhile either sees the flag and lets the target go, or this sees
  // finished_ and holds nothing. Else a target held past Finish would
  // keep the call, and the call the target, alive for ever.
  registered_.store(true);
  absl::Status why;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_.load()) return;
    if (why_.ok()) {
      targets_.push_back(std::move(target));
      return;
    }
    why = why_;
  }
  target->Stop(why);
}

void CallControl::Stop(const absl::Status& why) {
  absl::InlinedVector<std::shared_ptr<StopTarget>, 2> targets;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!why_.ok() || finished_.load()) return;
    why_ = why;
    stopped_flag_.store(true, std::memory_order_release);
    targets.swap(targets_);
  }
  for (const auto& target : targets) target->Stop(why);
}

absl::Status CallControl::stopped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return why_;
}

void CallControl::Finish() {
  // Most calls registered no target and no cancellation: nothing to let go.
  if (finished_.exchange(true) || !registered_.load()) return;
  std::shared_ptr<const Cancellation> cancellation;
  absl::InlinedVector<std::shared_ptr<StopTarget>, 2> targets;  // let go outside the lock
  std::uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    targets.swap(targets_);
    cancellation.swap(cancellation_);
    id = cancellation_id_;
  }
  if (cancellation != nullptr) {
    std::lock_guard<std::mutex> lock(cancellation->mutex_);
    cancellation->calls_.erase(id);
  }
}

}  // namespace internal
}  // namespace sfroute
