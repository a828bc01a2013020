// Commands on keys of any type, and the server-wide ones.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "memory/commands.h"
#include "memory/glob.h"
#include "memory/string_hash.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

struct ExpireFlags {
  bool nx = false, xx = false, gt = false, lt = false;
};

// Parses EXPIRE's NX|XX|GT|LT; nullopt after setting `error`.
std::optional<ExpireFlags> ParseExpireFlags(Args options, Reply& error) {
  ExpireFlags flags;
  for (const std::string& option : options) {
    if (EqualsIgnoreCase(option, "NX")) {
      flags.nx = true;
    } else if (EqualsIgnoreCase(option, "XX")) {
      flags.xx = true;
    } else if (EqualsIgnoreCase(option, "GT")) {
      flags.gt = true;
    } else if (EqualsIgnoreCase(option, "LT")) {
      flags.lt = true;
    } else {
      // Redis quotes the whole option, with CR and LF made spaces.
      error = Reply::Error(StrCat("ERR Unsupported option ", option));
      ReplaceNewlines(error.str);
      return std::nullopt;
    }
  }
  if (flags.nx && (flags.xx || flags.gt || flags.lt)) {
    error = Reply::Error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return std::nullopt;
  }
  if (flags.gt && flags.lt) {
    error = Reply::Error("ERR GT and LT options at the same time are not compatible");
    return std::nullopt;
  }
  return flags;
}

// Whether the flags let a key with deadline `current` (none: persistent)
// take the deadline `when`. GT treats a persistent key as expiring never.
bool FlagsAllow(const ExpireFlags& flags, std::optional<std::int64_t> current, std::int64_t when) {
  if (flags.nx && current.has_value()) return false;
  if (flags.xx && !current.has_value()) return false;
  if (flags.gt && (!current.has_value() || when <= *current)) return false;
  if (flags.lt && current.has_value() && when >= *current) return false;
  return true;
}

// The remaining time to live in milliseconds: -2 for no key, -1 for a
// persistent one.
std::int64_t RemainingMillis(Keyspace& keyspace, std::string_view key) {
  const Entry* entry = keyspace.Find(key);
  if (entry == nullptr) return -2;
  if (!entry->expire_at_ms.has_value()) return -1;
  return std::max<std::int64_t>(0, *entry->expire_at_ms - keyspace.now());
}

// EXPIRE and PEXPIRE: `amount` is in units of `unit_ms` milliseconds.
Reply Expire(CommandEnv& env, Args args, std::int64_t unit_ms, std::string_view name) {
  Reply error;
  const std::optional<ExpireFlags> flags = ParseExpireFlags(args.subspan(3), error);
  if (!flags.has_value()) return error;
  const std::optional<std::int64_t> amount = ParseInt64(args[2]);
  if (!amount.has_value()) return NotIntegerError();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  const std::int64_t now = env.keyspace.now();
  if (*amount > kMax / unit_ms || *amount < kMin / unit_ms || *amount * unit_ms > kMax - now) {
    return InvalidExpireTimeError(name);
  }
  const std::int64_t when = *amount * unit_ms + now;

  Entry* entry = env.keyspace.Find(args[1]);
  if (entry == nullptr || !FlagsAllow(*flags, entry->expire_at_ms, when)) {
    return Reply::Integer(0);
  }
  if (when <= now) {
    env.keyspace.Erase(args[1]);  // a deadline in the past deletes, as in Redis
  } else {
    env.keyspace.SetExpiry(args[1], *entry, when);
  }
  return Reply::Integer(1);
}

}  // namespace

Reply DelCommand(CommandEnv& env, Args args) {
  std::int64_t deleted = 0;
  for (const std::string& key : args.subspan(1)) deleted += env.keyspace.Erase(key) ? 1 : 0;
  return Reply::Integer(deleted);
}

Reply ExistsCommand(CommandEnv& env, Args args) {
  std::int64_t found = 0;  // a key named twice counts twice, as in Redis
  for (const std::string& key : args.subspan(1)) found += env.keyspace.Find(key) ? 1 : 0;
  return Reply::Integer(found);
}

Reply ExpireCommand(CommandEnv& env, Args args) { return Expire(env, args, 1000, "expire"); }

Reply PexpireCommand(CommandEnv& env, Args args) { return Expire(env, args, 1, "pexpire"); }

Reply TtlCommand(CommandEnv& env, Args args) {
  const std::int64_t millis = RemainingMillis(env.keyspace, args[1]);
  return Reply::Integer(millis < 0 ? millis : (millis + 500) / 1000);  // rounded, as Redis
}

Reply PttlCommand(CommandEnv& env, Args args) {
  return Reply::Integer(RemainingMillis(env.keyspace, args[1]));
}

