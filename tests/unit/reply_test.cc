// The mapping of Redis error replies to status codes (SPEC.md §3).
#include "reply.h"

#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "status_matchers.h"

namespace sfroute::internal {
namespace {

// One error text per rule of the table, as Redis 7.0 (or 7.2, where noted
// in the rule) sends it, and the code it must map to. A rule added without
// a sample here fails EveryRuleHasASample.
struct Sample {
  std::string_view rule_prefix;
  std::string_view error;
  absl::StatusCode code;
};
using Code = absl::StatusCode;
constexpr Sample kSamples[] = {
    {"NOAUTH", "NOAUTH Authentication required.", Code::kPermissionDenied},
    {"WRONGPASS", "WRONGPASS invalid username-password pair or user is disabled.",
     Code::kPermissionDenied},
    {"NOPERM", "NOPERM this user has no permissions to run the 'evalsha' command",
     Code::kPermissionDenied},
    {"ERR The user executing the script can't",
     "ERR The user executing the script can't run this command or subcommand script: "
     "3fd1b2c2, on @user_script:52.",
     Code::kPermissionDenied},
    {"ERR ACL failure in script",
     "ERR ACL failure in script: User u has no permissions to run the 'hset' command script: "
     "3fd1b2c2, on @user_script:52.",
     Code::kPermissionDenied},
    {"WRONGTYPE",
     "WRONGTYPE Operation against a key holding the wrong kind of value script: 3fd1, on "
     "@user_script:20.",
     Code::kDataLoss},
    {"LOADING", "LOADING Redis is loading the dataset in memory", Code::kUnavailable},
    {"BUSY ",
     "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
     Code::kUnavailable},
    {"MASTERDOWN",
     "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
     Code::kUnavailable},
    {"READONLY",
     "READONLY You can't write against a read only replica. script: 3fd1, on @user_script:44.",
     Code::kUnavailable},
    {"MISCONF",
     "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
     "to disk.",
     Code::kUnavailable},
    {"OOM",
     "OOM command not allowed when used memory > 'maxmemory'. script: 3fd1, on @user_script:44.",
     Code::kUnavailable},
    {"NOREPLICAS", "NOREPLICAS Not enough good replicas to write.", Code::kUnavailable},
    {"TRYAGAIN", "TRYAGAIN Multiple keys request during rehashing of slot", Code::kUnavailable},
    {"CLUSTERDOWN", "CLUSTERDOWN The cluster is down", Code::kUnavailable},
    {"ERR max number of clients reached", "ERR max number of clients reached", Code::kUnavailable},
    {"MOVED", "MOVED 3999 127.0.0.1:6381", Code::kInvalidArgument},
    {"ASK", "ASK 3999 127.0.0.1:6381", Code::kInvalidArgument},
    {"ERR DB index is out of range", "ERR DB index is out of range", Code::kInvalidArgument},
    {"ERR SELECT is not allowed in cluster mode", "ERR SELECT is not allowed in cluster mode",
     Code::kInvalidArgument},
    {"NOSCRIPT", "NOSCRIPT No matching script. Please use EVAL.", Code::kInternal},
    {"CROSSSLOT", "CROSSSLOT Keys in request don't hash to the same slot", Code::kInternal},
    {"ERR", "ERR unknown command 'EVALSHA', with args beginning with: ", Code::kInternal},
};

TEST(ReplyTest, EveryRuleMapsItsSample) {
  for (const Sample& sample : kSamples) {
    SCOPED_TRACE(sample.error);
    EXPECT_TRUE(sample.error.starts_with(sample.rule_prefix));
    const absl::Status status = StatusFromErrorReply("op", sample.error);
    EXPECT_EQ(status.code(), sample.code);
  }
}

TEST(ReplyTest, EveryRuleHasASample) {
  for (const ServerErrorRule& rule : ServerErrorRules()) {
    SCOPED_TRACE(rule.prefix);
    bool sampled = false;
    for (const Sample& sample : kSamples) {
      if (sample.rule_prefix == rule.prefix) {
        sampled = true;
        EXPECT_EQ(sample.code, rule.code);
      }
    }
    EXPECT_TRUE(sampled) << "a rule of ServerErrorRules() without a sample in kSamples";
  }
}

TEST(ReplyTest, UnknownErrorsAreInternal) {
  EXPECT_STATUS_CODE(StatusFromErrorReply("op", "SOMETHINGNEW went wrong"), INTERNAL);
  // BUSYKEY is not BUSY: it is not an error our commands can get.
  EXPECT_STATUS_CODE(StatusFromErrorReply("op", "BUSYKEY Target key name already exists."),
                     INTERNAL);
}

TEST(ReplyTest, LongErrorsAreQuotedInPart) {
  const std::string error = "ERR " + std::string(100000, 'x');
  const absl::Status status = StatusFromErrorReply("op", error);
  EXPECT_LT(status.message().size(), 600u);
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
