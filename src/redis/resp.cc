#include "redis/resp.h"

#include <charconv>
#include <cstring>
#include <utility>

#include "str_cat.h"

namespace sfroute::internal {
namespace {

// The encoders write in place, into room made once (at most the bound),
// instead of appending each piece: one size check per command, not six
// per argument.

// Writes a header ("*3\r\n", "$5\r\n") at `at`; returns its end.
char* WriteHeader(char* at, char kind, std::size_t number) {
  *at++ = kind;
  at = std::to_chars(at, at + 20, number).ptr;
  *at++ = '\r';
  *at++ = '\n';
  return at;
}

// Writes a bulk string at `at`; returns its end.
char* WriteArgument(char* at, std::string_view argument) {
  at = WriteHeader(at, '$', argument.size());
  if (!argument.empty()) std::memcpy(at, argument.data(), argument.size());
  at += argument.size();
  *at++ = '\r';
  *at++ = '\n';
  return at;
}

// Grows `out` by what `write` writes at the end of it, at most `bound`
// bytes: write(char* at) returns the end of what it wrote.
template <typename Write>
void AppendInPlace(std::size_t bound, std::string& out, Write write) {
  const std::size_t start = out.size();
  out.resize(start + bound);
  char* const begin = out.data() + start;
  out.resize(start + static_cast<std::size_t>(write(begin) - begin));
}

// A buffer kept past this size (a very large batch) is let go after use.
constexpr std::size_t kEncodeBufferKept = 1 << 20;

thread_local std::string kept_encode_buffer;
thread_local bool kept_encode_buffer_in_use = false;

constexpr std::size_t kNotYet = std::string::npos;
constexpr std::int64_t kMaxBulk = std::int64_t{512} << 20;

absl::Status Malformed(std::string_view what) {
  return absl::InternalError(StrCat("malformed reply from the server: ", what));
}

}  // namespace

void AppendCommand(const Command& command, std::string& out) {
  std::size_t bound = ArgumentSizeBound(0);
  for (const std::string& arg : command.args) bound += ArgumentSizeBound(arg.size());
  AppendInPlace(bound, out, [&command](char* at) {
    at = WriteHeader(at, '*', command.args.size());
    for (const std::string& arg : command.args) at = WriteArgument(at, arg);
    return at;
  });
}

void AppendArrayHeader(std::size_t count, std::string& out) {
  AppendInPlace(ArgumentSizeBound(0), out,
                [count](char* at) { return WriteHeader(at, '*', count); });
}

void AppendArgument(std::string_view argument, std::string& out) {
  AppendInPlace(ArgumentSizeBound(argument.size()), out,
                [argument](char* at) { return WriteArgument(at, argument); });
}

EncodeBuffer::EncodeBuffer() : bytes_(&own_) {
  if (!kept_encode_buffer_in_use) {
    kept_encode_buffer_in_use = true;
    kept_ = true;
    bytes_ = &kept_encode_buffer;
    bytes_->clear();
  }
}

EncodeBuffer::~EncodeBuffer() {
  if (!kept_) return;
  if (bytes_->capacity() > kEncodeBufferKept) std::string().swap(*bytes_);
  kept_encode_buffer_in_use = false;
}

char* ReplyParser::Reserve(std::size_t size) {
  // Parsed bytes are dropped before the buffer grows: it holds what is
  // still to parse, not the history of the connection.
  if (begin_ > 0 && (begin_ == end_ || end_ + size > buffer_.size())) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    if (!needed_.empty()) scan_at_ -= begin_;
    begin_ = 0;
  }
  if (end_ + size > buffer_.size()) buffer_.resize(end_ + size);
  return buffer_.data() + end_;
}

void ReplyParser::Feed(const char* data, std::size_t size) {
  std::memcpy(Reserve(size), data, size);
  Commit(size);
}

