// GET, SET and MGET.
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "memory/commands.h"

namespace sfroute::internal {
namespace {

enum class Condition { kAlways, kIfAbsent, kIfPresent };  // -, NX, XX
enum class ExpiryKind { kNone, kKeepTtl, kEx, kPx, kExAt, kPxAt };

struct SetOptions {
  Condition condition = Condition::kAlways;
  ExpiryKind expiry = ExpiryKind::kNone;
  const std::string* expiry_arg = nullptr;
  bool get = false;
};

// Parses the options after SET key value. As in Redis, an option may be
// repeated, but options that contradict each other are a syntax error.
bool ParseSetOptions(Args options, SetOptions& out) {
  for (std::size_t i = 0; i < options.size(); ++i) {
    const std::string& option = options[i];
    auto set_expiry = [&](ExpiryKind kind, bool takes_value) {
      if (out.expiry != ExpiryKind::kNone && out.expiry != kind) return false;
      if (takes_value && i + 1 >= options.size()) return false;
      out.expiry = kind;
      if (takes_value) out.expiry_arg = &options[++i];
      return true;
    };
    bool ok;
    if (EqualsIgnoreCase(option, "NX")) {
      ok = out.condition != Condition::kIfPresent;
      out.condition = Condition::kIfAbsent;
    } else if (EqualsIgnoreCase(option, "XX")) {
      ok = out.condition != Condition::kIfAbsent;
      out.condition = Condition::kIfPresent;
    } else if (EqualsIgnoreCase(option, "GET")) {
      out.get = true;
      ok = true;
    } else if (EqualsIgnoreCase(option, "KEEPTTL")) {
      ok = set_expiry(ExpiryKind::kKeepTtl, false);
    } else if (EqualsIgnoreCase(option, "EX")) {
      ok = set_expiry(ExpiryKind::kEx, true);
    } else if (EqualsIgnoreCase(option, "PX")) {
      ok = set_expiry(ExpiryKind::kPx, true);
    } else if (EqualsIgnoreCase(option, "EXAT")) {
      ok = set_expiry(ExpiryKind::kExAt, true);
    } else if (EqualsIgnoreCase(option, "PXAT")) {
      ok = set_expiry(ExpiryKind::kPxAt, true);
    } else {
      ok = false;
    }
    if (!ok) return false;
  }
  return true;
}

// The deadline the options ask for, in the clock's milliseconds, or an
// error reply (Redis's checks, including overflow).
std::variant<std::int64_t, Reply> SetDeadline(const SetOptions& options, std::int64_t now) {
  const std::optional<std::int64_t> value = ParseInt64(*options.expiry_arg);
  if (!value.has_value()) return NotIntegerError();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const bool seconds = options.expiry == ExpiryKind::kEx || options.expiry == ExpiryKind::kExAt;
  if (*value <= 0 || (seconds && *value > kMax / 1000)) return InvalidExpireTimeError("set");
  std::int64_t deadline = seconds ? *value * 1000 : *value;
  if (options.expiry == ExpiryKind::kEx || options.expiry == ExpiryKind::kPx) {
    if (deadline > kMax - now) return InvalidExpireTimeError("set");
    deadline += now;
  }
  return deadline;
}

}  // namespace

Reply GetCommand(CommandEnv& env, Args args) {
  bool wrong_type;
  const std::string* value = FindValue<std::string>(env.keyspace, args[1], wrong_type);
  if (wrong_type) return WrongTypeError();
  return value == nullptr ? Reply::Nil() : Reply::String(*value);
}

Reply SetCommand(CommandEnv& env, Args args) {
  SetOptions options;
  if (!ParseSetOptions(args.subspan(3), options)) return SyntaxError();
  std::int64_t deadline = 0;
  if (options.expiry_arg != nullptr) {
    auto parsed = SetDeadline(options, env.keyspace.now());
    if (Reply* error = std::get_if<Reply>(&parsed)) return std::move(*error);
    deadline = std::get<std::int64_t>(parsed);
  }

  Reply reply = Reply::Status("OK");
  Entry* entry = env.keyspace.Find(args[1]);
  if (options.get) {
    if (entry != nullptr && !std::holds_alternative<std::string>(entry->value)) {
      return WrongTypeError();
    }
    reply = entry == nullptr ? Reply::Nil() : Reply::String(std::get<std::string>(entry->value));
  }
  if ((options.condition == Condition::kIfAbsent && entry != nullptr) ||
      (options.condition == Condition::kIfPresent && entry == nullptr)) {
    return options.get ? std::move(reply) : Reply::Nil();
  }

  Entry& target = entry != nullptr ? *entry : env.keyspace.FindOrCreate<std::string>(args[1]);
  if (auto* text = std::get_if<std::string>(&target.value)) {
    text->assign(args[2]);  // reuses the old value's buffer
  } else {
    target.value = args[2];
  }
  if (options.expiry_arg != nullptr) {
    env.keyspace.SetExpiry(args[1], target, deadline);
  } else if (options.expiry != ExpiryKind::kKeepTtl) {
    target.expire_at_ms.reset();
  }
  return reply;
}

Reply MgetCommand(CommandEnv& env, Args args) {
  std::vector<Reply> values;
  values.reserve(args.size() - 1);
  for (const std::string& key : args.subspan(1)) {
    bool wrong_type;  // such keys read as nil, as in Redis
    const std::string* value = FindValue<std::string>(env.keyspace, key, wrong_type);
    values.push_back(value == nullptr ? Reply::Nil() : Reply::String(*value));
  }
  return Reply::Array(std::move(values));
}

}  // namespace sfroute::internal
