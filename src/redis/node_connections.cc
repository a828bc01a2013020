#include "redis/node_connections.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "str_cat.h"

namespace sfroute::internal {

NodeConnections::NodeConnections(ConnectionOptions options, int count, std::shared_ptr<IoLoop> loop)
    : options_(std::move(options)), loop_(std::move(loop)), slot_count_(count), slots_(count) {}

absl::StatusOr<std::vector<Reply>> NodeConnections::Execute(const std::vector<Command>& commands) {
  auto in_flight = Send(commands);
  if (!in_flight.ok()) return in_flight.status();
  return in_flight->Wait();
}

namespace {

bool HoldsTheConnection(const std::vector<Command>& commands) {
  for (const Command& command : commands) {
    if (!command.args.empty() && absl::EqualsIgnoreCase(command.args.front(), "WAIT")) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<InFlight> NodeConnections::Send(const std::vector<Command>& commands) {
  return HoldsTheConnection(commands) ? SendAlone(commands) : SendShared(commands);
}

absl::StatusOr<InFlight> NodeConnections::SendAlone(const std::vector<Command>& commands) {
  std::vector<std::shared_ptr<SharedConnection>> candidates;
  {
    absl::MutexLock lock(&mutex_);
    std::erase_if(alone_, [](const auto& connection) { return connection->failed(); });
    candidates = alone_;
  }
  for (const auto& connection : candidates) {
    auto in_flight = connection->Send(commands, /*only_when_idle=*/true);
    if (in_flight.ok()) return in_flight;  // else in use, or just lost: the next
  }
  auto opened = Open();
  if (!opened.ok()) return opened.status();
  auto in_flight = (*opened)->Send(commands, /*only_when_idle=*/true);
  if (in_flight.ok()) {
    absl::MutexLock lock(&mutex_);
    alone_.push_back(*std::move(opened));
  }
  return in_flight;
}

absl::StatusOr<InFlight> NodeConnections::SendShared(const std::vector<Command>& commands) {
  const std::size_t slot = turn_.fetch_add(1, std::memory_order_relaxed) % slot_count_;
  // A connection lost between Connected() and Send() sent nothing: one more
  // try on its replacement.
  absl::Status last_error;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto connection = Connected(slot);
    if (!connection.ok()) return connection.status();
    auto in_flight = (*connection)->Send(commands);
    if (in_flight.ok()) return in_flight;
    last_error = in_flight.status();
  }
  return last_error;
}

absl::StatusOr<std::shared_ptr<SharedConnection>> NodeConnections::Connected(std::size_t index) {
  {
    absl::MutexLock lock(&mutex_);
    Slot& slot = slots_[index];
    for (;;) {
      if (slot.connection != nullptr && !slot.connection->failed()) return slot.connection;
      if (!slot.opening) break;  // this caller opens it
      const std::uint64_t attempt = slot.attempts;
      auto opened = [&slot] { return !slot.opening; };
      // Connect, then AUTH and SELECT: each reply within the command timeout.
      const absl::Duration limit =
          absl::FromChrono(options_.connect_timeout + 2 * options_.command_timeout);
      if (!mutex_.AwaitWithTimeout(absl::Condition(&opened), limit)) {
        return absl::DeadlineExceededError(
            StrCat("opening a connection to ", options_.node.Address(), " took too long"));
      }
      // The attempt this caller waited for failed: its error is this caller's.
      if (slot.attempts == attempt + 1 && !slot.last_open_error.ok()) {
        return slot.last_open_error;
      }
    }
    slot.opening = true;
    slot.connection.reset();
  }
  auto opened = Open();
  absl::MutexLock lock(&mutex_);
  Slot& slot = slots_[index];
  slot.opening = false;
  ++slot.attempts;
  slot.last_open_error = opened.status();
  if (opened.ok()) slot.connection = *opened;
  return opened;
}

absl::StatusOr<std::shared_ptr<SharedConnection>> NodeConnections::Open() {
  auto socket = OpenConnection(options_);
  if (!socket.ok()) return socket.status();
  return SharedConnection::Watch(*std::move(socket), options_.node.Address(),
                                 options_.command_timeout, *loop_);
}

}  // namespace sfroute::internal
