// The Lua scripts (src/lua/*.lua, embedded at build time) and how they run:
// EVALSHA on the hot path; after NOSCRIPT (server restart, failover, SCRIPT
// FLUSH) the script is loaded and run again in one more round trip.
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

// Runs `script` with EVALSHA. NOSCRIPT proves the script did not run, so it
// is then loaded (SCRIPT LOAD) and run once more in the same round trip.
// Returns the script's reply, which may be an error reply.
absl::StatusOr<Reply> RunScript(Backend& backend, const EmbeddedScript& script,
                                const std::vector<std::string>& keys,
                                const std::vector<std::string>& args);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_SCRIPTS_H_
