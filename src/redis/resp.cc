#include "redis/resp.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <new>
#include <utility>

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

namespace {

// hiredis's reader calls these to build each reply as it is read. They build
// Reply values directly, and unlike hiredis's own redisReply they do not
// allocate an array of the size its header announces: `*999999999` costs
// nothing until the elements arrive, so memory follows the bytes received
// instead of what a (faulty or hostile) server claims. A child is appended
// to its parent, whose array is not grown again until the child is complete,
// so the pointer returned for a nested array stays valid while hiredis fills
// it. hiredis frees only the root (freeObject), which owns the rest.
// Returning nullptr (out of memory) makes hiredis fail the stream.

// Reserve no more than this up front; the vector grows as elements come.
constexpr int kMaxReservedElements = 1024;

void* Attach(const redisReadTask* task, Reply&& reply) {
  try {
    if (task->parent == nullptr) return new Reply(std::move(reply));
    auto* parent = static_cast<Reply*>(task->parent->obj);
    if (parent == nullptr || parent->type != Reply::Type::kArray ||
        static_cast<std::size_t>(task->idx) != parent->elements.size()) {
      return nullptr;  // cannot happen with hiredis's reader; fail the stream
    }
    parent->elements.push_back(std::move(reply));
    return &parent->elements.back();
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void* CreateString(const redisReadTask* task, char* data, std::size_t size) {
  std::string text;
  try {
    text.assign(data, size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  switch (task->type) {
    case REDIS_REPLY_STATUS:
      return Attach(task, Reply::Status(std::move(text)));
    case REDIS_REPLY_ERROR:
      return Attach(task, Reply::Error(std::move(text)));
    default:
      return Attach(task, Reply::String(std::move(text)));
  }
}

void* CreateArray(const redisReadTask* task, int elements) {
  std::vector<Reply> reserved;
  try {
    reserved.reserve(static_cast<std::size_t>(std::clamp(elements, 0, kMaxReservedElements)));
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  return Attach(task, Reply::Array(std::move(reserved)));
}

void* CreateInteger(const redisReadTask* task, long long value) {
  return Attach(task, Reply::Integer(value));
}

void* CreateNil(const redisReadTask* task) { return Attach(task, Reply::Nil()); }

void FreeReply(void* reply) { delete static_cast<Reply*>(reply); }

redisReplyObjectFunctions kReplyFunctions = {CreateString, CreateArray, CreateInteger, CreateNil,
                                             FreeReply};

}  // namespace

ReplyParser::ReplyParser() : reader_(redisReaderCreateWithFunctions(&kReplyFunctions)) {
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
  std::unique_ptr<Reply> reply(static_cast<Reply*>(raw));  // built by kReplyFunctions
  return std::move(*reply);
}

}  // namespace sfroute::internal