namespace {

// The line at `at` (up to CR LF): its end (the CR), or kNotYet.
std::size_t LineEnd(std::string_view stream, std::size_t at) {
  const std::size_t cr = stream.find('\r', at);
  if (cr == std::string_view::npos || cr + 1 >= stream.size()) return kNotYet;
  return cr;
}

// A decimal integer that fills `text` (optional '-').
bool ParseInteger(std::string_view text, std::int64_t* value) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

absl::StatusOr<std::size_t> ReplyParser::Scan() {
  const std::string_view stream(buffer_.data(), end_);
  if (needed_.empty()) {  // a new reply starts here
    scan_at_ = begin_;
    needed_.push_back(1);
  }
  // Goes on where the last call stopped: every byte is looked at once, also
  // when a big reply comes in many pieces.
  while (!needed_.empty()) {
    if (needed_.back() == 0) {
      needed_.pop_back();
      continue;
    }
    const std::size_t at = scan_at_;
    if (at >= stream.size()) return kNotYet;
    const char kind = stream[at];
    const std::size_t cr = LineEnd(stream, at + 1);
    if (cr == kNotYet) return kNotYet;
    if (stream[cr + 1] != '\n') return Malformed("a line ends without LF");
    const std::string_view line = stream.substr(at + 1, cr - at - 1);
    std::size_t next = cr + 2;
    std::int64_t number = 0;
    switch (kind) {
      case '+':
      case '-':
        break;
      case ':':
        if (!ParseInteger(line, &number)) return Malformed("an integer that is not one");
        break;
      case '$':
        if (!ParseInteger(line, &number) || number < -1 || number > kMaxBulk) {
          return Malformed("a bad bulk string length");
        }
        if (number >= 0) {
          next += static_cast<std::size_t>(number) + 2;
          if (next > stream.size()) return kNotYet;  // the header is read again then
          if (stream[next - 2] != '\r' || stream[next - 1] != '\n') {
            return Malformed("a bulk string without CR LF after it");
          }
        }
        break;
      case '*':
        if (!ParseInteger(line, &number) || number < -1 || number > INT32_MAX) {
          return Malformed("a bad array length");
        }
        break;
      default:
        return Malformed(StrCat("unknown reply type byte ", static_cast<int>(kind)));
    }
    --needed_.back();
    scan_at_ = next;
    if (kind == '*' && number > 0) {
      if (needed_.size() > kMaxDepth) return Malformed("arrays nested too deep");
      needed_.push_back(number);
    }
  }
  return scan_at_;
}

void ReplyParser::Build(std::size_t& at, Reply& reply) const {
  const std::string_view stream(buffer_.data(), end_);
  const char kind = stream[at];
  const std::size_t cr = stream.find('\r', at + 1);
  const std::string_view line = stream.substr(at + 1, cr - at - 1);
  at = cr + 2;
  std::int64_t number = 0;
  switch (kind) {
    case '+':
      reply.type = Reply::Type::kStatus;
      reply.str = line;
      return;
    case '-':
      reply.type = Reply::Type::kError;
      reply.str = line;
      return;
    case ':':
      ParseInteger(line, &number);
      reply.type = Reply::Type::kInteger;
      reply.integer = number;
      return;
    case '$':
      ParseInteger(line, &number);
      if (number < 0) return;  // nil
      reply.type = Reply::Type::kString;
      reply.str = stream.substr(at, static_cast<std::size_t>(number));
      at += static_cast<std::size_t>(number) + 2;
      return;
    default:  // '*': Scan checked every element is there
      ParseInteger(line, &number);
      if (number < 0) return;  // nil
      reply.type = Reply::Type::kArray;
      reply.elements.resize(static_cast<std::size_t>(number));
      for (Reply& element : reply.elements) Build(at, element);
      return;
  }
}

absl::StatusOr<bool> ReplyParser::Next(std::vector<Reply>& replies) {
  auto end = Scan();
  if (!end.ok()) return end.status();
  if (*end == kNotYet) return false;
  std::size_t at = begin_;
  Build(at, replies.emplace_back());
  begin_ = at;
  if (begin_ == end_) begin_ = end_ = 0;
  return true;
}

}  // namespace sfroute::internal
