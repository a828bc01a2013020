// The Redis protocol (RESP2) at the byte level: commands out, replies in.
#ifndef SFROUTE_SRC_REDIS_RESP_H_
#define SFROUTE_SRC_REDIS_RESP_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "command.h"
#include "reply.h"

namespace sfroute::internal {

// Appends `command` to `out` as a RESP array of bulk strings (binary safe).
void AppendCommand(const Command& command, std::string& out);

// Bytes enough for an argument of `size` bytes, or an array's header, in
// RESP: a header ("$" or "*", up to 20 digits, CRLF) and the bytes' CRLF.
constexpr std::size_t ArgumentSizeBound(std::size_t size) { return size + 24; }

// The same in pieces, for a command made of some arguments of another:
// the array's header (its number of arguments), then each argument.
void AppendArrayHeader(std::size_t count, std::string& out);
void AppendArgument(std::string_view argument, std::string& out);

// A buffer to encode commands into that are read before the send returns:
// one per thread, kept from call to call (no allocation per call). A send
// started while this thread's is in use (from inside a callback) gets one
// of its own.
class EncodeBuffer {
 public:
  EncodeBuffer();
  ~EncodeBuffer();
  EncodeBuffer(const EncodeBuffer&) = delete;
  EncodeBuffer& operator=(const EncodeBuffer&) = delete;

  // Empty at first.
  std::string& bytes() { return *bytes_; }

 private:
  std::string own_;
  std::string* bytes_;
  bool kept_ = false;  // bytes_ is this thread's kept buffer
};

// Cuts a byte stream into replies. Memory follows the bytes received: an
// array header announcing a billion elements reserves nothing until they
// arrive; arrays nest at most kMaxDepth deep and a bulk string is at most
// 512 MB (Redis's own proto-max-bulk-len). Not thread-safe.
class ReplyParser {
 public:
  static constexpr int kMaxDepth = 8;

  // Room for `size` more bytes at the end of the stream; Commit how many
  // were written there. (Or Feed, which copies.)
  char* Reserve(std::size_t size);
  void Commit(std::size_t size) { end_ += size; }
  void Feed(const char* data, std::size_t size);

  // Appends the next complete reply to `replies`: true, or false until more
  // bytes arrive. INTERNAL when the stream is not RESP: the connection
  // cannot be trusted any more.
  absl::StatusOr<bool> Next(std::vector<Reply>& replies);

 private:
  // Where the reply that starts at begin_ ends, without building it; npos
  // while it is not all there. INTERNAL when it is not RESP.
  absl::StatusOr<std::size_t> Scan();
  void Build(std::size_t& at, Reply& reply) const;  // a reply Scan found complete

  std::string buffer_;
  std::size_t begin_ = 0;  // the first byte not parsed yet
  std::size_t end_ = 0;    // bytes of buffer_ in use
  // Scan's place in a reply not all there yet: where it stopped, and how
  // many items each open array (and the reply itself) still needs.
  std::size_t scan_at_ = 0;
  std::vector<std::int64_t> needed_;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_RESP_H_
