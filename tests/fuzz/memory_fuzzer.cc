// Fuzz target: the in-memory Redis (src/memory/memory_backend.h), through
// MemoryBackend::Execute with a ManualClock, as the executor uses it.
//
// The input is a program: batches of commands, each command picked from the
// ones the backend knows (GET, SET with its options, MGET, DEL, EXISTS,
// EXPIRE, PEXPIRE, TTL, PTTL, PERSIST, TYPE, KEYS, DBSIZE, FLUSHALL, PING,
// HSET, HGET, HDEL, HGETALL, HLEN, SCRIPT, EVAL, EVALSHA) or made up, with
// arguments drawn from a small pool of keys, numbers and option words, or
// random bytes; the real scripts of src/lua by EVALSHA or EVAL; random Lua
// text; and steps of the clock. Checked:
//  - Execute always succeeds with one reply per command, and every reply
//    is well formed: it can be written as RESP (no CR or LF in a status or
//    an error) and parses back to itself; a command's error starts with an
//    upper-case code ("ERR ", "WRONGTYPE ", ...);
//  - every reply has the shape Redis gives that command (GET: bulk or nil,
//    MGET: one element per key, TYPE: none/string/hash, ...);
//  - after every batch the keyspace is consistent: DBSIZE is the number of
//    KEYS *, every key is a string or a hash with PTTL -1 or > 0;
//  - the real scripts keep their contract (SPEC.md §1-§2, docs/design.md):
//    a script that answers an error has written nothing (no partial
//    writes); set_link.lua links as its mode says, persistent links and only
//    those in the links hash; remove_link.lua removes or leaves a grace
//    period; get_link_if_persist.lua returns the pod of a persistent link.
//
// Random Lua text cannot loop: the memory backend has no script time limit
// (Redis's lua-time-limit / SCRIPT KILL; reported, not fuzzed), so the text
// is built from tokens without loops, functions or assignments, or is raw
// input that passes a filter refusing everything a loop or an unbounded
// string could be made of.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "keys.h"
#include "memory/commands.h"
#include "memory/memory_backend.h"
#include "redis/resp.h"
#include "scripts.h"
#include "sfroute/clock.h"

