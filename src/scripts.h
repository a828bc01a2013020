// The Lua scripts (src/lua/*.lua, embedded at build time) and how they run:
// EVALSHA on the hot path; a call answered NOSCRIPT (server restart,
// failover, SCRIPT FLUSH) is sent again as EVAL with the script's text, which
// runs it and loads it for the next EVALSHA, on whichever node holds its keys.
#ifndef SFROUTE_SRC_SCRIPTS_H_
#define SFROUTE_SRC_SCRIPTS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "backend.h"
#include "reply.h"

namespace sfroute::internal {

struct EmbeddedScript {
  const char* name;         // file name without .lua
  std::string_view source;  // the file's text
  const char* sha1;         // what Redis names it
};
extern const EmbeddedScript kEmbeddedScripts[];
extern const int kEmbeddedScriptCount;

// Returns the embedded script of that name; aborts if there is none (a
// build error, not a runtime condition).
const EmbeddedScript& GetScript(std::string_view name);

struct ScriptCall {
  const EmbeddedScript* script;
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

// Runs the calls in one pipeline, followed by `trailing` commands (for
// example WAIT, which must follow a write on the same connection). NOSCRIPT
// proves a call did not run, so those calls are sent once more as EVAL,
// followed by `trailing` again. Returns one reply per call, then one per
// trailing command; replies may be error replies.
absl::StatusOr<std::vector<Reply>> RunScripts(Backend& backend,
                                              const std::vector<ScriptCall>& calls,
                                              const std::vector<Command>& trailing = {});

// One call, no trailing commands.
absl::StatusOr<Reply> RunScript(Backend& backend, const EmbeddedScript& script,
                                std::vector<std::string> keys, std::vector<std::string> args);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_SCRIPTS_H_
