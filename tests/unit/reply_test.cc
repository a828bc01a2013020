// The mapping of Redis error replies to status codes (SPEC.md §3).
#include "reply.h"

#include "gtest/gtest.h"
#include "status_matchers.h"

namespace sfroute::internal {
namespace {

TEST(ReplyTest, MapsServerErrorsToCodes) {
  EXPECT_STATUS_CODE(StatusFromErrorReply("op", "NOAUTH Authentication required."),
                     PERMISSION_DENIED);
  EXPECT_STATUS_CODE(StatusFromErrorReply("op", "NOPERM this user has no permissions"),
                     PERMISSION_DENIED);
  EXPECT_STATUS_CODE(StatusFromErrorReply("op", "WRONGPASS invalid username-password pair"),
                     PERMISSION_DENIED);
  EXPECT_STATUS_CODE(StatusFromErrorReply("op", "WRONGTYPE Operation against a key"), DATA_LOSS);
  EXPECT_STATUS_CODE(StatusFromErrorReply("op", "LOADING Redis is loading"), UNAVAILABLE);
  EXPECT_STATUS_CODE(StatusFromErrorReply("op", "BUSY Redis is busy running a script"),
                     UNAVAILABLE);
  EXPECT_STATUS_CODE(StatusFromErrorReply("op", "READONLY You can't write"), UNAVAILABLE);
  EXPECT_STATUS_CODE(StatusFromErrorReply("op", "ERR unknown command"), INTERNAL);
}

TEST(ReplyTest, MessagesNameTheContext) {
  const absl::Status status = StatusFromErrorReply("GetLinkedPod(sf:{n:lk:u}s)", "ERR x");
  EXPECT_EQ(status.message(), "GetLinkedPod(sf:{n:lk:u}s): server replied: ERR x");
  const absl::Status annotated = Annotate(absl::UnavailableError("down"), "Op(k)");
  EXPECT_EQ(annotated.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(annotated.message(), "Op(k): down");
  EXPECT_OK(Annotate(absl::OkStatus(), "Op(k)"));
}

TEST(ReplyTest, UnexpectedShapesAreInternal) {
  EXPECT_STATUS_CODE(UnexpectedReply("op", Reply::Integer(3)), INTERNAL);
  EXPECT_STATUS_CODE(UnexpectedReply("op", Reply::Error("NOPERM x")), PERMISSION_DENIED);
}

}  // namespace
}  // namespace sfroute::internal
