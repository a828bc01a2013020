#include "cluster/cluster_backend.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
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
  bool sent = false;         // from here on, its commands may have run
  absl::Status status;
  std::vector<Reply> replies;
};

// Sends every node's pipeline, then waits for each: the nodes work in
// parallel.
void RoundTrip(std::map<std::string, NodeBatch>& batches) {
  std::vector<std::pair<NodeBatch*, InFlight>> in_flight;
  in_flight.reserve(batches.size());
  for (auto& [address, batch] : batches) {
    auto sent = batch.connections->Send(batch.commands);
    if (sent.ok()) {
      batch.sent = true;
      in_flight.emplace_back(&batch, *std::move(sent));
    } else {
      batch.status = sent.status();
    }
  }
  for (auto& [batch, replies] : in_flight) {
    auto received = replies.Wait();
    if (received.ok()) {
      batch->replies = *std::move(received);
    } else {
      batch->status = received.status();
    }
  }
}

// The state of one Execute call across its attempts.
class Call {
 public:
  Call(Topology& topology, BatchPlan plan)
      : topology_(topology),
        plan_(std::move(plan)),
        routes_(plan_.parts.size()),
        replies_(plan_.parts.size()) {}

  // One attempt: sends every part without a final reply. A failure that
  // ends the call (a command that may have run was cut off, or the
  // credentials are refused) is returned; else OK, even if parts remain.
  absl::Status Attempt() {
    auto map = topology_.Map();
    if (!map.ok()) return NotSent(map.status());
    std::map<std::string, NodeBatch> batches;
    for (std::size_t part = 0; part < plan_.parts.size(); ++part) {
      if (!replies_[part]) AddToBatch(part, **map, batches);
    }
    RoundTrip(batches);
    for (auto& [address, batch] : batches) {
      if (batch.status.ok()) {
        TakeReplies(batch);
      } else if (batch.sent) {
        topology_.MarkStale();  // maybe a failover: find out on the next call
        return batch.status;
      } else if (absl::Status status = NotSent(batch.status); !status.ok()) {
        return status;
      } else {
        for (int part : batch.part_of) {
          if (part >= 0) routes_[part] = Route{};  // back to the (reloaded) map
        }
      }
    }
    ResendKeylessWithAnchor();
    return absl::OkStatus();
  }

  bool done() const {
    for (const auto& reply : replies_) {
      if (!reply) return false;
    }
    return true;
  }
  bool wants_backoff() const { return wants_backoff_; }
  void clear_backoff() { wants_backoff_ = false; }
  const absl::Status& last_error() const { return last_error_; }

  std::vector<Reply> Replies() {
    std::vector<Reply> parts;
    parts.reserve(replies_.size());
    for (auto& reply : replies_) parts.push_back(*std::move(reply));
    return MergeReplies(plan_, std::move(parts));
  }

 private:
  // Nothing reached the node: safe to send again after a pause, unless the
  // node refused our credentials or took the whole time allowed to connect.
  absl::Status NotSent(const absl::Status& status) {
    if (status.code() == absl::StatusCode::kPermissionDenied ||
        status.code() == absl::StatusCode::kDeadlineExceeded) {
      return status;
    }
    RetryLater(status);
    return absl::OkStatus();
  }

  void RetryLater(const absl::Status& why) {
    topology_.MarkStale();
    last_error_ = why;
    wants_backoff_ = true;
  }

  void AddToBatch(std::size_t part, const SlotMap& map, std::map<std::string, NodeBatch>& batches) {
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
      RetryLater(absl::UnavailableError(
          StrCat("slot ", plan_.parts[routed].slot, " is served by no node of the slot map")));
      return;
    }
    NodeBatch& batch = batches[node->Address()];
    if (batch.connections == nullptr) {
      batch.node = *node;
      batch.connections = topology_.ConnectionsOf(*node);
    }
    if (!keyless && routes_[part].asking) {
      batch.commands.push_back(Command{{"ASKING"}});
      batch.part_of.push_back(-1);
    }
    batch.commands.push_back(plan_.parts[part].command);
    batch.part_of.push_back(static_cast<int>(part));
  }

  void TakeReplies(NodeBatch& batch) {
    for (std::size_t i = 0; i < batch.replies.size(); ++i) {
      if (batch.part_of[i] >= 0) TakeReply(batch.part_of[i], batch.node, batch.replies[i]);
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
      // MOVED: the slot has a new owner for good; the map is behind.
      if (!route.asking) topology_.MarkStale();
    } else if (error.starts_with("TRYAGAIN") || error.starts_with("CLUSTERDOWN")) {
      wants_backoff_ = true;  // a slot in migration, or the cluster re-forming
      if (error.starts_with("CLUSTERDOWN")) topology_.MarkStale();
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

  Topology& topology_;
  const BatchPlan plan_;
  std::vector<Route> routes_;
  std::vector<std::optional<Reply>> replies_;  // empty: still to send
  absl::Status last_error_;
  bool wants_backoff_ = false;
};

}  // namespace

ClusterBackend::ClusterBackend(std::vector<HostPort> seeds, ConnectionOptions node_options,
                               int connections, std::shared_ptr<IoLoop> loop)
    : retry_budget_(node_options.command_timeout),
      topology_(std::move(seeds), std::move(node_options), connections, std::move(loop)) {}

absl::StatusOr<std::vector<Reply>> ClusterBackend::Execute(const std::vector<Command>& commands) {
  if (commands.empty()) return std::vector<Reply>{};
  Call call(topology_, PlanBatch(commands));
  std::chrono::milliseconds backoff = kFirstBackoff;
  const auto start = std::chrono::steady_clock::now();
  const auto give_up = start + retry_budget_;
  int attempts = 0;
  while (attempts < kMaxAttempts) {
    if (call.wants_backoff()) {
      if (std::chrono::steady_clock::now() + backoff > give_up) break;
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
      call.clear_backoff();
    }
    ++attempts;
    if (absl::Status status = call.Attempt(); !status.ok()) return status;
    if (call.done()) return call.Replies();
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return absl::UnavailableError(StrCat("cluster: gave up after ", attempts, " attempts in ",
                                       elapsed.count(),
                                       " ms; last: ", call.last_error().message()));
}

}  // namespace sfroute::internal
