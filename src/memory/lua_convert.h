// Values between Redis replies and Lua, with the conversion rules of Redis
// 7.0 scripting (RESP2).
#ifndef SFROUTE_SRC_MEMORY_LUA_CONVERT_H_
#define SFROUTE_SRC_MEMORY_LUA_CONVERT_H_

#include <string>
#include <string_view>

#include "reply.h"

struct lua_State;

namespace sfroute::internal {

// Pushes a command's reply as redis.call returns it: integer -> number,
// bulk -> string, nil -> false, array -> table, status -> {ok=...},
// error -> {err=...}.
void PushReply(lua_State* lua, const Reply& reply);

// The reply a script's return value at `index` becomes: number -> integer
// (truncated), string -> bulk, true -> 1, false and nil -> nil,
// {err=...} -> error, {ok=...} -> status, other tables -> array of the
// elements 1, 2, ... up to the first nil.
Reply ReplyFromLua(lua_State* lua, int index);

// Pushes the table {err=<text>} for an error `message` ("CODE text" or
// "-CODE text"), as Redis builds it: a message without a code gets ERR.
void PushErrorTable(lua_State* lua, std::string_view message);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_MEMORY_LUA_CONVERT_H_
