#include "cluster/cluster_backend.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "cluster/batch_plan.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{4};
constexpr std::chrono::milliseconds kMaxBackoff{250};

// Where a part goes next when the slot map is not to be trusted for it.
struct Route {
  std::optional<HostPort> target;  // from MOVED or ASK
  bool asking = false;             // ASK: send ASKING right before it
};

// The pipeline of one node in one attempt.
struct NodeBatch {
  HostPort node;
  std::shared_ptr<NodeConnections> connections;
  std::vector<Command> commands;
  std::vector<int> part_of;  // per command: its part; -1 for ASKING
  absl::StatusOr<std::vector<Reply>> replies;
};

// One Send across its attempts. Its parts' replies come back on whichever
// threads read them; the last one of an attempt goes on with the call.
class Call : public StopTarget, public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<Topology> topology, std::shared_ptr<EventLoop> loop, BatchPlan plan,
       const Batch& batch, std::shared_ptr<CallControl> control, BatchDone done,
       SteadyClock::time_point give_up)
      : topology_(std::move(topology)),
        loop_(std::move(loop)),
        plan_(std::move(plan)),
        exclusive_(batch.exclusive_connection),
        caller_waits_(batch.caller_waits),
        control_(std::move(control)),
        done_(std::move(done)),
        start_(SteadyClock::now()),
        give_up_(give_up),
        routes_(plan_.parts.size()),
        replies_(plan_.parts.size()) {}

  // Stopped while it waits for its backoff (while it is out on the nodes,
  // the requests there are stopped, and the attempt ends with them).
  void Stop(const absl::Status& why) override {
    if (waiting_.load()) Finish(NotSent(why));
  }

  void Attempt() {
    waiting_.store(false);
    if (finished_.load()) return;
    if (control_ != nullptr && control_->is_stopped()) {
      Finish(NotSent(control_->stopped()));
      return;
    }
    ++attempts_;
    topology_->Map([self = shared_from_this()](auto map) { self->OnMap(std::move(map)); });
  }

 private:
  void OnMap(absl::StatusOr<std::shared_ptr<const SlotMap>> map) {
    if (!map.ok()) {
      if (absl::Status status = RetryableNotSent(map.status()); !status.ok()) {
        Finish(status);
      } else {
        Continue();
      }
      return;
    }
    std::vector<NodeBatch> batches;
    std::map<std::string, std::size_t> batch_of;  // node address -> index
    for (std::size_t part = 0; part < plan_.parts.size(); ++part) {
      if (!replies_[part]) AddToBatch(part, **map, batches, batch_of);
    }
    std::vector<std::pair<std::shared_ptr<NodeConnections>, Batch>> sends;
    for (const NodeBatch& batch : batches) {
      sends.emplace_back(batch.connections, Batch{batch.commands, exclusive_, caller_waits_});
    }
    {
      MutexLock lock(&mutex_);
      batches_ = std::move(batches);
    }
    // One count more than there are batches, given back below: a batch
    // answered at once (inside Send) cannot end the attempt while others
    // are still to be sent.
    outstanding_.store(sends.size() + 1);
    for (std::size_t i = 0; i < sends.size(); ++i) {
      sends[i].first->Send(sends[i].second, control_, [self = shared_from_this(), i](auto replies) {
        self->OnNodeReplies(i, std::move(replies));
      });
    }
    if (outstanding_.fetch_sub(1) == 1) AfterRoundTrip();
  }

  void OnNodeReplies(std::size_t index, absl::StatusOr<std::vector<Reply>> replies) {
    {
      MutexLock lock(&mutex_);
      batches_[index].replies = std::move(replies);
    }
    if (outstanding_.fetch_sub(1) == 1) AfterRoundTrip();
  }

  // Every node of the attempt answered (or failed): take the final replies,
  // note the refusals, and go on.
  void AfterRoundTrip() {
    std::vector<NodeBatch> batches;
    {
      MutexLock lock(&mutex_);  // the replies other threads left
      batches.swap(batches_);
    }
    for (NodeBatch& batch : batches) {
      if (batch.replies.ok()) {
        TakeReplies(batch);
        continue;
      }
      const absl::Status& status = batch.replies.status();
      if (!IsNotSent(status)) {
        topology_->MarkStale();  // maybe a failover: find out on the next call
        Finish(status);
        return;
      }
      if (absl::Status final_status = RetryableNotSent(status); !final_status.ok()) {
        Finish(final_status);
        return;
      }
      for (int part : batch.part_of) {
        if (part >= 0) routes_[part] = Route{};  // back to the (reloaded) map
      }
    }
    ResendKeylessWithAnchor();
    Continue();
  }

  void Continue() {
    if (Done()) {
      Finish(Replies());
      return;
    }
    if (attempts_ >= ClusterBackend::kMaxAttempts) {
      Finish(GaveUp());
      return;
    }
    if (!wants_backoff_) {
      Attempt();
      return;
    }
    wants_backoff_ = false;
    const auto resume = SteadyClock::now() + backoff_;
    if (resume > give_up_) {
      Finish(GaveUp());
      return;
    }
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    // Waiting on the loop, not on a caller's thread; a stop meanwhile ends
    // the call at once.
    waiting_.store(true);
    if (control_ != nullptr) control_->OnStop(shared_from_this());
    loop_->RunAt(resume, [self = shared_from_this()] { self->Attempt(); });
  }

  // A failure where nothing reached the node: safe to send again after a
  // pause (OK is returned), unless the node refused our credentials, the
  // call was stopped, or the executor is closing.
  absl::Status RetryableNotSent(const absl::Status& status) {
    if (status.code() == absl::StatusCode::kPermissionDenied ||
        status.code() == absl::StatusCode::kDeadlineExceeded ||
        status.code() == absl::StatusCode::kCancelled ||
        status.code() == absl::StatusCode::kInvalidArgument) {
      return status;
    }
    topology_->MarkStale();
    last_error_ = status;
    wants_backoff_ = true;
    return absl::OkStatus();
  }

  void AddToBatch(std::size_t part, const SlotMap& map, std::vector<NodeBatch>& batches,
                  std::map<std::string, std::size_t>& batch_of) {
    // A keyless part (WAIT) goes where the anchor goes.
    const bool keyless = plan_.parts[part].slot < 0;
    const std::size_t routed = keyless && plan_.anchor ? *plan_.anchor : part;
    const Route& route = routes_[routed];
    const HostPort* node = route.target ? &*route.target : nullptr;
    if (node == nullptr) {
      const int slot = plan_.parts[routed].slot;
      node = slot >= 0 ? map.PrimaryOf(slot) : &map.primaries().front();
    }
    if (node == nullptr) {
      // An UNAVAILABLE is always worth another try after a pause.
      (void)RetryableNotSent(absl::UnavailableError(
          StrCat("slot ", plan_.parts[routed].slot, " is served by no node of the slot map")));
      return;
    }
    auto [it, added] = batch_of.emplace(node->Address(), batches.size());
    if (added) {
      batches.emplace_back();
      batches.back().node = *node;
      batches.back().connections = topology_->ConnectionsOf(*node);
    }
    NodeBatch& batch = batches[it->second];
    if (!keyless && routes_[part].asking) {
      batch.commands.push_back(Command{{"ASKING"}});
      batch.part_of.push_back(-1);
    }
    batch.commands.push_back(plan_.parts[part].command);
    batch.part_of.push_back(static_cast<int>(part));
  }

  void TakeReplies(NodeBatch& batch) {
    for (std::size_t i = 0; i < batch.replies->size(); ++i) {
      if (batch.part_of[i] >= 0) TakeReply(batch.part_of[i], batch.node, (*batch.replies)[i]);
    }
  }

  // A reply is final unless the cluster refused the command: then it did
  // not run and is sent again, where the refusal says.
  void TakeReply(std::size_t part, const HostPort& node, Reply& reply) {
    Route& route = routes_[part];
    route.asking = false;  // ASK holds for one try only
    if (!reply.is_error()) {
      replies_[part] = std::move(reply);
      return;
    }
    const std::string& error = reply.str;
    if (auto redirect = ParseRedirect(error, node)) {
      route.target = redirect->target;
      route.asking = redirect->kind == Redirect::Kind::kAsk;
      if (topology_->events() != nullptr) {
        topology_->events()->Redirected(route.asking, redirect->slot, redirect->target.Address());
      }
      // MOVED: the slot has a new owner for good; the map is behind.
      if (!route.asking) topology_->MarkStale();
    } else if (error.starts_with("TRYAGAIN") || error.starts_with("CLUSTERDOWN")) {
      wants_backoff_ = true;  // a slot in migration, or the cluster re-forming
      if (error.starts_with("CLUSTERDOWN")) topology_->MarkStale();
      route = Route{};
    } else {
      replies_[part] = std::move(reply);
      return;
    }
    last_error_ = absl::UnavailableError(StrCat(node.Address(), " answered: ", error));
  }

  // WAIT runs with the anchor, on its connection. When the anchor was
  // refused, it goes again with it (WAIT is harmless to repeat).
  void ResendKeylessWithAnchor() {
    if (!plan_.anchor || replies_[*plan_.anchor]) return;
    for (std::size_t part = 0; part < plan_.parts.size(); ++part) {
      if (plan_.parts[part].slot < 0) replies_[part].reset();
    }
  }

  bool Done() const {
    return std::all_of(replies_.begin(), replies_.end(), [](const auto& reply) { return reply; });
  }

  std::vector<Reply> Replies() {
    std::vector<Reply> parts;
    parts.reserve(replies_.size());
    for (auto& reply : replies_) parts.push_back(*std::move(reply));
    return MergeReplies(plan_, std::move(parts));
  }

  absl::Status GaveUp() const {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start_);
    return absl::UnavailableError(StrCat("cluster: gave up after ", attempts_, " attempts in ",
                                         elapsed.count(), " ms; last: ", last_error_.message()));
  }

  void Finish(absl::StatusOr<std::vector<Reply>> result) {
    if (finished_.exchange(true)) return;
    std::move(done_)(std::move(result));
  }

  const std::shared_ptr<Topology> topology_;
  const std::shared_ptr<EventLoop> loop_;
  const BatchPlan plan_;
  const bool exclusive_;
  const bool caller_waits_;
  const std::shared_ptr<CallControl> control_;
  BatchDone done_;
  const SteadyClock::time_point start_;
  const SteadyClock::time_point give_up_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> waiting_{false};  // for a backoff: nothing of it is out
  std::atomic<std::size_t> outstanding_{0};

  // Touched by one thread at a time: the one running the attempt, then the
  // one that received its last node's replies.
  std::vector<Route> routes_;
  std::vector<std::optional<Reply>> replies_;  // empty: still to send
  absl::Status last_error_;
  bool wants_backoff_ = false;
  std::chrono::milliseconds backoff_ = kFirstBackoff;
  int attempts_ = 0;
  Mutex mutex_;
  // The attempt's node pipelines; their replies are set by the threads
  // that read them.
  std::vector<NodeBatch> batches_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace

