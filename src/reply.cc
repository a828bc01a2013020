#include "reply.h"

#include <utility>

#include "str_cat.h"

namespace sfroute::internal {

Reply Reply::Integer(std::int64_t value) {
  Reply reply;
  reply.type = Type::kInteger;
  reply.integer = value;
  return reply;
}

Reply Reply::String(std::string value) {
  Reply reply;
  reply.type = Type::kString;
  reply.str = std::move(value);
  return reply;
}

Reply Reply::Status(std::string value) {
  Reply reply = String(std::move(value));
  reply.type = Type::kStatus;
  return reply;
}

Reply Reply::Error(std::string message) {
  Reply reply = String(std::move(message));
  reply.type = Type::kError;
  return reply;
}

Reply Reply::Array(std::vector<Reply> elements) {
  Reply reply;
  reply.type = Type::kArray;
  reply.elements = std::move(elements);
  return reply;
}

absl::Status StatusFromErrorReply(std::string_view context, std::string_view error) {
  const std::string message = StrCat(context, ": server replied: ", error);
  // Errors inside a script keep the prefix of the command that failed.
  auto starts = [&](std::string_view prefix) { return error.starts_with(prefix); };
  if (starts("NOAUTH") || starts("NOPERM") || starts("WRONGPASS")) {
    return absl::PermissionDeniedError(message);
  }
  if (starts("WRONGTYPE")) {
    // Our keys hold a value of another type: someone wrote over them.
    return absl::DataLossError(message);
  }
  // The server cannot take the command now; it did not run it.
  if (starts("LOADING") || starts("BUSY") || starts("MASTERDOWN") || starts("READONLY") ||
      starts("TRYAGAIN") || starts("CLUSTERDOWN") || starts("OOM") || starts("NOREPLICAS")) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), StrCat(context, ": ", status.message()));
}

absl::Status UnexpectedReply(std::string_view context, const Reply& reply) {
  std::string shape;
  switch (reply.type) {
    case Reply::Type::kNil:
      shape = "nil";
      break;
    case Reply::Type::kInteger:
      shape = StrCat("integer ", reply.integer);
      break;
    case Reply::Type::kString:
      shape = "string";
      break;
    case Reply::Type::kStatus:
      shape = StrCat("status ", reply.str);
      break;
    case Reply::Type::kError:
      return StatusFromErrorReply(context, reply.str);
    case Reply::Type::kArray:
      shape = StrCat("array of ", reply.elements.size());
      break;
  }
  return absl::InternalError(StrCat(context, ": unexpected reply: ", shape));
}

}  // namespace sfroute::internal
