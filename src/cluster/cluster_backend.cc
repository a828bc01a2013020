#include "cluster/cluster_backend.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "cluster/batch_plan.h"
#include "redis/resp.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{4};
constexpr std::chrono::milliseconds kMaxBackoff{250};

// An error that says the cluster cannot run the command now (a slot in
// migration, the cluster re-forming): it goes again after a pause.
bool SaysTryLater(std::string_view error) {
  return error.starts_with("TRYAGAIN") || error.starts_with("CLUSTERDOWN");
}

// A reply that says the cluster did not run the command there: it goes
// again (where a redirect says, or after a pause).
bool IsRefusal(const Reply& reply) {
  if (!reply.is_error()) return false;
  const std::string& error = reply.str;
  return error.starts_with("MOVED ") || error.starts_with("ASK ") || SaysTryLater(error);
}

// Where a part goes next when the slot map is not to be trusted for it.
struct Hop {
  std::optional<HostPort> target;  // from MOVED or ASK
  bool asking = false;             // ASK: send ASKING right before it
};

class Call;

constexpr std::string_view kAskingCommand = "*1\r\n$6\r\nASKING\r\n";

// The pipeline of one node in one attempt, encoded straight from the
// plan's parts (which point into the caller's batch) as it is sent: a call
// copies no command.
struct NodeBatch {
  Call* call = nullptr;
  HostPort node;
  NodeSender* connections = nullptr;
  // Its commands: the call's sequence_[begin, end), each a part, or -1
  // for ASKING.
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t commands = 0;  // while an attempt places its parts
  // Set by the thread that reads them; read once every node has answered.
  absl::StatusOr<std::vector<Reply>> replies;
};

