#include "memory/script_engine.h"

#include <cctype>
#include <utility>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

#include "memory/commands.h"
#include "memory/lua_convert.h"
#include "memory/sha1.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

// The chunk name Redis gives scripts: errors read "user_script:3: ...".
constexpr char kChunkName[] = "@user_script";

// The string field `name` of the table on top of the stack, or "".
std::string StringField(lua_State* lua, const char* name) {
  lua_getfield(lua, -1, name);
  std::size_t length = 0;
  const char* data = lua_isstring(lua, -1) ? lua_tolstring(lua, -1, &length) : nullptr;
  std::string value = data == nullptr ? "" : std::string(data, length);
  lua_pop(lua, 1);
  return value;
}

// SHA-1 hex digits in lowercase, copying only when needed.
std::string_view LowercaseSha(std::string_view sha, std::string& buffer) {
  bool lower = true;
  for (char c : sha) lower = lower && !std::isupper(static_cast<unsigned char>(c));
  if (lower) return sha;
  buffer.assign(sha);
  for (char& c : buffer) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return buffer;
}

}  // namespace

ScriptEngine::ScriptEngine(CommandRunner run_command) : context_{std::move(run_command), {}} {
  Flush();
}

ScriptEngine::~ScriptEngine() { lua_close(lua_); }

void ScriptEngine::Flush() {
  if (lua_ != nullptr) lua_close(lua_);
  functions_.clear();
  lua_ = luaL_newstate();
  sandbox_ = SetUpScriptingEnvironment(lua_, &context_);
}

Reply ScriptEngine::Load(std::string_view source) {
  std::string sha = Sha1Hex(source);
  Reply error;
  if (FunctionFor(sha, source, error) < 0) return error;
  return Reply::String(std::move(sha));
}

bool ScriptEngine::Exists(std::string_view sha) const {
  std::string buffer;
  return FindFunction(LowercaseSha(sha, buffer)) >= 0;
}

Reply ScriptEngine::Eval(std::string_view source, Strings keys, Strings argv) {
  const std::string sha = Sha1Hex(source);
  Reply error;
  const int function = FunctionFor(sha, source, error);
  if (function < 0) return error;
  return Run(function, sha, keys, argv);
}

Reply ScriptEngine::EvalSha(std::string_view sha, Strings keys, Strings argv) {
  std::string buffer;
  sha = LowercaseSha(sha, buffer);
  const int function = FindFunction(sha);
  if (function < 0) return Reply::Error("NOSCRIPT No matching script. Please use EVAL.");
  return Run(function, sha, keys, argv);
}

int ScriptEngine::FindFunction(std::string_view sha) const {
  auto it = functions_.find(sha);
  return it == functions_.end() ? -1 : it->second;
}

int ScriptEngine::FunctionFor(const std::string& sha, std::string_view source, Reply& error) {
  if (const int function = FindFunction(sha); function >= 0) return function;
  if (luaL_loadbuffer(lua_, source.data(), source.size(), kChunkName) != 0) {
    error =
        Reply::Error(StrCat("ERR Error compiling script (new function): ", lua_tostring(lua_, -1)));
    ReplaceNewlines(error.str);
    lua_pop(lua_, 1);
    return -1;
  }
  lua_rawgeti(lua_, LUA_REGISTRYINDEX, sandbox_);
  lua_setfenv(lua_, -2);
  const int function = luaL_ref(lua_, LUA_REGISTRYINDEX);
  functions_.emplace(sha, function);
  return function;
}

Reply ScriptEngine::Run(int function, std::string_view sha, Strings keys, Strings argv) {
  const int base = lua_gettop(lua_);
  lua_pushcfunction(lua_, ScriptErrorHandler);
  SetGlobalArray("KEYS", keys);
  SetGlobalArray("ARGV", argv);
  lua_rawgeti(lua_, LUA_REGISTRYINDEX, function);
  const int status = lua_pcall(lua_, 0, 1, base + 1);
  Reply reply = status == 0 ? ReplyFromLua(lua_, -1) : ErrorReplyFromHandler(sha);
  lua_settop(lua_, base);
  return reply;
}

void ScriptEngine::SetGlobalArray(const char* name, Strings values) {
  lua_createtable(lua_, static_cast<int>(values.size()), 0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    lua_pushlstring(lua_, values[i].data(), values[i].size());
    lua_rawseti(lua_, -2, static_cast<int>(i + 1));
  }
  lua_setfield(lua_, LUA_GLOBALSINDEX, name);
}

// Redis's form: "<message> script: <sha>, on @user_script:<line>."
Reply ScriptEngine::ErrorReplyFromHandler(std::string_view sha) {
  std::string message;
  if (!lua_istable(lua_, -1)) {  // out of memory: the handler did not run
    message = StrCat("ERR ", lua_isstring(lua_, -1) ? lua_tostring(lua_, -1) : "unknown error");
  } else {
    message = StringField(lua_, "err");
    const std::string source = StringField(lua_, "source");
    if (!source.empty()) {
      message =
          StrCat(message, " script: ", sha, ", on ", source, ":", StringField(lua_, "line"), ".");
    }
  }
  ReplaceNewlines(message);
  return Reply::Error(std::move(message));
}

}  // namespace sfroute::internal
