// RESP encoding of commands and the cutting of a byte stream into replies.
#include "redis/resp.h"

#include <string>

#include "gtest/gtest.h"
#include "status_matchers.h"

namespace sfroute::internal {
namespace {

TEST(RespTest, EncodesCommandsAsArraysOfBulkStrings) {
  std::string out;
  AppendCommand(Command{{"SET", "k", std::string("v\r\n\0x", 5)}}, out);
  AppendCommand(Command{{"GET", ""}}, out);
  constexpr char kExpected[] =
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\n\0x\r\n"
      "*2\r\n$3\r\nGET\r\n$0\r\n\r\n";
  EXPECT_EQ(out, std::string(kExpected, sizeof kExpected - 1));
}

// The encoders write in place into room sized by ArgumentSizeBound: an
// argument of a seven-digit length, an empty command, and pieces appended
// after bytes already there come out exact, and the room left over is not
// kept as bytes.
TEST(RespTest, EncodesInPlaceExactlyAfterWhatIsThere) {
  const std::string big(1234567, 'x');
  std::string out = "already";
  AppendCommand(Command{{"SET", big}}, out);
  AppendCommand(Command{}, out);
  AppendArrayHeader(12, out);
  AppendArgument("", out);
  AppendArgument("abc", out);
  const std::string expected =
      "already*2\r\n$3\r\nSET\r\n$1234567\r\n" + big + "\r\n*0\r\n*12\r\n$0\r\n\r\n$3\r\nabc\r\n";
  EXPECT_EQ(out, expected);
}

TEST(RespTest, CutsRepliesAnywhereInTheStream) {
  const std::string stream =
      "+OK\r\n:42\r\n$-1\r\n$3\r\na\r\n\r\n-ERR boom\r\n*2\r\n:1\r\n*1\r\n$1\r\nx\r\n";
  ReplyParser parser;
  std::vector<Reply> replies;
  // One byte at a time: every cut falls somewhere.
  for (char byte : stream) {
    parser.Feed(&byte, 1);
    for (;;) {
      ASSERT_OK_AND_ASSIGN(const bool more, parser.Next(replies));
      if (!more) break;
    }
  }
  ASSERT_EQ(replies.size(), 6u);
  EXPECT_EQ(replies[0].type, Reply::Type::kStatus);
  EXPECT_EQ(replies[0].str, "OK");
  EXPECT_EQ(replies[1].integer, 42);
  EXPECT_TRUE(replies[2].is_nil());
  EXPECT_EQ(replies[3].str, "a\r\n");
  EXPECT_TRUE(replies[4].is_error());
  EXPECT_EQ(replies[4].str, "ERR boom");
  ASSERT_EQ(replies[5].elements.size(), 2u);
  EXPECT_EQ(replies[5].elements[1].elements[0].str, "x");
}

TEST(RespTest, AStreamThatIsNotRespIsAnInternalError) {
  ReplyParser parser;
  parser.Feed("?what\r\n", 7);
  std::vector<Reply> replies;
  EXPECT_STATUS_CODE(parser.Next(replies), INTERNAL);
}

}  // namespace
}  // namespace sfroute::internal