// One Send across its attempts. Its parts' replies come back on whichever
// threads read them; the last one of an attempt goes on with the call.
class Call : public StopTarget, public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<Topology> topology, std::shared_ptr<EventLoop> loop, BatchPlan plan,
       const Batch& batch, std::shared_ptr<CallControl> control, BatchDone done,
       SteadyClock::time_point start, SteadyClock::time_point give_up)
      : topology_(std::move(topology)),
        loop_(std::move(loop)),
        plan_(std::move(plan)),
        exclusive_(batch.exclusive_connection),
        caller_waits_(batch.caller_waits),
        control_(std::move(control)),
        done_(std::move(done)),
        start_(start),
        give_up_(give_up),
        replies_(plan_.parts.size()),
        answered_(plan_.parts.size(), 0),
        unanswered_(plan_.parts.size()) {}

  // Stopped while it waits for its backoff (while it is out on the nodes,
  // the requests there are stopped, and the attempt ends with them).
  void Stop(const absl::Status& why) override {
    if (waiting_.load()) Finish(NotSent(why));
  }

  // The first attempt was the direct send of the whole batch to `node`
  // (ClusterBackend::Send); the call goes on from its replies.
  void AfterDirectSend(const HostPort& node, absl::StatusOr<std::vector<Reply>> replies) {
    ++attempts_;
    NodeBatch& sent = batches_.emplace_back();
    sent.call = this;
    sent.node = node;
    sequence_.resize(plan_.parts.size());
    for (std::size_t part = 0; part < plan_.parts.size(); ++part) {
      sequence_[part] = static_cast<int>(part);  // one part per command: one slot
    }
    sent.end = sequence_.size();
    sent.replies = std::move(replies);
    AfterRoundTrip();
  }

  void OnNodeReplies(NodeBatch& batch, absl::StatusOr<std::vector<Reply>> replies) {
    batch.replies = std::move(replies);
    if (outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1) AfterRoundTrip();
  }

  void Attempt() {
    waiting_.store(false);
    if (finished_.load()) return;
    if (control_ != nullptr && control_->is_stopped()) {
      Finish(NotSent(control_->stopped()));
      return;
    }
    ++attempts_;
    if (const Routes* routes = topology_->Fresh()) {
      SendOnce(*routes);
      return;
    }
    topology_->Map(
        [self = shared_from_this()](absl::StatusOr<std::shared_ptr<const Routes>> routes) {
          if (routes.ok()) {
            self->SendOnce(**routes);
          } else if (absl::Status status = self->RetryableNotSent(routes.status()); !status.ok()) {
            self->Finish(status);
          } else {
            self->Continue();
          }
        });
  }

 private:
  // One attempt: the parts still without a reply, one pipeline per node.
  void SendOnce(const Routes& routes) {
    if (finished_.load()) return;  // the plan may point at a batch gone by now
    batches_.reserve(std::min(unanswered_, routes.primaries.size()));
    batch_of_primary_.assign(routes.primaries.size(), -1);
    // Each part's pipeline, then each pipeline's commands in one sequence.
    const std::size_t parts = plan_.parts.size();
    placed_.assign(parts, kNotSent);
    for (std::size_t part = 0; part < parts; ++part) {
      if (!answered_[part]) placed_[part] = Place(part, routes);
    }
    std::size_t next = 0;
    for (NodeBatch& batch : batches_) {
      batch.begin = batch.end = next;
      next += batch.commands;
    }
    sequence_.resize(next);
    NodeBatch* const batches = batches_.data();  // as it is until the attempt ends
    for (std::size_t part = 0; part < parts; ++part) {
      const int placed = placed_[part];
      if (placed == kNotSent) continue;
      NodeBatch& batch = batches[placed >> 1];
      if ((placed & kAsking) != 0) sequence_[batch.end++] = -1;
      sequence_[batch.end++] = static_cast<int>(part);
    }
    // One count more than there are batches, given back below: a batch
    // answered at once (inside Send) cannot end the attempt while others
    // are still to be sent. batches_ stays as it is until the attempt ends.
    outstanding_.store(batches_.size() + 1, std::memory_order_relaxed);
    EncodeBuffer buffer;  // read before SendWire returns: one for every node
    for (NodeBatch& node_batch : batches_) {
      std::string& bytes = buffer.bytes();
      bytes.clear();
      Encode(node_batch, bytes);
      // Points at its batch and owns the call: small enough for the
      // callback to hold without an allocation.
      std::shared_ptr<NodeBatch> batch(shared_from_this(), &node_batch);
      node_batch.connections->SendWire(WireBatch{bytes, node_batch.end - node_batch.begin,
                                                 exclusive_, caller_waits_, CheckedBy{}},
                                       control_, [batch](auto replies) {
                                         batch->call->OnNodeReplies(*batch, std::move(replies));
                                       });
    }
    if (outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1) AfterRoundTrip();
  }

  // Every node of the attempt answered (or failed): take the final replies,
  // note the refusals, and go on.
  void AfterRoundTrip() {
    absl::InlinedVector<NodeBatch, 1> batches;
    batches.swap(batches_);
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
      for (std::size_t i = batch.begin; i < batch.end; ++i) {
        const int part = sequence_[i];
        if (Hop* hop = part >= 0 ? RouteOf(static_cast<std::size_t>(part)) : nullptr)
          *hop = Hop{};  // the (reloaded) map
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

  // The pipeline `part` goes in (made on first use), as its index in
  // batches_ times 2, plus kAsking when ASKING must go before it;
  // kNotSent when no node serves its slot.
  int Place(std::size_t part, const Routes& routes) {
    // A keyless part (WAIT) goes where the anchor goes.
    const bool keyless = plan_.parts[part].slot < 0;
    const std::size_t routed = keyless && plan_.anchor ? *plan_.anchor : part;
    const Hop* hop = RouteOf(routed);
    int index;  // into batches_
    if (hop != nullptr && hop->target) {
      index = BatchOf(topology_->ConnectionsOf(*hop->target));
    } else {
      const int slot = plan_.parts[routed].slot;
      const int owner =
          slot >= 0 ? routes.map.OwnerIndex(slot) : (routes.primaries.empty() ? -1 : 0);
      if (owner < 0) {
        // An UNAVAILABLE is always worth another try after a pause.
        (void)RetryableNotSent(
            absl::UnavailableError(StrCat("slot ", slot, " is served by no node of the slot map")));
        return kNotSent;
      }
      index = batch_of_primary_[owner];
      if (index < 0) index = batch_of_primary_[owner] = BatchOf(routes.primaries[owner]);
    }
    const Hop* own = keyless ? nullptr : RouteOf(part);
    const bool asking = own != nullptr && own->asking;
    batches_[index].commands += asking ? 2 : 1;
    return index * 2 + (asking ? kAsking : 0);
  }

  // The index in batches_ of the attempt's pipeline to `target` (made on
  // first use).
  int BatchOf(const Routes::Primary& target) {
    auto batch = std::find_if(batches_.begin(), batches_.end(), [&](const NodeBatch& existing) {
      return existing.connections == target.connections;
    });
    if (batch == batches_.end()) {
      batch = &batches_.emplace_back();
      batch->call = this;
      batch->node = *target.node;
      batch->connections = target.connections;
    }
    return static_cast<int>(batch - batches_.begin());
  }

  // The node's pipeline in RESP, appended to `out` (the thread's kept
  // buffer: its room stays from call to call).
  void Encode(const NodeBatch& batch, std::string& out) const {
    for (std::size_t i = batch.begin; i < batch.end; ++i) {
      if (sequence_[i] < 0) {
        out.append(kAskingCommand);
      } else {
        AppendPart(plan_, plan_.parts[sequence_[i]], out);
      }
    }
  }

  void TakeReplies(NodeBatch& batch) {
    for (std::size_t i = 0; i < batch.replies->size(); ++i) {
      const int part = sequence_[batch.begin + i];
      if (part >= 0) TakeReply(part, batch.node, (*batch.replies)[i]);
    }
  }

  // A reply is final unless the cluster refused the command: then it did
  // not run and is sent again, where the refusal says.
  void TakeReply(std::size_t part, const HostPort& node, Reply& reply) {
    if (Hop* hop = RouteOf(part)) hop->asking = false;  // ASK holds for one try only
    if (!reply.is_error()) {
      Answer(part, reply);
      return;
    }
    const std::string& error = reply.str;
    if (auto redirect = ParseRedirect(error, node)) {
      // The first refusal of the call gives every part a route of its own.
      if (hops_.empty()) hops_.resize(plan_.parts.size());
      Hop& route = hops_[part];
      route.target = redirect->target;
      route.asking = redirect->kind == Redirect::Kind::kAsk;
      if (topology_->events() != nullptr) {
        topology_->events()->Redirected(route.asking, redirect->slot, redirect->target.Address());
      }
      // MOVED: the slot has a new owner for good; the map is behind.
      if (!route.asking) topology_->MarkStale();
    } else if (SaysTryLater(error)) {
      wants_backoff_ = true;  // a slot in migration, or the cluster re-forming
      if (error.starts_with("CLUSTERDOWN")) topology_->MarkStale();
      if (Hop* hop = RouteOf(part)) *hop = Hop{};
    } else {
      Answer(part, reply);
      return;
    }
    last_error_ = absl::UnavailableError(StrCat(node.Address(), " answered: ", error));
  }

  // WAIT runs with the anchor, on its connection. When the anchor was
  // refused, it goes again with it (WAIT is harmless to repeat).
  void ResendKeylessWithAnchor() {
    if (!plan_.anchor || answered_[*plan_.anchor]) return;
    for (std::size_t part = 0; part < plan_.parts.size(); ++part) {
      if (plan_.parts[part].slot < 0 && answered_[part]) {
        answered_[part] = 0;
        ++unanswered_;
      }
    }
  }

  void Answer(std::size_t part, Reply& reply) {
    replies_[part] = std::move(reply);
    if (!answered_[part]) {
      answered_[part] = 1;
      --unanswered_;
    }
  }

  bool Done() const { return unanswered_ == 0; }

  std::vector<Reply> Replies() { return MergeReplies(plan_, std::move(replies_)); }

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

  // A part's own route once the cluster refused something of the call;
  // null before: every part follows the slot map.
  Hop* RouteOf(std::size_t part) { return hops_.empty() ? nullptr : &hops_[part]; }

  const std::shared_ptr<Topology> topology_;
  const std::shared_ptr<EventLoop> loop_;
  BatchPlan plan_;  // points into the caller's batch, valid until Finish
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
  std::vector<Hop> hops_;  // per part once the cluster refused one; empty until then
  std::vector<Reply> replies_;
  std::vector<std::uint8_t> answered_;  // per part; 0: still to send
  std::size_t unanswered_;
  absl::Status last_error_;
  bool wants_backoff_ = false;
  std::chrono::milliseconds backoff_ = kFirstBackoff;
  int attempts_ = 0;
  // The attempt's node pipelines: built before the first is sent, left as
  // they are until the last answers (each thread that reads a node's
  // replies sets that node's), then taken by AfterRoundTrip.
  absl::InlinedVector<NodeBatch, 1> batches_;
  // The attempt's commands, pipeline after pipeline: a part, or -1 for
  // ASKING (NodeBatch::begin, end).
  std::vector<int> sequence_;
  // Per part, while an attempt places them: what Place said.
  static constexpr int kNotSent = -1;
  static constexpr int kAsking = 1;
  std::vector<int> placed_;
  // Per primary of the attempt's routes: its pipeline (index into
  // batches_), -1 while it has none.
  std::vector<int> batch_of_primary_;
};

std::shared_ptr<Call> NewCall(std::shared_ptr<Topology> topology, const Batch& batch,
                              std::shared_ptr<CallControl> control, BatchDone done) {
  const auto started = control != nullptr ? control->started() : SteadyClock::now();
  const auto give_up = started + topology->retry_budget();
  std::shared_ptr<EventLoop> loop = topology->loop();
  return std::make_shared<Call>(std::move(topology), std::move(loop), PlanBatch(batch.commands),
                                batch, std::move(control), std::move(done), started, give_up);
}

}  // namespace

