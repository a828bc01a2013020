// The Redis protocol (RESP2) at the byte level: commands out, replies in.
#ifndef SFROUTE_SRC_REDIS_RESP_H_
#define SFROUTE_SRC_REDIS_RESP_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "command.h"
#include "reply.h"

struct redisReader;
struct redisReply;

namespace sfroute::internal {

// Appends `command` to `out` as a RESP array of bulk strings (binary safe).
void AppendCommand(const Command& command, std::string& out);

// hiredis's reply object as a Reply.
Reply ConvertReply(const redisReply& reply);

// Cuts a byte stream into replies (hiredis's parser, building Reply values
// directly). Memory follows the bytes received: an array header announcing
// a billion elements reserves nothing until they arrive. Not thread-safe.
class ReplyParser {
 public:
  ReplyParser();
  ~ReplyParser();
  ReplyParser(const ReplyParser&) = delete;
  ReplyParser& operator=(const ReplyParser&) = delete;

  void Feed(const char* data, std::size_t size);

  // The next complete reply; nullopt until more bytes arrive. INTERNAL when
  // the stream is not RESP: the connection cannot be trusted any more.
  absl::StatusOr<std::optional<Reply>> Next();

 private:
  redisReader* reader_;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_RESP_H_