namespace sfroute::fuzz {
namespace {

using internal::Command;
using internal::MemoryBackend;
using internal::Reply;
using Type = internal::Reply::Type;

// Keys that collide often: the two link keys of a uid (and of another uid
// in the same slot), a state and a workload key, plain names.
constexpr std::string_view kKeys[] = {"sf:{prod:lk:u1}scene",
                                      "sf:{prod:lk:u1}",
                                      "sf:{prod:lk:u1}chat",
                                      "sf:{prod:lk:u2}scene",
                                      "sf:{prod:lk:u2}",
                                      "sf:{prod:state:scene}",
                                      "sf:{prod:workload:scene}",
                                      "k",
                                      "h",
                                      ""};
constexpr std::string_view kNumbers[] = {"0",
                                         "1",
                                         "2",
                                         "7",
                                         "60",
                                         "-1",
                                         "-2",
                                         "00",
                                         "01",
                                         "-0",
                                         "1.5",
                                         "1e3",
                                         " 1",
                                         "abc",
                                         "1000",
                                         "86400",
                                         "9223372036854775807",
                                         "-9223372036854775808",
                                         "9223372036854775808",
                                         "2147483647",
                                         "2147483648"};
constexpr std::string_view kWords[] = {
    "EX",      "PX",     "EXAT",
    "PXAT",    "NX",     "XX",
    "GT",      "LT",     "GET",
    "KEEPTTL", "LOAD",   "EXISTS",
    "FLUSH",   "SYNC",   "ASYNC",
    "*",       "sf:*",   "*lk*",
    "[a-z]",   "\\*",    "scene",
    "chat",    "set",    "try",
    "absent",  "null",   "nil",
    "",        "a\r\nb", "x",
    "[",       "[^a]*",  "sf:{prod:lk:u[0-9]}*",
    "?",       "*\\",    "[a-]*",
    "[]]",     "h[\\]]", "a-very-long-field-or-value-of-more-than-sixty-four-bytes-for-a-hash"};
constexpr std::string_view kCommands[] = {
    "get",  "set",     "mget",    "del",  "exists", "expire",   "pexpire", "ttl",
    "pttl", "persist", "type",    "keys", "dbsize", "flushall", "ping",    "hset",
    "hget", "hdel",    "hgetall", "hlen", "script", "eval",     "evalsha"};

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

template <std::size_t N>
std::string Pick(FuzzedDataProvider& input, const std::string_view (&choices)[N]) {
  return std::string(choices[input.ConsumeIntegralInRange<std::size_t>(0, N - 1)]);
}

std::string Argument(FuzzedDataProvider& input) {
  switch (input.ConsumeIntegralInRange(0, 3)) {
    case 0:
      return Pick(input, kKeys);
    case 1:
      return Pick(input, kNumbers);
    case 2:
      return Pick(input, kWords);
    default:
      return input.ConsumeRandomLengthString(24);
  }
}

// A command name in a random case (Redis's names are case-insensitive).
std::string CommandName(FuzzedDataProvider& input) {
  std::string name = Pick(input, kCommands);
  const std::uint8_t mask = input.ConsumeIntegral<std::uint8_t>();
  for (std::size_t i = 0; i < name.size() && i < 8; ++i) {
    if (mask & (1u << i)) name[i] = static_cast<char>(std::toupper(name[i]));
  }
  return name;
}

// ---- Lua text that always ends ------------------------------------------

// No loops, no functions (no recursion), no assignment (no doubling of a
// string), no access to the functions that could make one (loadstring,
// string.rep, ...).
constexpr std::string_view kLuaTokens[] = {"return ",
                                           "return {",
                                           "redis.call(",
                                           "redis.pcall(",
                                           "redis.error_reply(",
                                           "redis.status_reply(",
                                           "redis.sha1hex(",
                                           "redis.log(redis.LOG_WARNING,",
                                           "redis.",
                                           "(",
                                           ")",
                                           "{",
                                           "}",
                                           ",",
                                           ";",
                                           " ",
                                           "\n",
                                           "KEYS[1]",
                                           "KEYS[2]",
                                           "KEYS[3]",
                                           "ARGV[1]",
                                           "ARGV[2]",
                                           "#KEYS",
                                           "'GET'",
                                           "'SET'",
                                           "'HSET'",
                                           "'HGET'",
                                           "'HDEL'",
                                           "'HGETALL'",
                                           "'DEL'",
                                           "'EXPIRE'",
                                           "'TTL'",
                                           "'PTTL'",
                                           "'TYPE'",
                                           "'KEYS'",
                                           "'MGET'",
                                           "'EVAL'",
                                           "'EVALSHA'",
                                           "'SCRIPT'",
                                           "'FLUSH'",
                                           "'FLUSHALL'",
                                           "'PING'",
                                           "'nosuch'",
                                           "'EX'",
                                           "'k'",
                                           "'v'",
                                           "'*'",
                                           "''",
                                           "'a\\r\\nb'",
                                           "1",
                                           "0",
                                           "-1",
                                           "1.5",
                                           "1e308",
                                           "-1e308",
                                           "0/0",
                                           "2^53",
                                           "2^63",
                                           "..",
                                           "+",
                                           "-",
                                           "*",
                                           "/",
                                           "%",
                                           "^",
                                           "#",
                                           "==",
                                           "~=",
                                           "<",
                                           ">",
                                           "and ",
                                           "or ",
                                           "not ",
                                           "nil",
                                           "true",
                                           "false",
                                           "if ",
                                           " then ",
                                           " else ",
                                           " end ",
                                           "tostring(",
                                           "tonumber(",
                                           "type(",
                                           "pcall(",
                                           "error(",
                                           "assert(",
                                           "unpack(",
                                           "select(",
                                           "select('#',",
                                           "table.concat(",
                                           "table.insert(",
                                           "table.remove(",
                                           "table.sort(",
                                           "table.getn(",
                                           "string.format(",
                                           "'%d'",
                                           "'%s'",
                                           "'%q'",
                                           "'%5.2f'",
                                           "string.sub(",
                                           "string.byte(",
                                           "string.char(",
                                           "string.upper(",
                                           "string.len(",
                                           "string.reverse(",
                                           "math.huge",
                                           "math.floor(",
                                           "math.max(",
                                           "math.random(",
                                           "_G",
                                           "_G.x",
                                           ".",
                                           "err",
                                           "ok",
                                           "{err=",
                                           "{ok=",
                                           "[1]",
                                           "['ok']",
                                           "['err']",
                                           ":upper()",
                                           "setmetatable({},{__index=_G})"};

// A Lua expression from a small grammar (calls into redis, tables, error
// and status tables, operators, the string and table functions): scripts
// that compile and run, unlike most token soups.
std::string LuaExpression(FuzzedDataProvider& input, int depth) {
  static constexpr std::string_view kLiterals[] = {"1",
                                                   "0",
                                                   "-1",
                                                   "3.7",
                                                   "1e308",
                                                   "0/0",
                                                   "2^63",
                                                   "nil",
                                                   "true",
                                                   "false",
                                                   "'k'",
                                                   "'v'",
                                                   "'h'",
                                                   "'sf:{prod:lk:u1}scene'",
                                                   "'sf:{prod:lk:u1}'",
                                                   "'*'",
                                                   "''",
                                                   "'-1'",
                                                   "'x\\r\\ny'",
                                                   "'OK'",
                                                   "'EX'",
                                                   "'60'",
                                                   "KEYS[1]",
                                                   "KEYS[2]",
                                                   "ARGV[1]",
                                                   "ARGV[2]",
                                                   "#KEYS",
                                                   "#ARGV",
                                                   "{}",
                                                   "redis.LOG_NOTICE",
                                                   "math.huge",
                                                   "_G"};
  static constexpr std::string_view kCommandNames[] = {
      "'GET'",  "'SET'",     "'MGET'",    "'DEL'",  "'EXISTS'",  "'EXPIRE'", "'PEXPIRE'",
      "'TTL'",  "'PTTL'",    "'PERSIST'", "'TYPE'", "'KEYS'",    "'DBSIZE'", "'FLUSHALL'",
      "'PING'", "'HSET'",    "'HGET'",    "'HDEL'", "'HGETALL'", "'HLEN'",   "'SCRIPT'",
      "'EVAL'", "'EVALSHA'", "'nosuch'",  "'get'",  "123"};
  static constexpr std::string_view kUnary[] = {"tostring(",
                                                "tonumber(",
                                                "type(",
                                                "#",
                                                "-",
                                                "not ",
                                                "string.upper(",
                                                "string.len(",
                                                "string.reverse(",
                                                "redis.sha1hex(",
                                                "redis.error_reply(",
                                                "redis.status_reply(",
                                                "unpack(",
                                                "math.floor(",
                                                "error(",
                                                "assert(",
                                                "table.getn(",
                                                "select('#',",
                                                "string.format('%q',",
                                                "string.format('%d',",
                                                "string.format('%5.1f',",
                                                "pcall(",
                                                "table.concat(",
                                                "table.sort(",
                                                "string.byte(",
                                                "string.char("};
  static constexpr std::string_view kBinary[] = {"..", "+",  "-", "*",  "/",   "%", "^",
                                                 "==", "~=", "<", "<=", "and", "or"};
  if (depth >= 4) return Pick(input, kLiterals);
  switch (input.ConsumeIntegralInRange(0, 8)) {
    case 0:
    case 1: {  // redis.call / redis.pcall
      std::string call = input.ConsumeBool() ? "redis.call(" : "redis.pcall(";
      call += Pick(input, kCommandNames);
      const int args = input.ConsumeIntegralInRange(0, 4);
      for (int i = 0; i < args; ++i) call += "," + LuaExpression(input, depth + 1);
      return call + ")";
    }
    case 2: {  // a table, or an error or status table
      static constexpr std::string_view kOpen[] = {"{", "{err=", "{ok=", "{1,", "{ok=1,err="};
      std::string table(Pick(input, kOpen));
      const int elements = input.ConsumeIntegralInRange(0, 3);
      for (int i = 0; i < elements; ++i) {
        table += (i > 0 ? "," : "") + LuaExpression(input, depth + 1);
      }
      if (table.back() == '=' || table.back() == ',') table += "nil";
      return table + "}";
    }
    case 3:
      return Pick(input, kUnary) + LuaExpression(input, depth + 1) +
             (input.ConsumeBool() ? ")" : "," + LuaExpression(input, depth + 1) + ")");
    case 4:
      return "(" + LuaExpression(input, depth + 1) + " " + Pick(input, kBinary) + " " +
             LuaExpression(input, depth + 1) + ")";
    case 5: {  // a field of a reply: [1], .ok, .err
      static constexpr std::string_view kFields[] = {"[1]", "[2]", ".ok", ".err", "['ok']"};
      return "(" + LuaExpression(input, depth + 1) + ")" + Pick(input, kFields);
    }
    case 6:
      return "redis.log(redis.LOG_WARNING," + LuaExpression(input, depth + 1) + ")";
    default:
      return Pick(input, kLiterals);
  }
}

// Statements (calls, if/else) then return: no loop, no assignment.
std::string GrammarScript(FuzzedDataProvider& input) {
  std::string script;
  const int statements = input.ConsumeIntegralInRange(0, 3);
  for (int i = 0; i < statements; ++i) {
    if (input.ConsumeBool()) {
      script +=
          "if " + LuaExpression(input, 2) + " then return " + LuaExpression(input, 1) + " end\n";
    } else {
      std::string call = LuaExpression(input, 0);
      // Only a call is a statement.
      script +=
          (call.ends_with(")") && !call.starts_with("(") ? call : "redis.call('PING')") + "\n";
    }
  }
  if (input.ConsumeIntegralInRange(0, 7) != 0) script += "return " + LuaExpression(input, 0);
  return script;
}

std::string TokenScript(FuzzedDataProvider& input) {
  std::string script;
  const int count = input.ConsumeIntegralInRange(1, 48);
  for (int i = 0; i < count; ++i) script += Pick(input, kLuaTokens);
  return script;
}

// Raw text is run only when nothing in it could loop or grow a string
// without bound. A small lexer (strings and comments skipped) refuses:
//  - the names a loop, a function (recursion) or a way to reach one is made
//    of (while, for, function, loadstring, string.rep, next, ...);
//  - '[' except a constant index like KEYS[1] (no computed names such as
//    _G["load".."string"], no long strings or comments);
//  - '=' outside a table constructor, other than ==, ~=, <=, >= (no
//    assignment: no `x = x .. x` doubling).
bool SafeLuaText(std::string_view text) {
  static constexpr std::string_view kRefused[] = {
      "while",    "repeat",     "until",          "for",      "function",     "goto",
      "load",     "loadstring", "dofile",         "rep",      "find",         "match",
      "gsub",     "gmatch",     "setfenv",        "getfenv",  "rawget",       "rawset",
      "rawequal", "next",       "pairs",          "ipairs",   "setmetatable", "getmetatable",
      "dump",     "require",    "collectgarbage", "newproxy", "coroutine",    "debug",
      "module",   "package"};
  auto is_name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  };
  int braces = 0;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '\'' || c == '"') {  // a short string, with its escapes
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\') ++i;
      }
      ++i;
    } else if (text.substr(i, 2) == "--") {  // a comment, to the end of the line
      i = text.find('\n', i);
      if (i == std::string_view::npos) return true;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const std::size_t start = i;
      while (i < text.size() && is_name_char(text[i])) ++i;
      const std::string_view name = text.substr(start, i - start);
      for (std::string_view refused : kRefused) {
        if (name == refused) return false;
      }
    } else if (c == '[') {  // only [digits]
      std::size_t j = i + 1;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
      if (j == i + 1 || j >= text.size() || text[j] != ']') return false;
      i = j + 1;
    } else if (c == '=') {
      if (i + 1 < text.size() && text[i + 1] == '=') {
        i += 2;
        continue;
      }
      const bool compare =
          i > 0 && (text[i - 1] == '~' || text[i - 1] == '<' || text[i - 1] == '>');
      if (!compare && braces == 0) return false;
      ++i;
    } else {
      if (c == '{') ++braces;
      if (c == '}' && braces > 0) --braces;
      ++i;
    }
  }
  return true;
}

