// A Redis reply as a plain value, independent of hiredis, so that the
// executor parses replies the same way whatever backend produced them.
#ifndef SFROUTE_SRC_REPLY_H_
#define SFROUTE_SRC_REPLY_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace sfroute::internal {

struct Reply {
  enum class Type : std::uint8_t { kNil, kInteger, kString, kStatus, kError, kArray };

  Type type = Type::kNil;
  std::int64_t integer = 0;     // kInteger
  std::string str;              // kString, kStatus, kError
  std::vector<Reply> elements;  // kArray

  static Reply Nil() { return {}; }
  static Reply Integer(std::int64_t value);
  static Reply String(std::string value);
  static Reply Status(std::string value);
  static Reply Error(std::string message);
  static Reply Array(std::vector<Reply> elements);

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
};

// How one kind of Redis error reply becomes a status code: a reply that
// starts with `prefix` gets `code`. The first matching rule wins.
struct ServerErrorRule {
  std::string_view prefix;
  absl::StatusCode code;
  std::string_view why;  // for the reader of the table (and of the tests)
};

// Every error Redis 7.0 can give the commands and scripts sfroute sends,
// each mapped on purpose (reply.cc). An error that matches no rule is
// INTERNAL.
std::span<const ServerErrorRule> ServerErrorRules();

// Maps an error reply of the server to a status, with `context` (operation
// and key) in front of the server's message (at most a few hundred bytes
// of it). The one place where Redis error prefixes become status codes.
absl::Status StatusFromErrorReply(std::string_view context, std::string_view error);

// Adds `context` (operation and key) in front of a failed status's message,
// keeping its code.
absl::Status Annotate(const absl::Status& status, std::string_view context);

// A stored value for a message: in double quotes, at most the first
// kMaxQuotedValueBytes bytes, bytes that are not printable ASCII as \xNN,
// and the full size when it was cut ("\"abc\"... (2097152 bytes)").
// Messages and log lines never carry a whole value.
inline constexpr std::size_t kMaxQuotedValueBytes = 64;
std::string Quoted(std::string_view value);

// The shape a reply must have. On any other shape: INTERNAL naming `context`.
absl::Status UnexpectedReply(std::string_view context, const Reply& reply);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REPLY_H_
