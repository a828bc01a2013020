// Fuzz target: RESP at the byte level (src/redis/resp.h): ReplyParser (the
// stream of a server, cut into replies) and AppendCommand.
//
// The first input byte picks the mode:
//  - bytes: the rest is a stream from a server. Parsed whole, then cut at
//    points chosen from the input, then one byte at a time: the three give
//    the same replies, and fail (INTERNAL) at the same place or not at all.
//    Every reply, written back as RESP, parses to itself.
//  - commands: the rest describes commands (binary arguments); encoded one
//    after the other with AppendCommand and parsed back in random cuts, each
//    is an array of bulk strings equal to its arguments. Encoded in pieces
//    (AppendArrayHeader, AppendArgument, after a byte already there), each
//    is the same bytes.
//  - replies: the rest describes replies of every type, nested; written as
//    a server would and parsed in random cuts, each comes back equal.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "redis/resp.h"

namespace sfroute::fuzz {
namespace {

using internal::Command;
using internal::Reply;
using internal::ReplyParser;

// What parsing a stream gave: the replies, and whether it ended in an error.
struct Parsed {
  std::vector<Reply> replies;
  bool failed = false;
  std::string error;
};

// Takes every complete reply out of the parser.
void Drain(ReplyParser& parser, Parsed& parsed) {
  while (!parsed.failed) {
    auto more = parser.Next(parsed.replies);
    if (!more.ok()) {
      FUZZ_CHECK(more.status().code() == absl::StatusCode::kInternal, more.status().ToString());
      parsed.failed = true;
      parsed.error = std::string(more.status().message());
      return;
    }
    if (!*more) return;
  }
}

// Feeds `stream` in pieces of the given sizes (cycled), draining after each.
Parsed ParseInPieces(std::string_view stream, const std::vector<std::size_t>& sizes) {
  ReplyParser parser;
  Parsed parsed;
  std::size_t offset = 0, turn = 0;
  while (offset < stream.size() && !parsed.failed) {
    const std::size_t size = std::min(sizes[turn++ % sizes.size()], stream.size() - offset);
    parser.Feed(stream.data() + offset, size);
    offset += size;
    Drain(parser, parsed);
  }
  return parsed;
}

void CheckSameParse(std::string_view stream, const Parsed& a, const Parsed& b, std::string_view how,
                    bool same_failure = true) {
  const std::string context =
      "stream \"" + Escape(stream, 300) + "\" parsed whole and " + std::string(how);
  FUZZ_CHECK(a.replies.size() == b.replies.size(),
             context + ": " + std::to_string(a.replies.size()) + " vs " +
                 std::to_string(b.replies.size()) + " replies");
  for (std::size_t i = 0; i < a.replies.size(); ++i) {
    FUZZ_CHECK(SameReply(a.replies[i], b.replies[i]), context + ": reply " + std::to_string(i) +
                                                          " " + Describe(a.replies[i]) + " vs " +
                                                          Describe(b.replies[i]));
  }
  if (!same_failure) return;
  FUZZ_CHECK(a.failed == b.failed, context + ": error \"" + a.error + "\" vs \"" + b.error + "\"");
}

// Piece sizes from the input: 1 to 64 bytes.
std::vector<std::size_t> PieceSizes(FuzzedDataProvider& input) {
  std::vector<std::size_t> sizes;
  const int count = input.ConsumeIntegralInRange(1, 8);
  for (int i = 0; i < count; ++i) sizes.push_back(input.ConsumeIntegralInRange<std::size_t>(1, 64));
  return sizes;
}

void CheckStream(FuzzedDataProvider& input) {
  const std::vector<std::size_t> sizes = PieceSizes(input);
  const std::string stream = input.ConsumeRemainingBytesAsString();
  const Parsed whole = ParseInPieces(stream, {stream.size() + 1});
  CheckSameParse(stream, whole, ParseInPieces(stream, sizes), "in pieces");
  CheckSameParse(stream, whole, ParseInPieces(stream, {1}), "byte by byte");
  // What the parser took in, written back, parses to the same.
  std::string written;
  for (const Reply& reply : whole.replies) AppendResp(reply, written);
  const Parsed again = ParseInPieces(written, sizes);
  FUZZ_CHECK(!again.failed, "\"" + Escape(written, 300) + "\": " + again.error);
  CheckSameParse(written, whole, again, "written back", /*same_failure=*/false);
}

void CheckCommands(FuzzedDataProvider& input) {
  const std::vector<std::size_t> sizes = PieceSizes(input);
  std::vector<Command> commands;
  std::string stream;
  while (input.remaining_bytes() > 0 && commands.size() < 16) {
    Command command;
    const int args = input.ConsumeIntegralInRange(0, 8);
    for (int i = 0; i < args; ++i) command.args.push_back(input.ConsumeRandomLengthString(64));
    internal::AppendCommand(command, stream);
    // The same command in pieces (as a cluster writes a split MGET's part)
    // is the same bytes.
    std::string whole, pieces = "x";
    internal::AppendCommand(command, whole);
    internal::AppendArrayHeader(command.args.size(), pieces);
    for (const std::string& arg : command.args) internal::AppendArgument(arg, pieces);
    FUZZ_CHECK(pieces.substr(1) == whole,
               "\"" + Escape(whole, 300) + "\" in pieces: \"" + Escape(pieces, 300) + "\"");
    commands.push_back(std::move(command));
  }
  const Parsed parsed = ParseInPieces(stream, sizes);
  const std::string context = "stream \"" + Escape(stream, 300) + "\"";
  FUZZ_CHECK(!parsed.failed, context + ": " + parsed.error);
  FUZZ_CHECK(parsed.replies.size() == commands.size(),
             context + ": " + std::to_string(parsed.replies.size()) + " replies for " +
                 std::to_string(commands.size()) + " commands");
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const Reply& reply = parsed.replies[i];
    FUZZ_CHECK(
        reply.type == Reply::Type::kArray && reply.elements.size() == commands[i].args.size(),
        context + ": command " + std::to_string(i) + " came back as " + Describe(reply));
    for (std::size_t j = 0; j < commands[i].args.size(); ++j) {
      FUZZ_CHECK(reply.elements[j].type == Reply::Type::kString &&
                     reply.elements[j].str == commands[i].args[j],
                 context + ": command " + std::to_string(i) + " argument " + std::to_string(j) +
                     " \"" + Escape(commands[i].args[j]) + "\" came back as " +
                     Describe(reply.elements[j]));
    }
  }
}

// A status or error line: no CR or LF.
std::string LineText(FuzzedDataProvider& input) {
  std::string text = input.ConsumeRandomLengthString(32);
  std::erase_if(text, [](char c) { return c == '\r' || c == '\n'; });
  return text;
}

// hiredis 0.14 takes arrays nested 7 deep at most.
Reply MakeReply(FuzzedDataProvider& input, int depth) {
  switch (input.ConsumeIntegralInRange(0, depth < 6 ? 5 : 4)) {
    case 0:
      return Reply::Nil();
    case 1:
      return Reply::Integer(input.ConsumeIntegral<std::int64_t>());
    case 2:
      return Reply::String(input.ConsumeRandomLengthString(64));
    case 3:
      return Reply::Status(LineText(input));
    case 4:
      return Reply::Error(LineText(input));
    default: {
      std::vector<Reply> elements;
      const int count = input.ConsumeIntegralInRange(0, 6);
      for (int i = 0; i < count; ++i) elements.push_back(MakeReply(input, depth + 1));
      return Reply::Array(std::move(elements));
    }
  }
}

void CheckReplies(FuzzedDataProvider& input) {
  const std::vector<std::size_t> sizes = PieceSizes(input);
  std::vector<Reply> replies;
  std::string stream;
  while (input.remaining_bytes() > 0 && replies.size() < 16) {
    replies.push_back(MakeReply(input, 0));
    AppendResp(replies.back(), stream);
  }
  const Parsed parsed = ParseInPieces(stream, sizes);
  const std::string context = "stream \"" + Escape(stream, 300) + "\"";
  FUZZ_CHECK(!parsed.failed, context + ": " + parsed.error);
  FUZZ_CHECK(parsed.replies.size() == replies.size(), context);
  for (std::size_t i = 0; i < replies.size(); ++i) {
    FUZZ_CHECK(SameReply(parsed.replies[i], replies[i]),
               context + ": reply " + std::to_string(i) + " " + Describe(replies[i]) +
                   " came back as " + Describe(parsed.replies[i]));
  }
}

}  // namespace
}  // namespace sfroute::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  FuzzedDataProvider input(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      sfroute::fuzz::CheckStream(input);
      break;
    case 1:
      sfroute::fuzz::CheckCommands(input);
      break;
    default:
      sfroute::fuzz::CheckReplies(input);
      break;
  }
  return 0;
}
