// The Lua scripts (src/lua/*.lua, embedded at build time) and how they are
// sent: EVALSHA on the hot path; a call answered NOSCRIPT (server restart,
// failover, SCRIPT FLUSH) is sent again as EVAL with the script's text,
// which runs it and loads it for the next EVALSHA, on whichever node holds
// its keys (Executor::Impl::Exchange).
#ifndef SFROUTE_SRC_SCRIPTS_H_
#define SFROUTE_SRC_SCRIPTS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"
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

// Whether `command` runs a script (EVALSHA).
bool IsScriptCall(const Command& command);

// For an EVALSHA of an embedded script (IsScriptCall): the same call as
// EVAL <source>.
Command WithSource(const Command& command);

bool IsNoScript(const Reply& reply);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_SCRIPTS_H_
