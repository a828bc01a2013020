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
