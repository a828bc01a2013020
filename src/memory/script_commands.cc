// SCRIPT LOAD|EXISTS|FLUSH, EVAL and EVALSHA.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "memory/commands.h"
#include "memory/script_engine.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

Reply ScriptLoad(ScriptEngine& scripts, Args args) {
  if (args.size() != 3) return WrongArityError("script|load");
  return scripts.Load(args[2]);
}

Reply ScriptExists(ScriptEngine& scripts, Args args) {
  if (args.size() < 3) return WrongArityError("script|exists");
  std::vector<Reply> found;
  found.reserve(args.size() - 2);
  for (const std::string& sha : args.subspan(2)) {
    found.push_back(Reply::Integer(scripts.Exists(sha) ? 1 : 0));
  }
  return Reply::Array(std::move(found));
}

Reply ScriptFlush(ScriptEngine& scripts, Args args) {
  if (args.size() > 3 || (args.size() == 3 && !EqualsIgnoreCase(args[2], "SYNC") &&
                          !EqualsIgnoreCase(args[2], "ASYNC"))) {
    return Reply::Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
  }
  scripts.Flush();
  return Reply::Status("OK");
}

// Splits EVAL's and EVALSHA's arguments after the script into keys and
// argv; false after setting `error`.
bool SplitKeys(Args args, Args& keys, Args& argv, Reply& error) {
  const std::optional<std::int64_t> count = ParseInt64(args[2]);
  if (!count.has_value()) {
    error = NotIntegerError();
    return false;
  }
  const auto available = static_cast<std::int64_t>(args.size() - 3);
  if (*count > available) {
    error = Reply::Error("ERR Number of keys can't be greater than number of args");
    return false;
  }
  if (*count < 0) {
    error = Reply::Error("ERR Number of keys can't be negative");
    return false;
  }
  keys = args.subspan(3, static_cast<std::size_t>(*count));
  argv = args.subspan(3 + static_cast<std::size_t>(*count));
  return true;
}

}  // namespace

Reply ScriptCommand(CommandEnv& env, Args args) {
  const std::string& subcommand = args[1];
  if (EqualsIgnoreCase(subcommand, "LOAD")) return ScriptLoad(env.scripts, args);
  if (EqualsIgnoreCase(subcommand, "EXISTS")) return ScriptExists(env.scripts, args);
  if (EqualsIgnoreCase(subcommand, "FLUSH")) return ScriptFlush(env.scripts, args);
  Reply error = Reply::Error(StrCat("ERR unknown subcommand '",
                                    std::string_view(subcommand).substr(0, kMaxQuotedBytes),
                                    "'. Try SCRIPT HELP."));
  ReplaceNewlines(error.str);
  return error;
}

Reply EvalCommand(CommandEnv& env, Args args) {
  Args keys, argv;
  Reply error;
  if (!SplitKeys(args, keys, argv, error)) return error;
  return env.scripts.Eval(args[1], keys, argv);
}

Reply EvalshaCommand(CommandEnv& env, Args args) {
  // Redis answers NOSCRIPT for anything that is not 40 characters long
  // before it looks at the other arguments.
  if (args[1].size() != 40) return Reply::Error("NOSCRIPT No matching script. Please use EVAL.");
  Args keys, argv;
  Reply error;
  if (!SplitKeys(args, keys, argv, error)) return error;
  return env.scripts.EvalSha(args[1], keys, argv);
}

}  // namespace sfroute::internal
