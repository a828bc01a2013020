#include "redis/node_connections.h"

#include <string>
#include <utility>

#include "redis/resp.h"
#include "str_cat.h"

namespace sfroute::internal {
NodeConnections::NodeConnections(ConnectionOptions options, int count,
                                 std::shared_ptr<EventLoop> loop)
    : options_(std::move(options)),
      loop_(std::move(loop)),
      slot_count_(static_cast<std::uint64_t>(count)),
      slots_(count) {}

std::shared_ptr<Connection> NodeConnections::Shared(std::size_t slot) {
  MutexLock lock(&mutex_);
  if (!shut_down_.ok()) return nullptr;
  std::shared_ptr<Connection>& connection = slots_[slot];
  // A lost connection is replaced by the first call that finds it so; the
  // calls after it queue on the new one while it connects (a server that is
  // down is dialled once, not by every caller).
  if (connection == nullptr || connection->failed()) connection = Connection::Open(options_, loop_);
  return connection;
}

void NodeSender::Send(const Batch& batch, std::shared_ptr<CallControl> call, BatchDone done,
                      CheckedBy checked) {
  EncodeBuffer buffer;
  std::string& bytes = buffer.bytes();
  for (const Command& command : batch.commands) AppendCommand(command, bytes);
  SendWire(WireBatch{bytes, batch.commands.size(), batch.exclusive_connection, batch.caller_waits,
                     checked},
           std::move(call), std::move(done));
}

void NodeConnections::SendWire(const WireBatch& batch, std::shared_ptr<CallControl> call,
                               BatchDone done) {
  if (batch.exclusive_connection) {
    SendExclusive(batch, std::move(call), std::move(done));
    return;
  }
  const std::size_t slot = turn_.fetch_add(1, std::memory_order_relaxed) % slot_count_;
  // A connection lost between Shared() and Send() took nothing: once more,
  // on its replacement.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::shared_ptr<Connection> connection = Shared(slot);
    if (connection == nullptr) break;
    if (connection->Send(batch, call, done)) return;
  }
  GiveReplies(batch.checked, call, std::move(done), NotSent(Refusal()));
}

absl::Status NodeConnections::Refusal() {
  MutexLock lock(&mutex_);
  if (!shut_down_.ok()) return shut_down_;
  return absl::UnavailableError(
      StrCat("connection to ", options_.node.Address(), " was lost; nothing was sent"));
}

void NodeConnections::SendExclusive(const WireBatch& batch, std::shared_ptr<CallControl> call,
                                    BatchDone done) {
  std::shared_ptr<Connection> connection;
  {
    MutexLock lock(&mutex_);
    while (shut_down_.ok() && !idle_exclusive_.empty() && connection == nullptr) {
      connection = std::move(idle_exclusive_.back());
      idle_exclusive_.pop_back();
      if (connection->failed()) connection.reset();
    }
    if (shut_down_.ok() && connection == nullptr) {
      connection = Connection::Open(options_, loop_);
      exclusive_.push_back(connection);
    }
  }
  if (connection == nullptr) {
    GiveReplies(batch.checked, call, std::move(done), NotSent(Refusal()));
    return;
  }
  // Back with the idle ones once its replies are in (then checked: a retry
  // does not hold it).
  BatchDone give_back = [this, connection, checked = batch.checked, call, done = std::move(done)](
                            absl::StatusOr<std::vector<Reply>> replies) mutable {
    if (!connection->failed() && connection->idle()) {
      MutexLock lock(&mutex_);
      if (shut_down_.ok()) idle_exclusive_.push_back(connection);
    }
    GiveReplies(checked, call, std::move(done), std::move(replies));
  };
  WireBatch unchecked = batch;
  unchecked.checked = {};
  if (!connection->Send(unchecked, call, give_back)) {
    std::move(give_back)(NotSent(Refusal()));
  }
}

void NodeConnections::Sweep(SteadyClock::time_point now) {
  std::vector<std::shared_ptr<Connection>> connections;
  {
    MutexLock lock(&mutex_);
    for (const auto& connection : slots_) {
      if (connection != nullptr) connections.push_back(connection);
    }
    std::erase_if(exclusive_, [](const auto& weak) { return weak.expired(); });
    for (const auto& weak : exclusive_) {
      if (auto connection = weak.lock()) connections.push_back(std::move(connection));
    }
  }
  for (const auto& connection : connections) connection->Sweep(now);
}

void NodeConnections::Shutdown(const absl::Status& why) {
  std::vector<std::shared_ptr<Connection>> connections;
  {
    MutexLock lock(&mutex_);
    shut_down_ = why;
    for (auto& connection : slots_) {
      if (connection != nullptr) connections.push_back(std::move(connection));
    }
    for (const auto& weak : exclusive_) {
      if (auto connection = weak.lock()) connections.push_back(std::move(connection));
    }
    idle_exclusive_.clear();
  }
  for (const auto& connection : connections) connection->Fail(why);
}

}  // namespace sfroute::internal
