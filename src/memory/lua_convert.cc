#include "memory/lua_convert.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

extern "C" {
#include <lua.h>
}

#include "memory/commands.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

// Deeper tables (a table that contains itself, say) are not a reply.
constexpr int kMaxReplyDepth = 1000;

// Redis converts with a C cast, which on x86-64 gives the minimum for NaN
// and anything out of range; the cast itself would be undefined in C++.
std::int64_t TruncateToInt64(lua_Number number) {
  constexpr lua_Number kLimit = 9223372036854775808.0;  // 2^63
  if (std::isnan(number) || number >= kLimit || number < -kLimit) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return static_cast<std::int64_t>(number);
}

Reply ReplyFromLuaAt(lua_State* lua, int index, int depth);

std::string_view ToView(lua_State* lua, int index) {
  std::size_t length = 0;
  const char* data = lua_tolstring(lua, index, &length);
  return {data, length};
}

// The string field `name` of the table at `index`, if it is a string.
bool StringField(lua_State* lua, int index, const char* name, std::string& out) {
  lua_pushstring(lua, name);
  lua_rawget(lua, index);
  const bool found = lua_type(lua, -1) == LUA_TSTRING;
  if (found) out.assign(ToView(lua, -1));
  lua_pop(lua, 1);
  return found;
}

Reply ReplyFromTable(lua_State* lua, int index, int depth) {
  std::string text;
  if (StringField(lua, index, "err", text)) {
    ReplaceNewlines(text);
    return Reply::Error(std::move(text));
  }
  if (StringField(lua, index, "ok", text)) {
    ReplaceNewlines(text);
    return Reply::Status(std::move(text));
  }
  if (depth >= kMaxReplyDepth || !lua_checkstack(lua, 2)) {
    return Reply::Error("ERR reached lua stack limit");
  }
  std::vector<Reply> elements;
  for (int i = 1;; ++i) {
    lua_rawgeti(lua, index, i);
    if (lua_isnil(lua, -1)) {
      lua_pop(lua, 1);
      break;
    }
    elements.push_back(ReplyFromLuaAt(lua, lua_gettop(lua), depth + 1));
    lua_pop(lua, 1);
  }
  return Reply::Array(std::move(elements));
}

Reply ReplyFromLuaAt(lua_State* lua, int index, int depth) {
  switch (lua_type(lua, index)) {
    case LUA_TNUMBER:
      return Reply::Integer(TruncateToInt64(lua_tonumber(lua, index)));
    case LUA_TSTRING:
      return Reply::String(std::string(ToView(lua, index)));
    case LUA_TBOOLEAN:
      return lua_toboolean(lua, index) ? Reply::Integer(1) : Reply::Nil();
    case LUA_TTABLE:
      return ReplyFromTable(lua, index, depth);
    default:
      return Reply::Nil();
  }
}

}  // namespace

Reply ReplyFromLua(lua_State* lua, int index) {
  if (index < 0) index = lua_gettop(lua) + index + 1;
  return ReplyFromLuaAt(lua, index, 0);
}

void PushReply(lua_State* lua, const Reply& reply) {
  lua_checkstack(lua, 3);
  switch (reply.type) {
    case Reply::Type::kNil:
      lua_pushboolean(lua, 0);
      return;
    case Reply::Type::kInteger:
      lua_pushnumber(lua, static_cast<lua_Number>(reply.integer));
      return;
    case Reply::Type::kString:
      lua_pushlstring(lua, reply.str.data(), reply.str.size());
      return;
    case Reply::Type::kStatus:
      lua_createtable(lua, 0, 1);
      lua_pushlstring(lua, reply.str.data(), reply.str.size());
      lua_setfield(lua, -2, "ok");
      return;
    case Reply::Type::kError:
      PushErrorTable(lua, reply.str);
      return;
    case Reply::Type::kArray:
      lua_createtable(lua, static_cast<int>(reply.elements.size()), 0);
      for (std::size_t i = 0; i < reply.elements.size(); ++i) {
        PushReply(lua, reply.elements[i]);
        lua_rawseti(lua, -2, static_cast<int>(i + 1));
      }
      return;
  }
}

void PushErrorTable(lua_State* lua, std::string_view message) {
  if (message.starts_with('-')) message.remove_prefix(1);
  std::string_view code = "ERR";
  const std::size_t space = message.find(' ');
  if (space != std::string_view::npos) {
    code = message.substr(0, space);
    message.remove_prefix(space + 1);
  }
  while (!message.empty() && (message.front() == '\r' || message.front() == '\n')) {
    message.remove_prefix(1);
  }
  while (!message.empty() && (message.back() == '\r' || message.back() == '\n')) {
    message.remove_suffix(1);
  }
  const std::string text = StrCat(code, " ", message);
  lua_createtable(lua, 0, 1);
  lua_pushlstring(lua, text.data(), text.size());
  lua_setfield(lua, -2, "err");
}

}  // namespace sfroute::internal
