// Lua scripting as Redis 7.0 does it: EVAL, EVALSHA and the SCRIPT cache,
// running the very same script text with an embedded Lua 5.1.
#ifndef SFROUTE_SRC_MEMORY_SCRIPT_ENGINE_H_
#define SFROUTE_SRC_MEMORY_SCRIPT_ENGINE_H_

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "memory/lua_redis_api.h"
#include "memory/string_hash.h"
#include "reply.h"

struct lua_State;

namespace sfroute::internal {

// Not thread-safe: the caller runs one script at a time and nothing else
// meanwhile, which makes scripts atomic. One lua_State for the engine's
// life (until SCRIPT FLUSH), compiled functions cached by SHA-1.
class ScriptEngine {
 public:
  using Strings = std::span<const std::string>;
  // Runs a command for redis.call and redis.pcall.
  using CommandRunner = std::function<Reply(Strings args)>;

  explicit ScriptEngine(CommandRunner run_command);
  ~ScriptEngine();
  ScriptEngine(const ScriptEngine&) = delete;
  ScriptEngine& operator=(const ScriptEngine&) = delete;

  // SCRIPT LOAD: compiles and caches; the SHA-1 hex or a compile error.
  Reply Load(std::string_view source);
  // SCRIPT EXISTS for one SHA-1 (any case).
  bool Exists(std::string_view sha) const;
  // SCRIPT FLUSH: forgets every script and starts a fresh Lua state.
  void Flush();

  // EVAL: compiles (and caches) `source` if needed and runs it.
  Reply Eval(std::string_view source, Strings keys, Strings argv);
  // EVALSHA: runs a cached script; NOSCRIPT if there is none.
  Reply EvalSha(std::string_view sha, Strings keys, Strings argv);

 private:
  // The registry reference of the compiled script, compiling it if needed;
  // -1 after setting `error`.
  int FunctionFor(const std::string& sha, std::string_view source, Reply& error);
  int FindFunction(std::string_view sha) const;  // -1 if not cached
  Reply Run(int function, std::string_view sha, Strings keys, Strings argv);
  void SetGlobalArray(const char* name, Strings values);
  Reply ErrorReplyFromHandler(std::string_view sha);

  LuaCommandContext context_;
  lua_State* lua_ = nullptr;
  int sandbox_ = 0;  // registry reference to the scripts' environment
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> functions_;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_MEMORY_SCRIPT_ENGINE_H_
