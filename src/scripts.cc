#include "scripts.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace sfroute::internal {

const EmbeddedScript& GetScript(std::string_view name) {
  for (int i = 0; i < kEmbeddedScriptCount; ++i) {
    if (kEmbeddedScripts[i].name == name) return kEmbeddedScripts[i];
  }
  std::fprintf(stderr, "sfroute: no embedded script named %.*s\n", static_cast<int>(name.size()),
               name.data());
  std::abort();
}

Command ScriptCommand(const EmbeddedScript& script, std::vector<std::string> keys,
                      std::vector<std::string> args) {
  Command command;
  command.args.reserve(3 + keys.size() + args.size());
  command.args.emplace_back("EVALSHA");
  command.args.emplace_back(script.sha1);
  command.args.push_back(std::to_string(keys.size()));
  for (std::string& key : keys) command.args.push_back(std::move(key));
  for (std::string& arg : args) command.args.push_back(std::move(arg));
  return command;
}

bool IsScriptCall(const Command& command) {
  return !command.args.empty() && command.args[0] == "EVALSHA";
}

Command WithSource(const Command& command) {
  Command eval = command;
  eval.args[0] = "EVAL";
  for (int i = 0; i < kEmbeddedScriptCount; ++i) {
    if (command.args[1] == kEmbeddedScripts[i].sha1) {
      eval.args[1] = std::string(kEmbeddedScripts[i].source);
      break;
    }
  }
  return eval;
}

bool IsNoScript(const Reply& reply) {
  return reply.is_error() && reply.str.starts_with("NOSCRIPT");
}

}  // namespace sfroute::internal
