// What the executor sends: commands, in batches that each go out in one
// round trip (one pipeline per node).
#ifndef SFROUTE_SRC_COMMAND_H_
#define SFROUTE_SRC_COMMAND_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "redis_url.h"
#include "reply.h"

namespace sfroute::internal {

// Where a command's keys are among its arguments: args[first, first +
// count). A cluster sends a command to the slot of its keys; an MGET's
// keys may go in parts (separable), a script's may not.
struct KeyRange {
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  bool separable = false;
  std::size_t end() const { return std::size_t{first} + count; }
};

struct Command {
  std::vector<std::string> args;  // the command and its arguments, binary safe
  // Where its keys are, as its maker says (MakeKeyCommand,
  // MakeScriptCommand). Unset: found from the command's name
  // (cluster/slot.h Keys), as for the handshake's and tools' commands.
  std::optional<KeyRange> keys;
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

// A command on one key, its first argument (GET, SET, HSET, ...).
template <typename Name, typename Key, typename... Args>
Command MakeKeyCommand(Name&& name, Key&& key, Args&&... args) {
  Command command =
      MakeCommand(std::forward<Name>(name), std::forward<Key>(key), std::forward<Args>(args)...);
  command.keys = KeyRange{1, 1};
  return command;
}

// EVALSHA of the script `sha1` on kNumkeys keys, the first of `args`.
// kNumkeys is written from a constant, not formatted on every call.
template <std::uint32_t kNumkeys, typename... Args>
Command MakeScriptCommand(const char* sha1, Args&&... args) {
  static_assert(kNumkeys < 10, "one digit");
  static constexpr char kNumkeysText[] = {static_cast<char>('0' + kNumkeys), '\0'};
  Command command = MakeCommand("EVALSHA", sha1, kNumkeysText, std::forward<Args>(args)...);
  command.keys = KeyRange{3, kNumkeys};
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
