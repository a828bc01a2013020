// Lua 5.1 raises errors with longjmp, which skips C++ destructors. So every
// function here that may raise keeps its C++ objects in a helper that has
// returned before lua_error or luaL_error runs.
#include "memory/lua_redis_api.h"

#include <cstdio>
#include <cstring>
#include <string_view>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

#include "memory/commands.h"
#include "memory/lua_convert.h"
#include "memory/sha1.h"

namespace sfroute::internal {
namespace {

LuaCommandContext& ContextOf(lua_State* lua) {
  return *static_cast<LuaCommandContext*>(lua_touserdata(lua, lua_upvalueindex(1)));
}

// Copies the arguments of redis.call into context.args. Numbers become text
// as Redis writes them ("%.17g": 3 -> "3").
bool CollectArgs(lua_State* lua, int count, LuaCommandContext& context) {
  if (context.args.size() < static_cast<std::size_t>(count)) context.args.resize(count);
  for (int i = 0; i < count; ++i) {
    const int type = lua_type(lua, i + 1);
    if (type == LUA_TNUMBER) {
      char text[64];
      const int length = std::snprintf(text, sizeof(text), "%.17g", lua_tonumber(lua, i + 1));
      context.args[i].assign(text, length);
    } else if (type == LUA_TSTRING) {
      std::size_t length = 0;
      const char* data = lua_tolstring(lua, i + 1, &length);
      context.args[i].assign(data, length);
    } else {
      return false;
    }
  }
  return true;
}

// Runs the command redis.call names and pushes its reply. Returns whether
// the reply is an error.
bool CallCommand(lua_State* lua) {
  LuaCommandContext& context = ContextOf(lua);
  const int count = lua_gettop(lua);
  Reply reply;
  if (count == 0) {
    reply = Reply::Error("ERR Please specify at least one argument for this redis lib call");
  } else if (!CollectArgs(lua, count, context)) {
    reply = Reply::Error("ERR Lua redis lib command arguments must be strings or integers");
  } else {
    reply = context.run_command(std::span<const std::string>(context.args.data(), count));
  }
  PushReply(lua, reply);
  return reply.is_error();
}

// redis.call: a command's error becomes a Lua error (the script fails).
int RedisCall(lua_State* lua) {
  if (CallCommand(lua)) return lua_error(lua);
  return 1;
}

// redis.pcall: a command's error is returned as {err=...}.
int RedisPcall(lua_State* lua) {
  CallCommand(lua);
  return 1;
}

bool HasOneStringArg(lua_State* lua) {
  return lua_gettop(lua) == 1 && lua_type(lua, 1) == LUA_TSTRING;
}

int RedisErrorReply(lua_State* lua) {
  if (!HasOneStringArg(lua)) {
    PushErrorTable(lua, "ERR wrong number or type of arguments");
    return 1;
  }
  std::size_t length = 0;
  const char* message = lua_tolstring(lua, 1, &length);
  PushErrorTable(lua, std::string_view(message, length));
  return 1;
}

int RedisStatusReply(lua_State* lua) {
  if (!HasOneStringArg(lua)) {
    PushErrorTable(lua, "ERR wrong number or type of arguments");
    return 1;
  }
  lua_createtable(lua, 0, 1);
  lua_pushvalue(lua, 1);
  lua_setfield(lua, -2, "ok");
  return 1;
}

void PushSha1Hex(lua_State* lua) {
  std::size_t length = 0;
  const char* data = lua_tolstring(lua, 1, &length);
  const std::string hex = Sha1Hex(data == nullptr ? "" : std::string_view(data, length));
  lua_pushlstring(lua, hex.data(), hex.size());
}

int RedisSha1Hex(lua_State* lua) {
  if (lua_gettop(lua) != 1) {
    PushErrorTable(lua, "ERR wrong number of arguments");
    return lua_error(lua);
  }
  PushSha1Hex(lua);
  return 1;
}

bool NamesKnownCommand(lua_State* lua) {
  if (lua_gettop(lua) < 1 || lua_type(lua, 1) != LUA_TSTRING) return false;
  std::size_t length = 0;
  const char* name = lua_tolstring(lua, 1, &length);
  return FindCommand(std::string_view(name, length)) != nullptr;
}

// redis.acl_check_cmd (Redis 7.0): may the script's user run this command?
// A memory:// store has no ACL users, so any known command is allowed.
int RedisAclCheckCmd(lua_State* lua) {
  if (!NamesKnownCommand(lua)) {
    PushErrorTable(lua, "ERR Invalid command passed to redis.acl_check_cmd()");
    return lua_error(lua);
  }
  lua_pushboolean(lua, 1);
  return 1;
}

// There is no server log to write to.
int RedisLog(lua_State*) { return 0; }

int NonexistentGlobal(lua_State* lua) {
  const char* name = lua_tostring(lua, 2);
  return luaL_error(lua, "Script attempted to access nonexistent global variable '%s'",
                    name == nullptr ? luaL_typename(lua, 2) : name);
}

int ReadonlyTable(lua_State* lua) { return luaL_error(lua, "Attempt to modify a readonly table"); }

void OpenLibrary(lua_State* lua, lua_CFunction open, const char* name) {
  lua_pushcfunction(lua, open);
  lua_pushstring(lua, name);
  lua_call(lua, 1, 0);
}

void InstallRedisTable(lua_State* lua, LuaCommandContext* context) {
  static constexpr luaL_Reg kFunctions[] = {
      {"call", RedisCall},
      {"pcall", RedisPcall},
      {"error_reply", RedisErrorReply},
      {"status_reply", RedisStatusReply},
      {"sha1hex", RedisSha1Hex},
      {"log", RedisLog},
      {"acl_check_cmd", RedisAclCheckCmd},
  };
  static constexpr std::pair<const char*, int> kLogLevels[] = {
      {"LOG_DEBUG", 0}, {"LOG_VERBOSE", 1}, {"LOG_NOTICE", 2}, {"LOG_WARNING", 3}};
  lua_newtable(lua);
  for (const luaL_Reg& function : kFunctions) {
    lua_pushlightuserdata(lua, context);
    lua_pushcclosure(lua, function.func, 1);
    lua_setfield(lua, -2, function.name);
  }
  for (const auto& [name, level] : kLogLevels) {
    lua_pushnumber(lua, level);
    lua_setfield(lua, -2, name);
  }
  lua_setglobal(lua, "redis");
}

}  // namespace

int SetUpScriptingEnvironment(lua_State* lua, LuaCommandContext* context) {
  OpenLibrary(lua, luaopen_base, "");
  OpenLibrary(lua, luaopen_table, LUA_TABLIBNAME);
  OpenLibrary(lua, luaopen_string, LUA_STRLIBNAME);
  OpenLibrary(lua, luaopen_math, LUA_MATHLIBNAME);
  for (const char* unsafe : {"dofile", "loadfile"}) {  // Redis removes them too
    lua_pushnil(lua);
    lua_setglobal(lua, unsafe);
  }
  InstallRedisTable(lua, context);

  // Reading a global that does not exist is an error.
  lua_pushvalue(lua, LUA_GLOBALSINDEX);
  const int globals = lua_gettop(lua);
  lua_createtable(lua, 0, 1);
  lua_pushcfunction(lua, NonexistentGlobal);
  lua_setfield(lua, -2, "__index");
  lua_setmetatable(lua, globals);

  // Scripts see the globals through an empty table that refuses writes.
  lua_newtable(lua);
  const int sandbox = lua_gettop(lua);
  lua_createtable(lua, 0, 3);
  lua_pushvalue(lua, globals);
  lua_setfield(lua, -2, "__index");
  lua_pushcfunction(lua, ReadonlyTable);
  lua_setfield(lua, -2, "__newindex");
  lua_pushboolean(lua, 0);
  lua_setfield(lua, -2, "__metatable");  // no setmetatable(_G, nil)
  lua_setmetatable(lua, sandbox);
  lua_pushvalue(lua, sandbox);
  lua_setfield(lua, globals, "_G");

  const int reference = luaL_ref(lua, LUA_REGISTRYINDEX);  // pops the sandbox
  lua_pop(lua, 1);
  return reference;
}

int ScriptErrorHandler(lua_State* lua) {
  lua_createtable(lua, 0, 3);
  const int result = lua_gettop(lua);

  // The error: a table from redis.call or redis.error_reply keeps its
  // message; anything else gets the ERR code.
  bool has_message = false;
  if (lua_istable(lua, 1)) {
    lua_pushliteral(lua, "err");
    lua_rawget(lua, 1);  // no metamethods: the handler itself must not fail
    has_message = lua_type(lua, -1) == LUA_TSTRING;
    if (!has_message) lua_pop(lua, 1);
  }
  if (!has_message) {
    lua_pushliteral(lua, "ERR ");
    if (lua_isstring(lua, 1)) {
      lua_pushvalue(lua, 1);
    } else {
      lua_pushfstring(lua, "(error object is a %s value)", luaL_typename(lua, 1));
    }
    lua_concat(lua, 2);
  }
  lua_setfield(lua, result, "err");

  // Where: the innermost Lua code (level 1 may be redis.call or error).
  lua_Debug frame;
  for (int level = 1; lua_getstack(lua, level, &frame); ++level) {
    lua_getinfo(lua, "Sl", &frame);
    if (std::strcmp(frame.what, "Lua") == 0 || std::strcmp(frame.what, "main") == 0) {
      lua_pushstring(lua, frame.source);
      lua_setfield(lua, result, "source");
      lua_pushinteger(lua, frame.currentline);
      lua_setfield(lua, result, "line");
      break;
    }
  }
  return 1;
}

}  // namespace sfroute::internal