Reply PersistCommand(CommandEnv& env, Args args) {
  Entry* entry = env.keyspace.Find(args[1]);
  if (entry == nullptr || !entry->expire_at_ms.has_value()) return Reply::Integer(0);
  entry->expire_at_ms.reset();
  return Reply::Integer(1);
}

Reply TypeCommand(CommandEnv& env, Args args) {
  const Entry* entry = env.keyspace.Find(args[1]);
  if (entry == nullptr) return Reply::Status("none");
  return Reply::Status(std::holds_alternative<std::string>(entry->value) ? "string" : "hash");
}

Reply KeysCommand(CommandEnv& env, Args args) {
  const std::string& pattern = args[1];
  const bool all = pattern == "*";
  std::vector<Reply> keys;
  env.keyspace.ForEachLive([&](const std::string& key, const Entry&) {
    if (all || GlobMatch(pattern, key)) keys.push_back(Reply::String(key));
  });
  return Reply::Array(std::move(keys));
}

// SCAN cursor [MATCH pattern] [COUNT count] with Redis's guarantee: a key
// present from the first call to the last is returned (here exactly once).
// The keys are visited in the order of their hashes, and the cursor is the
// hash to go on from; a page never ends between two keys of one hash, so
// none is skipped. Each call costs a pass over the keyspace.
Reply ScanCommand(CommandEnv& env, Args args) {
  std::uint64_t from = 0;
  {
    const std::string& cursor = args[1];
    if (cursor.empty() || cursor.size() > 20) return Reply::Error("ERR invalid cursor");
    for (char c : cursor) {
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (c < '0' || c > '9' || from > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
        return Reply::Error("ERR invalid cursor");
      }
      from = from * 10 + digit;
    }
  }
  std::optional<std::string> pattern;
  std::int64_t count = 10;
  for (std::size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) return SyntaxError();
    if (EqualsIgnoreCase(args[i], "MATCH")) {
      pattern = args[i + 1];
    } else if (EqualsIgnoreCase(args[i], "COUNT")) {
      auto parsed = ParseInt64(args[i + 1]);
      if (!parsed) return NotIntegerError();
      if (*parsed < 1) return SyntaxError();
      count = *parsed;
    } else {
      return SyntaxError();
    }
  }
  std::vector<std::pair<std::uint64_t, const std::string*>> ahead;  // hash >= from
  env.keyspace.ForEachLive([&](const std::string& key, const Entry& entry) {
    if (entry.key_hash >= from) ahead.emplace_back(entry.key_hash, &key);
  });
  // The page: the `count` smallest hashes, and the keys that share the
  // last of them. Selected, not sorted (a scan of N keys in pages of C
  // costs N/C passes, each O(N)), then put in hash order.
  const auto by_hash = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::size_t end = ahead.size();
  if (static_cast<std::size_t>(count) < ahead.size()) {
    const auto last = ahead.begin() + (count - 1);
    std::nth_element(ahead.begin(), last, ahead.end(), by_hash);
    const std::uint64_t last_hash = last->first;
    end = std::partition(last + 1, ahead.end(),
                         [&](const auto& entry) { return entry.first == last_hash; }) -
          ahead.begin();
  }
  std::sort(ahead.begin(), ahead.begin() + end, by_hash);
  std::vector<Reply> keys;
  for (std::size_t i = 0; i < end; ++i) {
    const std::string& key = *ahead[i].second;
    if (!pattern || GlobMatch(*pattern, key)) keys.push_back(Reply::String(key));
  }
  // Done when this page took the last key, or the next hash would wrap.
  const bool done = end == ahead.size() || ahead[end - 1].first == ~std::uint64_t{0};
  const std::uint64_t next = done ? 0 : ahead[end - 1].first + 1;
  std::vector<Reply> reply;
  reply.push_back(Reply::String(std::to_string(next)));
  reply.push_back(Reply::Array(std::move(keys)));
  return Reply::Array(std::move(reply));
}

Reply DbsizeCommand(CommandEnv& env, Args) {
  env.keyspace.PurgeExpired();
  return Reply::Integer(static_cast<std::int64_t>(env.keyspace.size()));
}

Reply FlushallCommand(CommandEnv& env, Args args) {
  if (args.size() == 2 && !EqualsIgnoreCase(args[1], "SYNC") &&
      !EqualsIgnoreCase(args[1], "ASYNC")) {
    return SyntaxError();
  }
  if (args.size() > 2) return SyntaxError();
  env.keyspace.Clear();
  return Reply::Status("OK");
}

Reply PingCommand(CommandEnv&, Args args) {
  if (args.size() > 2) return WrongArityError("ping");
  return args.size() == 2 ? Reply::String(args[1]) : Reply::Status("PONG");
}

}  // namespace sfroute::internal
