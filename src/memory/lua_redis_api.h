// The environment scripts run in: Redis 7.0's `redis` table and sandbox.
#ifndef SFROUTE_SRC_MEMORY_LUA_REDIS_API_H_
#define SFROUTE_SRC_MEMORY_LUA_REDIS_API_H_

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "reply.h"

struct lua_State;

namespace sfroute::internal {

// What redis.call and redis.pcall run commands with. Must outlive the
// lua_State it is installed in.
struct LuaCommandContext {
  std::function<Reply(std::span<const std::string>)> run_command;
  std::vector<std::string> args;  // kept between calls to reuse the buffers
};

// Makes a fresh state Redis's scripting environment: the base, table,
// string and math libraries (no file access), the `redis` table, and a
// globals table that scripts can read but not extend or change (as in Redis
// 7.0, a mistyped `local` is an error, not a global that leaks into the next
// script). Returns a registry reference to the table scripts must run with
// as their environment (lua_setfenv). KEYS and ARGV are set in the real
// globals (LUA_GLOBALSINDEX), which scripts read through it.
int SetUpScriptingEnvironment(lua_State* lua, LuaCommandContext* context);

// The lua_pcall message handler for scripts: turns any error into the table
// {err="CODE message", source=..., line=...}, where source and line are
// those of the script code that failed.
int ScriptErrorHandler(lua_State* lua);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_MEMORY_LUA_REDIS_API_H_
