#include "sentinel/sentinel_master.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <optional>
#include <utility>

#include "reply.h"
#include "str_cat.h"

namespace sfroute::internal {

// One lookup: the sentinels in the order asked, and what each said.
struct SentinelMaster::Lookup {
  std::vector<std::size_t> order;
  std::size_t next = 0;
  std::string said;  // "host:port: why; ..." of the sentinels skipped
  bool all_denied = true;
  bool named = false;       // a sentinel named a master (that was not one)
  std::int64_t epoch = -1;  // the config epoch of the sentinel asked last
};

namespace {

std::vector<HostPort> NodesOf(const std::vector<ConnectionOptions>& sentinels) {
  std::vector<HostPort> nodes;
  for (const ConnectionOptions& options : sentinels) nodes.push_back(options.node);
  return nodes;
}

}  // namespace

SentinelMaster::SentinelMaster(std::vector<ConnectionOptions> sentinels, std::string name,
                               ConnectionOptions master_options, int connections,
                               std::shared_ptr<EventLoop> loop)
    : sentinels_(NodesOf(sentinels)),
      name_(std::move(name)),
      master_options_(std::move(master_options)),
      pool_size_(connections),
      loop_(std::move(loop)) {
  for (std::size_t i = 0; i < sentinels.size(); ++i) {
    ConnectionOptions options = std::move(sentinels[i]);
    options.db = 0;  // a sentinel has no databases
    sentinel_connections_.push_back(
        std::make_shared<NodeConnections>(std::move(options), 1, loop_));
    order_.push_back(i);
  }
}

void SentinelMaster::Get(SteadyClock::time_point give_up, MasterDone done) {
  std::optional<absl::StatusOr<MasterNode>> answer;
  bool start = false;
  bool later = false;
  SteadyClock::time_point when;
  {
    MutexLock lock(&mutex_);
    if (!shut_down_.ok()) {
      answer = NotSent(shut_down_);
    } else if (current_ != nullptr && !suspected_) {
      answer = *current_;
    } else {
      waiting_.push_back({give_up, std::move(done)});
      if (!looking_up_) {
        looking_up_ = true;
        when = next_lookup_;
        later = SteadyClock::now() < when;
        start = !later;
      }
    }
  }
  if (answer.has_value()) {
    std::move(done)(*std::move(answer));
  } else if (start) {
    StartLookup();
  } else if (later) {
    loop_->RunAt(when, [self = shared_from_this()] { self->StartLookup(); });
  }
}

void SentinelMaster::Suspect(const HostPort& node) {
  MutexLock lock(&mutex_);
  if (current_ != nullptr && current_->node == node) suspected_ = true;
}

void SentinelMaster::Recheck() {
  {
    MutexLock lock(&mutex_);
    // Nobody asked for the master yet, or a lookup is under way.
    if (!shut_down_.ok() || current_ == nullptr || looking_up_) return;
    looking_up_ = true;
  }
  StartLookup();
}

void SentinelMaster::StartLookup() {
  auto lookup = std::make_shared<Lookup>();
  {
    MutexLock lock(&mutex_);
    lookup->order = order_;
  }
  AskSentinel(std::move(lookup));
}

std::shared_ptr<CallControl> SentinelMaster::OwnCall() const {
  // The lookup is the client's own, not a caller's: a caller's deadline or
  // cancel does not stop it, the command timeout does.
  const auto now = SteadyClock::now();
  return std::make_shared<CallControl>(now + master_options_.command_timeout,
                                       /*explicit_deadline=*/false, now);
}

void SentinelMaster::AskSentinel(std::shared_ptr<Lookup> lookup) {
  if (lookup->next == lookup->order.size()) {
    const absl::StatusCode code =
        lookup->all_denied ? absl::StatusCode::kPermissionDenied : absl::StatusCode::kUnavailable;
    Failed(absl::Status(code, StrCat("sentinel: no master named '", name_, "' found; asked ",
                                     lookup->order.size(), " sentinel(s): ", lookup->said)),
           lookup->named);
    return;
  }
  const std::size_t sentinel = lookup->order[lookup->next++];
  auto call = OwnCall();
  sentinel_connections_[sentinel]->Send(
      Batch{{MakeCommand("SENTINEL", "get-master-addr-by-name", name_),
             MakeCommand("SENTINEL", "MASTER", name_)}},
      call,
      [self = shared_from_this(), lookup = std::move(lookup), sentinel,
       call](absl::StatusOr<std::vector<Reply>> replies) mutable {
        call->Finish();
        self->OnSentinelReply(std::move(lookup), sentinel, std::move(replies));
      });
}

void SentinelMaster::OnSentinelReply(std::shared_ptr<Lookup> lookup, std::size_t sentinel,
                                     absl::StatusOr<std::vector<Reply>> replies) {
  if (!replies.ok()) {
    Skip(std::move(lookup), sentinel, replies.status());
    return;
  }
  const Reply& reply = replies->front();
  if (reply.is_error()) {
    Skip(std::move(lookup), sentinel, StatusFromErrorReply("it", reply.str));
    return;
  }
  if (reply.type == Reply::Type::kNil) {
    Skip(std::move(lookup), sentinel,
         absl::NotFoundError(StrCat("it knows no master named '", name_, "'")));
    return;
  }
  int port = 0;
  if (reply.type == Reply::Type::kArray && reply.elements.size() == 2) {
    const std::string& text = reply.elements[1].str;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (error != std::errc() || end != text.data() + text.size() || port <= 0 || port > 65535) {
      port = 0;
    }
  }
  if (port == 0 || reply.elements[0].str.empty()) {
    Skip(std::move(lookup), sentinel,
         absl::InternalError("it answered something other than [host, port]"));
    return;
  }
  HostPort node{reply.elements[0].str, port};
  // SENTINEL MASTER's config-epoch (a sentinel user without the right to
  // run it gives none: no comparison then).
  lookup->epoch = -1;
  if (const Reply& master = (*replies)[1]; master.type == Reply::Type::kArray) {
    for (std::size_t i = 0; i + 1 < master.elements.size(); i += 2) {
      const std::string& value = master.elements[i + 1].str;
      std::int64_t epoch = 0;
      if (master.elements[i].str == "config-epoch" &&
          std::from_chars(value.data(), value.data() + value.size(), epoch).ec == std::errc()) {
        lookup->epoch = epoch;
      }
    }
  }
  std::string behind;
  {
    MutexLock lock(&mutex_);
    // Only while the master in use is not suspected: when it is, any node
    // that answers ROLE master is better than none.
    if (current_ != nullptr && !suspected_ && current_->node != node && lookup->epoch >= 0 &&
        lookup->epoch < current_epoch_) {
      behind = StrCat("it is behind: it names ", node.Address(), " in config epoch ", lookup->epoch,
                      ", the master in use ", current_->node.Address(), " came in epoch ",
                      current_epoch_);
    }
  }
  if (!behind.empty()) {
    Skip(std::move(lookup), sentinel, absl::FailedPreconditionError(behind));
    return;
  }
  CheckRole(std::move(lookup), sentinel, std::move(node));
}

std::shared_ptr<NodeConnections> SentinelMaster::ConnectionsFor(const HostPort& node) {
  MutexLock lock(&mutex_);
  if (current_ != nullptr && current_->node == node) return current_->connections;
  if (candidate_ == nullptr || candidate_->options().node != node) {
    ConnectionOptions options = master_options_;
    options.node = node;
    candidate_ = std::make_shared<NodeConnections>(std::move(options), pool_size_, loop_);
    if (!shut_down_.ok()) candidate_->Shutdown(shut_down_);
  }
  return candidate_;
}

void SentinelMaster::CheckRole(std::shared_ptr<Lookup> lookup, std::size_t sentinel,
                               HostPort node) {
  // ROLE goes on the connections the calls will use: checked where they
  // will be sent, and they are open by the time the calls come.
  MasterNode candidate{std::move(node), nullptr};
  candidate.connections = ConnectionsFor(candidate.node);
  auto call = OwnCall();
  auto connections = candidate.connections;
  connections->Send(
      Batch{{MakeCommand("ROLE")}}, call,
      [self = shared_from_this(), lookup = std::move(lookup), sentinel, call,
       candidate = std::move(candidate)](absl::StatusOr<std::vector<Reply>> replies) mutable {
        call->Finish();
        self->OnRole(std::move(lookup), sentinel, std::move(candidate), std::move(replies));
      });
}

void SentinelMaster::OnRole(std::shared_ptr<Lookup> lookup, std::size_t sentinel,
                            MasterNode candidate, absl::StatusOr<std::vector<Reply>> replies) {
  const std::string named = StrCat("it named ", candidate.node.Address(), ", which ");
  absl::Status why;
  if (!replies.ok()) {
    // The data credentials are wrong: every sentinel would name this node.
    if (replies.status().code() == absl::StatusCode::kPermissionDenied) {
      Failed(absl::PermissionDeniedError(
                 StrCat("sentinel: the master '", name_, "' at ", candidate.node.Address(),
                        " refused to log in: ", replies.status().message())),
             /*in_failover=*/false);
      return;
    }
    why = absl::UnavailableError(StrCat(named, "cannot be reached: ", replies.status().message()));
  } else {
    const Reply& role = replies->front();
    if (role.type == Reply::Type::kArray && !role.elements.empty() &&
        role.elements[0].str == "master") {
      Found(sentinel, std::move(candidate), lookup->epoch);
      return;
    }
    why = absl::UnavailableError(StrCat(named, "answers ROLE: ",
                                        role.is_error() ? role.str
                                        : role.type == Reply::Type::kArray && !role.elements.empty()
                                            ? role.elements[0].str
                                            : "(not an array)",
                                        " (a failover under way?)"));
  }
  // The node in use is not the master any more: calls wait for the next one.
  Suspect(candidate.node);
  lookup->named = true;
  Skip(std::move(lookup), sentinel, why);
}

void SentinelMaster::Skip(std::shared_ptr<Lookup> lookup, std::size_t sentinel,
                          const absl::Status& why) {
  const std::string address = sentinels_[sentinel].Address();
  if (why.code() != absl::StatusCode::kPermissionDenied) lookup->all_denied = false;
  lookup->said.append(StrCat(lookup->said.empty() ? "" : "; ", address, ": ", why.message()));
  if (events() != nullptr) events()->SentinelSkipped(address, name_, why);
  AskSentinel(std::move(lookup));
}

void SentinelMaster::Found(std::size_t sentinel, MasterNode master, std::int64_t epoch) {
  std::vector<Waiter> waiting;
  std::shared_ptr<NodeConnections> replaced;
  std::string from;
  bool adopted = false;  // a new master: the first one, or another one
  absl::StatusOr<MasterNode> result = master;
  {
    MutexLock lock(&mutex_);
    looking_up_ = false;
    waiting.swap(waiting_);
    if (!shut_down_.ok()) {
      result = NotSent(shut_down_);
    } else {
      if (current_ == nullptr || current_->node != master.node) {
        adopted = true;
        if (current_ != nullptr) {
          from = current_->node.Address();
          replaced = current_->connections;
        }
        current_ = std::make_shared<MasterNode>(master);
        if (candidate_ == master.connections) candidate_.reset();
      }
      suspected_ = false;
      current_epoch_ = epoch;
      last_failure_ = absl::OkStatus();
      std::erase(order_, sentinel);
      order_.insert(order_.begin(), sentinel);
    }
  }
  if (adopted && events() != nullptr) {
    events()->MasterChanged(name_, from, master.node.Address(), sentinels_[sentinel].Address());
  }
  // Calls still out on the old master end there (UNAVAILABLE, or their
  // replies if they came): nothing on it is sent again.
  if (replaced != nullptr) {
    replaced->Shutdown(absl::UnavailableError(StrCat(
        "sentinel: the master '", name_, "' moved from ", from, " to ", master.node.Address())));
  }
  for (Waiter& waiter : waiting) std::move(waiter.done)(result);
}

absl::Status SentinelMaster::last_failure() {
  MutexLock lock(&mutex_);
  return last_failure_;
}

void SentinelMaster::Failed(absl::Status why, bool in_failover) {
  std::vector<Waiter> answered;
  bool again = false;
  SteadyClock::time_point when;
  absl::StatusOr<MasterNode> result;
  {
    MutexLock lock(&mutex_);
    when = SteadyClock::now() + kLookupGap;
    next_lookup_ = when;
    last_failure_ = why;
    if (!shut_down_.ok()) {
      result = NotSent(shut_down_);
    } else if (current_ != nullptr && !suspected_) {
      // A check failed (the sentinels cannot be reached): the master in use
      // has given no reason to doubt it.
      result = *current_;
    } else {
      result = NotSent(why);
    }
    if (result.ok() || !shut_down_.ok() || !in_failover) {
      answered.swap(waiting_);
    } else {
      // A failover under way: those who can wait for the next lookup do.
      auto can_wait = [when](const Waiter& waiter) { return waiter.give_up > when; };
      auto split = std::stable_partition(waiting_.begin(), waiting_.end(), can_wait);
      std::move(split, waiting_.end(), std::back_inserter(answered));
      waiting_.erase(split, waiting_.end());
      again = !waiting_.empty();
    }
    looking_up_ = again;
  }
  if (events() != nullptr) events()->MasterLookupFailed(name_, why);
  if (again) loop_->RunAt(when, [self = shared_from_this()] { self->StartLookup(); });
  for (Waiter& waiter : answered) std::move(waiter.done)(result);
}

void SentinelMaster::Sweep(SteadyClock::time_point now) {
  std::vector<std::shared_ptr<NodeConnections>> swept = sentinel_connections_;
  {
    MutexLock lock(&mutex_);
    if (current_ != nullptr) swept.push_back(current_->connections);
    if (candidate_ != nullptr) swept.push_back(candidate_);
  }
  for (const auto& connections : swept) connections->Sweep(now);
}

void SentinelMaster::Shutdown(const absl::Status& why) {
  std::vector<std::shared_ptr<NodeConnections>> closed = sentinel_connections_;
  std::vector<Waiter> waiting;
  {
    MutexLock lock(&mutex_);
    shut_down_ = why;
    if (current_ != nullptr) closed.push_back(current_->connections);
    if (candidate_ != nullptr) closed.push_back(candidate_);
    waiting.swap(waiting_);
  }
  for (const auto& connections : closed) connections->Shutdown(why);
  for (Waiter& waiter : waiting) std::move(waiter.done)(NotSent(why));
}

}  // namespace sfroute::internal