// ---- Replies -------------------------------------------------------------

bool IsErrorCode(std::string_view error) {
  const std::size_t space = error.find(' ');
  if (space == 0 || space == std::string_view::npos) return false;
  for (char c : error.substr(0, space)) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

// Well formed: representable in RESP, and parsed back to itself.
void CheckWellFormed(const Reply& reply, const std::string& context) {
  switch (reply.type) {
    case Type::kNil:
    case Type::kInteger:
    case Type::kString:
      break;
    case Type::kStatus:
    case Type::kError:
      FUZZ_CHECK(reply.str.find_first_of("\r\n") == std::string::npos,
                 context + ": a CR or LF in " + Describe(reply));
      break;
    case Type::kArray:
      for (const Reply& element : reply.elements) CheckWellFormed(element, context);
      break;
    default:
      FUZZ_CHECK(false, context + ": reply type " + std::to_string(static_cast<int>(reply.type)));
  }
}

void CheckRoundTrip(const Reply& reply, const std::string& context) {
  std::string resp;
  AppendResp(reply, resp);
  internal::ReplyParser parser;
  parser.Feed(resp.data(), resp.size());
  std::vector<Reply> parsed;
  auto complete = parser.Next(parsed);
  FUZZ_CHECK(complete.ok() && *complete && SameReply(parsed.front(), reply),
             context + ": " + Describe(reply) + " does not survive RESP");
}

bool IsStringOrNil(const Reply& reply) {
  return reply.type == Type::kString || reply.type == Type::kNil;
}

bool AllStrings(const Reply& reply) {
  for (const Reply& element : reply.elements) {
    if (element.type != Type::kString) return false;
  }
  return true;
}

// The shape Redis gives each command's reply (errors aside).
void CheckShape(const Command& command, const Reply& reply, const std::string& context) {
  CheckWellFormed(reply, context);
  CheckRoundTrip(reply, context);
  const std::string name = Lowercase(command.args.empty() ? "" : command.args[0]);
  const bool eval = name == "eval" || name == "evalsha";
  if (reply.is_error()) {
    // A script may answer any error text ({err=...}); a command's error has
    // a code.
    if (!eval) FUZZ_CHECK(IsErrorCode(reply.str), context + ": " + Describe(reply));
    return;
  }
  const std::string shape = context + ": " + Describe(reply);
  const std::size_t argc = command.args.size();
  if (name == "get" || name == "hget") {
    FUZZ_CHECK(IsStringOrNil(reply), shape);
  } else if (name == "set") {
    FUZZ_CHECK((reply.type == Type::kStatus && reply.str == "OK") || IsStringOrNil(reply), shape);
  } else if (name == "mget") {
    FUZZ_CHECK(reply.type == Type::kArray && reply.elements.size() == argc - 1, shape);
    for (const Reply& element : reply.elements) FUZZ_CHECK(IsStringOrNil(element), shape);
  } else if (name == "del" || name == "exists" || name == "hdel" || name == "hset") {
    FUZZ_CHECK(reply.type == Type::kInteger && reply.integer >= 0 &&
                   reply.integer <= static_cast<std::int64_t>(argc),
               shape);
  } else if (name == "expire" || name == "pexpire" || name == "persist") {
    FUZZ_CHECK(reply.type == Type::kInteger && (reply.integer == 0 || reply.integer == 1), shape);
  } else if (name == "ttl" || name == "pttl") {
    FUZZ_CHECK(reply.type == Type::kInteger && reply.integer >= -2, shape);
  } else if (name == "dbsize" || name == "hlen") {
    FUZZ_CHECK(reply.type == Type::kInteger && reply.integer >= 0, shape);
  } else if (name == "type") {
    FUZZ_CHECK(reply.type == Type::kStatus &&
                   (reply.str == "none" || reply.str == "string" || reply.str == "hash"),
               shape);
  } else if (name == "keys") {
    FUZZ_CHECK(reply.type == Type::kArray && AllStrings(reply), shape);
  } else if (name == "hgetall") {
    FUZZ_CHECK(reply.type == Type::kArray && reply.elements.size() % 2 == 0 && AllStrings(reply),
               shape);
  } else if (name == "flushall") {
    FUZZ_CHECK(reply.type == Type::kStatus && reply.str == "OK", shape);
  } else if (name == "ping") {
    FUZZ_CHECK((reply.type == Type::kStatus && reply.str == "PONG") ||
                   (reply.type == Type::kString && argc == 2 && reply.str == command.args[1]),
               shape);
  } else if (name == "script") {
    FUZZ_CHECK(reply.type == Type::kString || reply.type == Type::kStatus ||
                   (reply.type == Type::kArray && reply.elements.size() == argc - 2),
               shape);
  } else if (!eval) {
    FUZZ_CHECK(false, context + ": an unknown command did not fail: " + Describe(reply));
  }
}

// ---- The keyspace, seen from outside ---------------------------------------

struct KeyState {
  std::string type;                         // "string" or "hash"
  std::string value;                        // a string's value
  std::map<std::string, std::string> hash;  // a hash's fields
  std::int64_t pttl = -1;
  bool operator==(const KeyState&) const = default;
};
using Snapshot = std::map<std::string, KeyState>;

std::string Describe(const Snapshot& snapshot) {
  std::string out = "{";
  for (const auto& [key, state] : snapshot) {
    out += " \"" + Escape(key) + "\": " + state.type + " ";
    if (state.type == "string") {
      out += "\"" + Escape(state.value) + "\"";
    } else {
      for (const auto& [field, value] : state.hash) {
        out += Escape(field) + "=" + Escape(value) + " ";
      }
    }
    out += " pttl " + std::to_string(state.pttl) + ";";
    if (out.size() > 2000) return out + " ...}";
  }
  return out + " }";
}

class Harness {
 public:
  Harness()
      : clock_(std::make_shared<ManualClock>()),
        backend_(std::make_unique<MemoryBackend>(clock_)) {}

  // Runs a batch and checks every reply's shape.
  std::vector<Reply> Run(const std::vector<Command>& commands) {
    std::vector<Reply> replies = backend_->Execute(commands);
    FUZZ_CHECK(replies.size() == commands.size(), std::to_string(replies.size()) + " replies for " +
                                                      std::to_string(commands.size()) +
                                                      " commands");
    for (std::size_t i = 0; i < commands.size(); ++i) {
      if (trace_) {
        std::fprintf(stderr, "> %s\n  %s\n", DescribeCommand(commands[i]).c_str(),
                     fuzz::Describe(replies[i]).c_str());
      }
      CheckShape(commands[i], replies[i], DescribeCommand(commands[i]));
    }
    return replies;
  }

  Reply RunOne(Command command) { return Run({std::move(command)}).front(); }

  // Every key with its type, value and PTTL; checks DBSIZE and TYPE agree.
  Snapshot Take() {
    const std::vector<Reply> listing = Run({{{"KEYS", "*"}}, {{"DBSIZE"}}});
    const Reply& keys = listing[0];
    FUZZ_CHECK(keys.type == Type::kArray && listing[1].type == Type::kInteger &&
                   static_cast<std::size_t>(listing[1].integer) == keys.elements.size(),
               "KEYS * " + fuzz::Describe(keys) + " vs DBSIZE " + fuzz::Describe(listing[1]));
    Snapshot snapshot;
    for (const Reply& key : keys.elements) {
      const std::vector<Reply> about = Run(
          {{{"TYPE", key.str}}, {{"PTTL", key.str}}, {{"GET", key.str}}, {{"HGETALL", key.str}}});
      KeyState state;
      state.type = about[0].str;
      state.pttl = about[1].integer;
      const std::string context = "key \"" + Escape(key.str) + "\": TYPE " +
                                  fuzz::Describe(about[0]) + ", PTTL " + fuzz::Describe(about[1]);
      FUZZ_CHECK(state.pttl == -1 || state.pttl > 0, context);
      if (state.type == "string") {
        FUZZ_CHECK(about[2].type == Type::kString && about[3].is_error(), context);
        state.value = about[2].str;
      } else {
        FUZZ_CHECK(state.type == "hash" && about[2].is_error() && !about[3].elements.empty(),
                   context);
        for (std::size_t i = 0; i + 1 < about[3].elements.size(); i += 2) {
          state.hash[about[3].elements[i].str] = about[3].elements[i + 1].str;
        }
      }
      FUZZ_CHECK(snapshot.emplace(key.str, state).second, context + ": listed twice");
    }
    return snapshot;
  }

  void Advance(std::int64_t ms) { clock_->Advance(std::chrono::milliseconds(ms)); }

  static std::string DescribeCommand(const Command& command) {
    std::string out;
    for (const std::string& arg : command.args) {
      out += (out.empty() ? "" : " ") + std::string("\"") + Escape(arg, 80) + "\"";
      if (out.size() > 600) return out + " ...";
    }
    return out;
  }

 private:
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<MemoryBackend> backend_;
  // SFROUTE_FUZZ_TRACE=1: every command and its reply on stderr, to see
  // what an input does.
  const bool trace_ = std::getenv("SFROUTE_FUZZ_TRACE") != nullptr;
};

// ---- The real scripts -------------------------------------------------------

const internal::EmbeddedScript& Script(std::string_view name) { return internal::GetScript(name); }

bool IsAbsent(const KeyState* state) {
  return state == nullptr || state->type != "string" || internal::IsAbsentValue(state->value);
}

const KeyState* Find(const Snapshot& snapshot, const std::string& key) {
  auto it = snapshot.find(key);
  return it == snapshot.end() ? nullptr : &it->second;
}

// A positive number of seconds that SET EX and EXPIRE accept.
std::optional<std::int64_t> Seconds(const std::string& text) {
  const std::optional<PodIndex> small = internal::ParsePodIndex(text);
  if (!small.has_value() || *small <= 0) return std::nullopt;
  return *small;
}

enum class RealScript { kSetLink, kRemoveLink, kGetLinkIfPersist };
enum class ScriptCall { kEval, kEvalSha, kLoadThenEvalSha };

// Runs one of the real scripts and checks what it did against its contract.
void CheckRealScript(Harness& harness, RealScript which, const std::vector<std::string>& keys,
                     const std::vector<std::string>& argv, ScriptCall how) {
  const internal::EmbeddedScript& script =
      Script(which == RealScript::kSetLink      ? "set_link"
             : which == RealScript::kRemoveLink ? "remove_link"
                                                : "get_link_if_persist");
  Command command;
  const bool by_sha = how != ScriptCall::kEval;
  command.args = {by_sha ? "EVALSHA" : "EVAL",
                  by_sha ? std::string(script.sha1) : std::string(script.source),
                  std::to_string(keys.size())};
  command.args.insert(command.args.end(), keys.begin(), keys.end());
  command.args.insert(command.args.end(), argv.begin(), argv.end());
  if (how == ScriptCall::kLoadThenEvalSha) {
    harness.RunOne({{"SCRIPT", "LOAD", std::string(script.source)}});
  }
  const std::string link = keys.empty() ? "" : keys[0];
  const std::string links = keys.size() < 2 ? "" : keys[1];
  const std::string svc = argv.empty() ? "" : argv[0];

  const Snapshot before = harness.Take();
  const Reply reply = harness.RunOne(command);
  const Snapshot after = harness.Take();
  const std::string context = Harness::DescribeCommand(command) + "\n  before " + Describe(before) +
                              "\n  reply " + fuzz::Describe(reply) + "\n  after " + Describe(after);
  // The contract holds for the keys the executor sends: two distinct keys
  // (with one key for both, set_link.lua's SET turns the key into a string
  // and its HSET then fails, after the write).
  if (keys.size() == 2 && link == links) return;
  if (reply.is_error()) {
    // Including NOSCRIPT (EVALSHA before the script was loaded): nothing ran.
    FUZZ_CHECK(before == after, "a failed script wrote: " + context);
    return;
  }
  // ... and for the arguments it sends: a canonical pod, a TTL of -1 or
  // seconds > 0, one of the three modes.
  const KeyState* old_link = Find(before, link);
  const KeyState* new_link = Find(after, link);
  if (which == RealScript::kGetLinkIfPersist) {
    if (keys.size() != 1 || !argv.empty()) return;
    const bool persistent = !IsAbsent(old_link) && old_link->pttl == -1;
    FUZZ_CHECK(persistent ? reply.type == Type::kString && reply.str == old_link->value
                          : reply.type == Type::kInteger && reply.integer == -1,
               context);
    FUZZ_CHECK(before == after, "a read wrote: " + context);
    return;
  }
  if (keys.size() != 2 || argv.size() < 2) return;
  const std::optional<PodIndex> pod = internal::ParsePodIndex(argv[1]);
  if (which == RealScript::kSetLink) {
    const std::optional<std::int64_t> ttl = Seconds(argv[2]);
    if (argv.size() != 4 || !pod.has_value() || (argv[2] != "-1" && !ttl.has_value()) ||
        (argv[3] != "set" && argv[3] != "try" && argv[3] != "absent")) {
      return;
    }
    FUZZ_CHECK(reply.type == Type::kArray && reply.elements.size() == 2 &&
                   reply.elements[0].type == Type::kInteger,
               context);
    const bool applied = reply.elements[0].integer == 1;
    const bool absent = IsAbsent(old_link);
    const Reply& previous = reply.elements[1];
    FUZZ_CHECK(absent ? previous.type == Type::kInteger && previous.integer == -1
                      : previous.type == Type::kString && previous.str == old_link->value,
               context);
    bool should_apply = argv[3] == "set" || absent;
    if (argv[3] == "try" && !absent) {
      should_apply = old_link->value == argv[1] || old_link->pttl != -1;
    }
    FUZZ_CHECK(applied == should_apply, context);
    if (!applied) {
      FUZZ_CHECK(before == after, "a link that was not applied wrote: " + context);
      return;
    }
    FUZZ_CHECK(new_link != nullptr && new_link->type == "string" && new_link->value == argv[1],
               context);
    const KeyState* hash = Find(after, links);
    const std::string* field =
        hash != nullptr && hash->hash.contains(svc) ? &hash->hash.at(svc) : nullptr;
    if (argv[2] == "-1") {
      FUZZ_CHECK(new_link->pttl == -1 && field != nullptr && *field == argv[1], context);
    } else {
      FUZZ_CHECK(new_link->pttl > 0 && new_link->pttl <= *ttl * 1000 && field == nullptr, context);
    }
    return;
  }
  // remove_link
  const std::optional<std::int64_t> keep = internal::ParseInt64(argv[1]);
  if (argv.size() > 3 || !keep.has_value() || *keep < -1 || *keep > 1000000000) return;
  const bool guarded = argv.size() == 3;
  FUZZ_CHECK(reply.type == Type::kInteger && (reply.integer == 0 || reply.integer == 1), context);
  if (guarded &&
      (old_link == nullptr || old_link->type != "string" || old_link->value != argv[2])) {
    FUZZ_CHECK(reply.integer == 0 && before == after, "a guarded remove wrote: " + context);
    return;
  }
  FUZZ_CHECK(reply.integer == (IsAbsent(old_link) ? 0 : 1), context);
  const KeyState* hash = Find(after, links);
  FUZZ_CHECK(hash == nullptr || !hash->hash.contains(svc), context);
  if (*keep > 0 && old_link != nullptr) {
    FUZZ_CHECK(new_link != nullptr && new_link->value == old_link->value && new_link->pttl > 0 &&
                   new_link->pttl <= *keep * 1000,
               context);
  } else {
    FUZZ_CHECK(new_link == nullptr, context);
  }
}

// One of the real scripts with arguments from the input: mostly the ones
// the executor sends, sometimes others.
void RunRealScript(Harness& harness, FuzzedDataProvider& input) {
  const auto which = static_cast<RealScript>(input.ConsumeIntegralInRange(0, 2));
  // Mostly the two link keys of one uid, as the executor sends them.
  std::string link = "sf:{prod:lk:u1}scene", links = "sf:{prod:lk:u1}";
  if (input.ConsumeIntegralInRange(0, 3) == 0) {
    link = Pick(input, kKeys);
    links = Pick(input, kKeys);
  }
  std::string svc = input.ConsumeIntegralInRange(0, 3) == 0 ? Argument(input) : "scene";
  std::vector<std::string> keys = {link};
  std::vector<std::string> argv;
  if (which == RealScript::kSetLink) {
    keys.push_back(links);
    argv = {svc, Pick(input, kNumbers), Pick(input, kNumbers), Pick(input, kWords)};
    if (input.ConsumeBool()) argv[2] = input.ConsumeBool() ? "-1" : "60";
    if (input.ConsumeBool()) {
      static constexpr std::string_view kModes[] = {"set", "try", "absent"};
      argv[3] = Pick(input, kModes);
    }
  } else if (which == RealScript::kRemoveLink) {
    keys.push_back(links);
    argv = {svc, Pick(input, kNumbers)};
    if (input.ConsumeBool()) argv.push_back(Pick(input, kNumbers));
  }
  if (input.ConsumeIntegralInRange(0, 7) == 0) argv.push_back(Argument(input));  // one too many
  const auto how = static_cast<ScriptCall>(input.ConsumeIntegralInRange(0, 2));
  CheckRealScript(harness, which, keys, argv, how);
}

// ---- The program --------------------------------------------------------

// Script text that could loop (a command made of random arguments, or
// text typed in a seed) is replaced by "return 1": EVAL's script and SCRIPT
// LOAD's. EVALSHA runs only what one of them loaded.
void MakeScriptsSafe(Command& command) {
  const std::string name = Lowercase(command.args.empty() ? "" : command.args[0]);
  std::string* text = nullptr;
  if (name == "eval" && command.args.size() > 1) text = &command.args[1];
  if (name == "script" && command.args.size() > 2 && Lowercase(command.args[1]) == "load") {
    text = &command.args[2];
  }
  if (text != nullptr && !SafeLuaText(*text)) *text = "return 1";
}

Command RandomCommand(FuzzedDataProvider& input) {
  Command command;
  bool built_to_end = false;  // Lua from the tokens or the grammar: it cannot loop
  switch (input.ConsumeIntegralInRange(0, 11)) {
    case 0:  // a made-up command
      command.args.push_back(input.ConsumeRandomLengthString(20));
      break;
    case 1:  // EVAL of Lua built from tokens
      command.args = {"EVAL", TokenScript(input)};
      built_to_end = true;
      break;
    case 10:
    case 11:  // EVAL of Lua from the grammar
      command.args = {"EVAL", GrammarScript(input)};
      built_to_end = true;
      break;
    case 2:  // EVAL of raw text, when it cannot loop (MakeScriptsSafe)
      command.args = {"eval", input.ConsumeRandomLengthString(200)};
      break;
    default:
      command.args.push_back(CommandName(input));
      break;
  }
  if (Lowercase(command.args[0]) == "eval" && command.args.size() == 2) {
    const int keys = input.ConsumeIntegralInRange(0, 3);
    command.args.push_back(std::to_string(keys));
    for (int i = 0; i < keys; ++i) command.args.push_back(Pick(input, kKeys));
  }
  const int extra = input.ConsumeIntegralInRange(0, 6);
  for (int i = 0; i < extra; ++i) command.args.push_back(Argument(input));
  if (!built_to_end) MakeScriptsSafe(command);
  return command;
}

// What single commands rarely reach: a hash of many fields (Redis's
// listpack turns into a table past 128), many deadlines for one key (stale
// deadlines are dropped past 1024).
void RunRepeated(Harness& harness, FuzzedDataProvider& input) {
  const std::string key = Pick(input, kKeys);
  const int count = input.ConsumeIntegralInRange(1, 1100);
  std::vector<Command> batch;
  if (input.ConsumeBool()) {
    Command hset{{"HSET", key}};
    for (int i = 0; i < count % 200; ++i) {
      hset.args.push_back("f" + std::to_string(i));
      hset.args.push_back(std::to_string(i));
    }
    if (hset.args.size() == 2) hset.args.insert(hset.args.end(), {"f", std::string(65, 'v')});
    batch.push_back(std::move(hset));
  } else {
    const std::string command = input.ConsumeBool() ? "PEXPIRE" : "SET";
    for (int i = 0; i < count; ++i) {
      if (command == "SET") {
        batch.push_back({{"SET", key, "v", "PX", std::to_string(1 + i % 50)}});
      } else {
        batch.push_back({{"PEXPIRE", key, std::to_string(1 + i % 50)}});
      }
    }
  }
  harness.Run(batch);
}

// ---- Text programs (the seed corpus) -------------------------------------
//
// An input that starts with "#!redis" is a program in text, one step a
// line, arguments split at spaces, "double quoted" with \" \\ \n \r \t \xHH:
//   SET k v EX 60                      a command (its own batch)
//   advance 60000                      the clock moves 60 s
//   script set_link sha 2 KEY KEY scene 7 -1 set
//                                      a real script (eval, sha: EVALSHA, or
//                                      load: SCRIPT LOAD then EVALSHA),
//                                      numkeys, keys, then ARGV; checked
//                                      against its contract
// Lines starting with '#' are comments.

constexpr std::string_view kTextMagic = "#!redis";

std::vector<std::string> SplitLine(std::string_view line) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
      ++i;
      continue;
    }
    std::string word;
    if (line[i] != '"') {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
        word.push_back(line[i++]);
      }
      words.push_back(std::move(word));
      continue;
    }
    for (++i; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] != '\\' || i + 1 >= line.size()) {
        word.push_back(line[i]);
        continue;
      }
      const char escaped = line[++i];
      switch (escaped) {
        case 'n':
          word.push_back('\n');
          break;
        case 'r':
          word.push_back('\r');
          break;
        case 't':
          word.push_back('\t');
          break;
        case 'x':
          if (i + 2 < line.size()) {
            word.push_back(static_cast<char>(
                std::stoi(std::string(line.substr(i + 1, 2)), nullptr, 16) & 0xff));
            i += 2;
          }
          break;
        default:
          word.push_back(escaped);
      }
    }
    ++i;  // the closing quote
    words.push_back(std::move(word));
  }
  return words;
}

