#include "redis/resp.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <new>

#include "str_cat.h"

namespace sfroute::internal {
namespace {

void AppendHeader(char kind, std::size_t number, std::string& out) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
  out.push_back(kind);
  out.append(digits, end);
  out.append("\r\n");
}

}  // namespace

void AppendCommand(const Command& command, std::string& out) {
  AppendHeader('*', command.args.size(), out);
  for (const std::string& arg : command.args) {
    AppendHeader('$', arg.size(), out);
    out.append(arg);
    out.append("\r\n");
  }
}

Reply ConvertReply(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(reply.integer);
    case REDIS_REPLY_STRING:
      return Reply::String(std::string(reply.str, reply.len));
    case REDIS_REPLY_STATUS:
      return Reply::Status(std::string(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(reply.str, reply.len));
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) {
        elements.push_back(ConvertReply(*reply.element[i]));
      }
      return Reply::Array(std::move(elements));
    }
    default:
      return Reply::Nil();
  }
}

ReplyParser::ReplyParser() : reader_(redisReaderCreate()) {
  if (reader_ == nullptr) throw std::bad_alloc();
}

ReplyParser::~ReplyParser() { redisReaderFree(reader_); }

void ReplyParser::Feed(const char* data, std::size_t size) {
  // Fails only when out of memory; Next() then reports the reader's error.
  redisReaderFeed(reader_, data, size);
}

absl::StatusOr<std::optional<Reply>> ReplyParser::Next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
    return absl::InternalError(StrCat("malformed reply from the server: ", reader_->errstr));
  }
  if (raw == nullptr) return std::nullopt;
  auto* reply = static_cast<redisReply*>(raw);
  Reply converted = ConvertReply(*reply);
  freeReplyObject(reply);
  return converted;
}

}  // namespace sfroute::internal
