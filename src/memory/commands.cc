#include "memory/commands.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <unordered_map>

#include "str_cat.h"

namespace sfroute::internal {
namespace {

// Scripts may not run scripts or manage the script cache (Redis's
// "noscript" flag).
constexpr CommandSpec kCommands[] = {
    {"get", 2, true, GetCommand},
    {"set", -3, true, SetCommand},
    {"mget", -2, true, MgetCommand},
    {"del", -2, true, DelCommand},
    {"exists", -2, true, ExistsCommand},
    {"expire", -3, true, ExpireCommand},
    {"pexpire", -3, true, PexpireCommand},
    {"ttl", 2, true, TtlCommand},
    {"pttl", 2, true, PttlCommand},
    {"persist", 2, true, PersistCommand},
    {"type", 2, true, TypeCommand},
    {"keys", 2, true, KeysCommand},
    {"scan", -2, true, ScanCommand},
    {"dbsize", 1, true, DbsizeCommand},
    {"flushall", -1, true, FlushallCommand},
    {"ping", -1, true, PingCommand},
    {"hset", -4, true, HsetCommand},
    {"hget", 3, true, HgetCommand},
    {"hdel", -3, true, HdelCommand},
    {"hgetall", 2, true, HgetallCommand},
    {"hlen", 2, true, HlenCommand},
    {"script", -2, false, ScriptCommand},
    {"eval", -3, false, EvalCommand},
    {"evalsha", -3, false, EvalshaCommand},
};

// No command name is longer; longer names are unknown without a lookup.
constexpr std::size_t kMaxNameLength = 16;

const std::unordered_map<std::string_view, const CommandSpec*>& CommandsByName() {
  static const auto* const by_name = [] {
    auto* map = new std::unordered_map<std::string_view, const CommandSpec*>();
    for (const CommandSpec& spec : kCommands) map->emplace(spec.name, &spec);
    return map;
  }();
  return *by_name;
}

}  // namespace

const CommandSpec* FindCommand(std::string_view name) {
  if (name.size() > kMaxNameLength) return nullptr;
  char lower[kMaxNameLength];
  for (std::size_t i = 0; i < name.size(); ++i) {
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  }
  const auto& by_name = CommandsByName();
  auto it = by_name.find(std::string_view(lower, name.size()));
  return it == by_name.end() ? nullptr : it->second;
}

Reply WrongTypeError() {
  return Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value");
}

Reply WrongArityError(std::string_view command_name) {
  return Reply::Error(StrCat("ERR wrong number of arguments for '", command_name, "' command"));
}

Reply SyntaxError() { return Reply::Error("ERR syntax error"); }

Reply NotIntegerError() { return Reply::Error("ERR value is not an integer or out of range"); }

Reply InvalidExpireTimeError(std::string_view command_name) {
  return Reply::Error(StrCat("ERR invalid expire time in '", command_name, "' command"));
}

void ReplaceNewlines(std::string& text) {
  for (char& c : text) {
    if (c == '\r' || c == '\n') c = ' ';
  }
}

std::optional<std::int64_t> ParseInt64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  if (text == "0") return 0;
  const bool negative = text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty() || text.front() < '1' || text.front() > '9') return std::nullopt;
  std::uint64_t magnitude = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    magnitude = magnitude * 10 + digit;
  }
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (magnitude > kMax + 1) return std::nullopt;
    return static_cast<std::int64_t>(0 - magnitude);  // two's complement, also for the minimum
  }
  if (magnitude > kMax) return std::nullopt;
  return static_cast<std::int64_t>(magnitude);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace sfroute::internal