ClusterBackend::ClusterBackend(std::vector<HostPort> seeds, ConnectionOptions node_options,
                               int connections, std::shared_ptr<EventLoop> loop)
    : retry_budget_(node_options.command_timeout),
      loop_(loop),
      topology_(std::make_shared<Topology>(std::move(seeds), std::move(node_options), connections,
                                           loop)) {
  std::weak_ptr<Topology> weak = topology_;
  loop->Every(SweepPeriod(retry_budget_), [weak] {
    auto topology = weak.lock();
    if (topology == nullptr) return false;
    topology->Sweep(SteadyClock::now());
    return true;
  });
}

void ClusterBackend::Send(const Batch& batch, std::shared_ptr<CallControl> call, BatchDone done) {
  if (batch.commands.empty()) {
    std::move(done)(std::vector<Reply>{});
    return;
  }
  if (batch.node.has_value()) {
    topology_->ConnectionsOf(*batch.node)->Send(batch, std::move(call), std::move(done));
    return;
  }
  auto cluster_call =
      std::make_shared<Call>(topology_, loop_, PlanBatch(batch.commands), batch, std::move(call),
                             std::move(done), SteadyClock::now() + retry_budget_);
  cluster_call->Attempt();
}

void ClusterBackend::Nodes(NodesDone done) {
  topology_->Map(
      [done = std::move(done)](absl::StatusOr<std::shared_ptr<const SlotMap>> map) mutable {
        if (!map.ok()) {
          std::move(done)(map.status());
          return;
        }
        std::move(done)((*map)->primaries());
      });
}

}  // namespace sfroute::internal