bool IsHex(std::string_view text) {
  return text.size() == 2 && std::isxdigit(static_cast<unsigned char>(text[0])) &&
         std::isxdigit(static_cast<unsigned char>(text[1]));
}

void RunTextLine(Harness& harness, std::string_view line) {
  // \x must be followed by two hex digits; anything else is taken as is.
  for (std::size_t at = line.find("\\x"); at != std::string_view::npos;
       at = line.find("\\x", at + 1)) {
    if (!IsHex(line.substr(at + 2, 2))) return;
  }
  std::vector<std::string> words = SplitLine(line);
  if (words.empty()) return;
  const std::string first = Lowercase(words[0]);
  if (first == "advance" && words.size() == 2) {
    const std::optional<std::int64_t> ms = internal::ParseInt64(words[1]);
    if (ms.has_value() && *ms >= 0 && *ms <= 100'000'000) harness.Advance(*ms);
    return;
  }
  if (first == "script" && words.size() >= 4) {
    static constexpr std::string_view kNames[] = {"set_link", "remove_link", "get_link_if_persist"};
    static constexpr std::string_view kCalls[] = {"eval", "sha", "load"};
    const auto name = std::find(std::begin(kNames), std::end(kNames), words[1]);
    const auto call = std::find(std::begin(kCalls), std::end(kCalls), words[2]);
    const std::optional<std::int64_t> numkeys = internal::ParseInt64(words[3]);
    if (name == std::end(kNames) || call == std::end(kCalls) || !numkeys.has_value() ||
        *numkeys < 0 || *numkeys > static_cast<std::int64_t>(words.size() - 4)) {
      return;
    }
    const std::vector<std::string> keys(words.begin() + 4, words.begin() + 4 + *numkeys);
    const std::vector<std::string> argv(words.begin() + 4 + *numkeys, words.end());
    CheckRealScript(harness, static_cast<RealScript>(name - std::begin(kNames)), keys, argv,
                    static_cast<ScriptCall>(call - std::begin(kCalls)));
    return;
  }
  Command command{std::move(words)};
  MakeScriptsSafe(command);
  harness.Run({std::move(command)});
}

