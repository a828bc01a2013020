#include "scripts.h"

#include <cstdio>
#include <cstdlib>

namespace sfroute::internal {
namespace {

// EVALSHA <sha> or EVAL <source>, then numkeys, keys and args.
Command ScriptCommand(const ScriptCall& call, bool by_sha) {
  Command command;
  command.args.reserve(3 + call.keys.size() + call.args.size());
  command.args.push_back(by_sha ? "EVALSHA" : "EVAL");
  command.args.push_back(by_sha ? std::string(call.script->sha1)
                                : std::string(call.script->source));
  command.args.push_back(std::to_string(call.keys.size()));
  command.args.insert(command.args.end(), call.keys.begin(), call.keys.end());
  command.args.insert(command.args.end(), call.args.begin(), call.args.end());
  return command;
}

bool IsNoScript(const Reply& reply) {
  return reply.is_error() && reply.str.starts_with("NOSCRIPT");
}

}  // namespace

const EmbeddedScript& GetScript(std::string_view name) {
  for (int i = 0; i < kEmbeddedScriptCount; ++i) {
    if (kEmbeddedScripts[i].name == name) return kEmbeddedScripts[i];
  }
  std::fprintf(stderr, "sfroute: no embedded script named %.*s\n", static_cast<int>(name.size()),
               name.data());
  std::abort();
}

absl::StatusOr<std::vector<Reply>> RunScripts(Backend& backend,
                                              const std::vector<ScriptCall>& calls,
                                              const std::vector<Command>& trailing) {
  std::vector<Command> commands;
  commands.reserve(calls.size() + trailing.size());
  for (const ScriptCall& call : calls) commands.push_back(ScriptCommand(call, /*by_sha=*/true));
  commands.insert(commands.end(), trailing.begin(), trailing.end());
  auto replies = backend.Execute(commands);
  if (!replies.ok()) return replies;

  std::vector<std::size_t> not_loaded;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (IsNoScript((*replies)[i])) not_loaded.push_back(i);
  }
  if (not_loaded.empty()) return replies;

  commands.clear();
  for (std::size_t i : not_loaded) commands.push_back(ScriptCommand(calls[i], /*by_sha=*/false));
  commands.insert(commands.end(), trailing.begin(), trailing.end());
  auto retried = backend.Execute(commands);
  if (!retried.ok()) return retried.status();
  for (std::size_t j = 0; j < not_loaded.size(); ++j) {
    (*replies)[not_loaded[j]] = std::move((*retried)[j]);
  }
  for (std::size_t t = 0; t < trailing.size(); ++t) {
    (*replies)[calls.size() + t] = std::move((*retried)[not_loaded.size() + t]);
  }
  return replies;
}

absl::StatusOr<Reply> RunScript(Backend& backend, const EmbeddedScript& script,
                                std::vector<std::string> keys, std::vector<std::string> args) {
  std::vector<ScriptCall> calls;  // not a braced list: that would copy the strings
  calls.push_back(ScriptCall{&script, std::move(keys), std::move(args)});
  auto replies = RunScripts(backend, calls);
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

}  // namespace sfroute::internal
