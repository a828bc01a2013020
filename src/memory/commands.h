// The command table of the in-memory Redis and what its commands share.
#ifndef SFROUTE_SRC_MEMORY_COMMANDS_H_
#define SFROUTE_SRC_MEMORY_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "memory/keyspace.h"
#include "reply.h"

namespace sfroute::internal {

class ScriptEngine;

// A command and its arguments, as the client sent them.
using Args = std::span<const std::string>;

// What a command may touch.
struct CommandEnv {
  Keyspace& keyspace;
  ScriptEngine& scripts;
};

struct CommandSpec {
  std::string_view name;  // lowercase, as Redis names it in error replies
  int arity;              // Redis's convention: n exactly n args, -n at least n
  bool allowed_in_scripts;
  Reply (*run)(CommandEnv& env, Args args);

  bool AcceptsArgCount(std::size_t count) const {
    return arity >= 0 ? count == static_cast<std::size_t>(arity)
                      : count >= static_cast<std::size_t>(-arity);
  }
};

// The command named `name` (any case), or nullptr if there is none.
const CommandSpec* FindCommand(std::string_view name);

// Redis's error replies, word for word.
Reply WrongTypeError();
Reply WrongArityError(std::string_view command_name);
Reply SyntaxError();
Reply NotIntegerError();
Reply InvalidExpireTimeError(std::string_view command_name);

// Redis quotes at most this much of a client's arguments in an error.
inline constexpr std::size_t kMaxQuotedBytes = 128;

// Replaces \r and \n with spaces: Redis never lets them into an error or
// status reply.
void ReplaceNewlines(std::string& text);

// Parses a decimal integer as strictly as Redis does (no sign but `-`, no
// leading zeros, no spaces, fits in 64 bits).
std::optional<std::int64_t> ParseInt64(std::string_view text);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// A key's value if it holds a T. `wrong_type` is set when the key exists but
// holds another type.
template <typename T>
T* FindValue(Keyspace& keyspace, std::string_view key, bool& wrong_type) {
  Entry* entry = keyspace.Find(key);
  wrong_type = entry != nullptr && !std::holds_alternative<T>(entry->value);
  return entry == nullptr ? nullptr : std::get_if<T>(&entry->value);
}

// The handlers, by group (string_commands.cc, key_commands.cc,
// hash_commands.cc, script_commands.cc).
Reply GetCommand(CommandEnv& env, Args args);
Reply SetCommand(CommandEnv& env, Args args);
Reply MgetCommand(CommandEnv& env, Args args);
Reply DelCommand(CommandEnv& env, Args args);
Reply ExistsCommand(CommandEnv& env, Args args);
Reply ExpireCommand(CommandEnv& env, Args args);
Reply PexpireCommand(CommandEnv& env, Args args);
Reply TtlCommand(CommandEnv& env, Args args);
Reply PttlCommand(CommandEnv& env, Args args);
Reply PersistCommand(CommandEnv& env, Args args);
Reply TypeCommand(CommandEnv& env, Args args);
Reply KeysCommand(CommandEnv& env, Args args);
Reply ScanCommand(CommandEnv& env, Args args);
Reply DbsizeCommand(CommandEnv& env, Args args);
Reply FlushallCommand(CommandEnv& env, Args args);
Reply PingCommand(CommandEnv& env, Args args);
Reply HsetCommand(CommandEnv& env, Args args);
Reply HgetCommand(CommandEnv& env, Args args);
Reply HdelCommand(CommandEnv& env, Args args);
Reply HgetallCommand(CommandEnv& env, Args args);
Reply HlenCommand(CommandEnv& env, Args args);
Reply ScriptCommand(CommandEnv& env, Args args);
Reply EvalCommand(CommandEnv& env, Args args);
Reply EvalshaCommand(CommandEnv& env, Args args);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_MEMORY_COMMANDS_H_