ClusterBackend::ClusterBackend(std::vector<HostPort> seeds, ConnectionOptions node_options,
                               int connections, std::shared_ptr<EventLoop> loop,
                               NodeFactory factory)
    : topology_(std::make_shared<Topology>(std::move(seeds), std::move(node_options), connections,
                                           loop, std::move(factory))) {
  std::weak_ptr<Topology> weak = topology_;
  loop->Every(SweepPeriod(topology_->retry_budget()), [weak] {
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
    topology_->ConnectionsOf(*batch.node)
        .connections->Send(batch, std::move(call), std::move(done));
    return;
  }
  // Nearly every call: its keys in one slot and the slot map fresh. It goes
  // to the slot's primary as it is (no plan, no copy), its replies checked
  // on their way to `done` (Check); only when the cluster refuses some of
  // it (a redirect, TRYAGAIN) or the connection could not take it does it
  // become a Call, which retries. The batch outlives `done` (Backend's
  // contract), so that Call can still plan it.
  if (const Routes* routes = topology_->Fresh()) {
    if (const int slot = OneSlot(batch.commands); slot >= 0) {
      if (const auto primary = routes->Of(slot)) {
        primary->connections->Send(batch, std::move(call), std::move(done),
                                   CheckedBy{this, &batch, primary->node});
        return;
      }
    }
  }
  NewCall(topology_, batch, std::move(call), std::move(done))->Attempt();
}

void ClusterBackend::Check(const CheckedBy& sent, const std::shared_ptr<CallControl>& call,
                           BatchDone done, absl::StatusOr<std::vector<Reply>> replies) {
  if (replies.ok() && std::none_of(replies->begin(), replies->end(), IsRefusal)) {
    std::move(done)(std::move(replies));
    return;
  }
  NewCall(topology_, *sent.batch, call, std::move(done))
      ->AfterDirectSend(*sent.node, std::move(replies));
}

ClusterBackend::~ClusterBackend() {
  topology_->Shutdown(absl::CancelledError("the cluster backend is closing"));
}

void ClusterBackend::Nodes(NodesDone done) {
  topology_->Map(
      [done = std::move(done)](absl::StatusOr<std::shared_ptr<const Routes>> routes) mutable {
        if (!routes.ok()) {
          std::move(done)(routes.status());
          return;
        }
        std::move(done)((*routes)->map.primaries());
      });
}

}  // namespace sfroute::internal
