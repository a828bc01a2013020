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

namespace {

using Code = absl::StatusCode;

// Redis 7.0 keeps the code of an error raised inside a script (redis.call)
// at the front of the message, so one prefix covers both.
constexpr ServerErrorRule kServerErrorRules[] = {
    // Who may do what.
    {"NOAUTH", Code::kPermissionDenied, "the connection is not authenticated"},
    {"WRONGPASS", Code::kPermissionDenied, "AUTH refused the user or password"},
    {"NOPERM", Code::kPermissionDenied, "the ACL user may not run a command or touch a key"},
    {"ERR The user executing the script can't", Code::kPermissionDenied,
     "Redis 7.0: a command inside a script refused by the ACL"},
    {"ERR ACL failure in script", Code::kPermissionDenied,
     "Redis 7.2: a command inside a script refused by the ACL"},
    // What is stored.
    {"WRONGTYPE", Code::kDataLoss, "one of our keys holds another type: someone wrote over it"},
    // The server cannot take the command now; it did not run it.
    {"LOADING", Code::kUnavailable, "the server is loading its data set after a restart"},
    {"BUSY ", Code::kUnavailable, "another script has run past the busy-script time"},
    {"MASTERDOWN", Code::kUnavailable, "a replica that lost its primary refuses to serve"},
    {"READONLY", Code::kUnavailable, "a replica (e.g. a demoted primary) refuses writes"},
    {"MISCONF", Code::kUnavailable, "the server cannot save snapshots and refuses writes"},
    {"OOM", Code::kUnavailable, "maxmemory is reached and the server refuses writes"},
    {"NOREPLICAS", Code::kUnavailable, "fewer replicas than min-replicas-to-write"},
    {"TRYAGAIN", Code::kUnavailable, "a slot in migration (cluster)"},
    {"CLUSTERDOWN", Code::kUnavailable, "the cluster cannot serve the slot now"},
    {"ERR max number of clients reached", Code::kUnavailable, "the server is full"},
    // The URL names the wrong kind of deployment, or a db the server lacks.
    {"MOVED", Code::kInvalidArgument,
     "a redis:// URL names a Redis Cluster node: use redis-cluster://"},
    {"ASK", Code::kInvalidArgument,
     "a redis:// URL names a Redis Cluster node: use redis-cluster://"},
    {"ERR DB index is out of range", Code::kInvalidArgument,
     "the URL's db is not one the server has (its `databases` setting)"},
    {"ERR SELECT is not allowed in cluster mode", Code::kInvalidArgument,
     "a redis:// URL with a db names a Redis Cluster node"},
    // Our own mistakes, whatever the server: a bug to report.
    {"NOSCRIPT", Code::kInternal, "a script still missing after it was sent in full"},
    {"CROSSSLOT", Code::kInternal, "keys of one command in different slots"},
    {"ERR", Code::kInternal, "any other error: unknown command, bad arguments, a Lua error"},
};

// Error texts are the server's and short, but a script error may quote
// its arguments: bounded all the same.
constexpr std::size_t kMaxQuotedError = 512;

}  // namespace

std::span<const ServerErrorRule> ServerErrorRules() { return kServerErrorRules; }

absl::Status StatusFromErrorReply(std::string_view context, std::string_view error) {
  std::string message = StrCat(context, ": server replied: ", error.substr(0, kMaxQuotedError));
  if (error.size() > kMaxQuotedError) message.append("...");
  for (const ServerErrorRule& rule : kServerErrorRules) {
    if (error.starts_with(rule.prefix)) return absl::Status(rule.code, message);
  }
  return absl::InternalError(message);
}

std::string Quoted(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string quoted = "\"";
  for (unsigned char c : value.substr(0, kMaxQuotedValueBytes)) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      quoted.push_back(static_cast<char>(c));
    } else {
      quoted.append({'\\', 'x', kHex[c >> 4], kHex[c & 0xf]});
    }
  }
  quoted.push_back('"');
  if (value.size() > kMaxQuotedValueBytes) {
    quoted.append(StrCat("... (", value.size(), " bytes)"));
  }
  return quoted;
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
