// What the executor sends: commands, in batches that each go out in one
// round trip (one pipeline per node).
#ifndef SFROUTE_SRC_COMMAND_H_
#define SFROUTE_SRC_COMMAND_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "redis_url.h"
#include "reply.h"

namespace sfroute::internal {

struct Command {
  std::vector<std::string> args;  // the command and its arguments, binary safe
};

// A command from its arguments, moving those given as rvalues (a braced
// list would copy every string).
template <typename... Args>
Command MakeCommand(Args&&... args) {
  Command command;
  command.args.reserve(sizeof...(Args));
  (command.args.emplace_back(std::forward<Args>(args)), ...);
  return command;
}

struct Batch {
  std::vector<Command> commands;
  // The batch holds its connection for a while (WAIT: the server keeps a
  // connection's later commands back until WAIT returns): it goes on a
  // connection that no other call uses meanwhile.
  bool exclusive_connection = false;
  // A caller thread waits for the replies (a sync call): when it finds its
  // connection idle, that thread may read the replies itself instead of
  // handing the reading to the I/O thread.
  bool caller_waits = false;
  // Keyless commands for one node of a cluster (SCAN, which sees only the
  // keys of the node it runs on): the whole batch goes there as it is, with
  // no redirects followed. Empty: each command goes where its keys are.
  // Backends of one node ignore it.
  std::optional<HostPort> node = std::nullopt;
};

// One reply per command of the batch, in order, or why the round trip
// failed. Runs exactly once.
using BatchDone = absl::AnyInvocable<void(absl::StatusOr<std::vector<Reply>>) &&>;

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_COMMAND_H_