void RunText(Harness& harness, std::string_view text) {
  int lines = 0;
  while (!text.empty() && lines++ < 64) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.starts_with('#')) RunTextLine(harness, line);
  }
}

}  // namespace
}  // namespace sfroute::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using sfroute::fuzz::Harness;
  Harness harness;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.starts_with(sfroute::fuzz::kTextMagic)) {
    sfroute::fuzz::RunText(harness, text);
    harness.Take();
    return 0;
  }
  FuzzedDataProvider input(data, size);
  for (int step = 0; step < 48 && input.remaining_bytes() > 0; ++step) {
    switch (input.ConsumeIntegralInRange(0, 7)) {
      case 0:
        harness.Advance(input.ConsumeIntegralInRange<std::int64_t>(0, 100'000'000));
        break;
      case 1:
        sfroute::fuzz::RunRealScript(harness, input);
        break;
      case 2:
        if (input.ConsumeIntegralInRange(0, 3) == 0) {
          sfroute::fuzz::RunRepeated(harness, input);
          break;
        }
        [[fallthrough]];
      default: {
        std::vector<sfroute::internal::Command> batch;
        const int count = input.ConsumeIntegralInRange(1, 4);
        for (int i = 0; i < count && input.remaining_bytes() > 0; ++i) {
          batch.push_back(sfroute::fuzz::RandomCommand(input));
        }
        harness.Run(batch);
        break;
      }
    }
  }
  harness.Take();  // the keyspace is consistent
  return 0;
}
