// A Redis reply as a plain value, independent of hiredis, so that the
// executor parses replies the same way whatever backend produced them.
#ifndef SFROUTE_SRC_REPLY_H_
#define SFROUTE_SRC_REPLY_H_

#include <cstdint>
#include <optional>
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

// Maps an error reply of the server to a status, with `context` (operation
// and key) in front of the server's message. The one place where Redis error
// prefixes become status codes.
absl::Status StatusFromErrorReply(std::string_view context, std::string_view error);

// Adds `context` (operation and key) in front of a failed status's message,
// keeping its code.
absl::Status Annotate(const absl::Status& status, std::string_view context);

// The shape a reply must have. On any other shape: INTERNAL naming `context`.
absl::Status UnexpectedReply(std::string_view context, const Reply& reply);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REPLY_H_
