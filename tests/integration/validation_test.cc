// The identifier and TTL rules of SPEC.md §1: every violation is rejected
// with INVALID_ARGUMENT naming the field, by every operation that takes the
// argument, before any I/O and without changing the database. Valid
// boundary values go through. The tests with data run on every deployment
// (memory, standalone Redis, Redis Cluster: see deployment.h).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "deployment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace {

using ::sfroute::Executor;
using ::sfroute::Options;
using ::sfroute::PodIndex;
using ::sfroute::PodStates;
using ::sfroute::PodUids;
using ::sfroute::ServicePods;
using ::sfroute::ServicePodStates;
using ::sfroute::Ttl;
using ::sfroute::testing::DeploymentParamName;
using ::sfroute::testing::Deployments;
using ::sfroute::testing::DeploymentTest;
using ::testing::Optional;

using namespace std::string_literals;

enum class Field { kNs, kSvc, kUid, kState, kPod, kTtl, kKeep };

const char* FieldName(Field field) {
  switch (field) {
    case Field::kNs:
      return "ns";
    case Field::kSvc:
      return "svc";
    case Field::kUid:
      return "uid";
    case Field::kState:
      return "state";
    case Field::kPod:
      return "pod";
    case Field::kTtl:
      return "ttl";
    case Field::kKeep:
      return "keep";
  }
  return "?";
}

// Whether `message` names `field` as a word of its own: "uid", "'uid'",
// "uid:" or "keep_seconds" count; "fluid" and "Pod" do not.
bool NamesField(std::string_view message, std::string_view field) {
  auto is_alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (size_t at = message.find(field); at != std::string_view::npos;
       at = message.find(field, at + 1)) {
    const bool starts = at == 0 || !is_alnum(message[at - 1]);
    const size_t end = at + field.size();
    const bool ends = end == message.size() || !is_alnum(message[end]);
    if (starts && ends) return true;
  }
  return false;
}

// The arguments of one call; each operation takes those it needs.
struct Args {
  std::string ns;
  std::string uid;
  std::string svc;
  std::string state;
  PodIndex pod = 2;
  std::int64_t ttl = -1;  // the wire value, as Ttl::Seconds() takes it
  std::int64_t keep = 0;
};

struct Operation {
  std::string name;
  std::vector<Field> fields;
  std::function<absl::Status(Executor&, const Args&)> run;

  bool Takes(Field field) const {
    return std::find(fields.begin(), fields.end(), field) != fields.end();
  }
};

template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}
absl::Status StatusOf(const absl::Status& status) { return status; }

// Every operation of SPEC.md §2. Batch operations get the argument under
// test between valid ones, so a call that is not rejected as a whole would
// write (or read) the valid ones.
const std::vector<Operation>& Operations() {
  using F = Field;
  static const auto* const operations = new std::vector<Operation>{
      {"SetServiceState",
       {F::kNs, F::kSvc, F::kPod, F::kState},
       [](Executor& ex, const Args& a) { return ex.SetServiceState(a.ns, a.svc, a.pod, a.state); }},
      {"GetServiceState",
       {F::kNs, F::kSvc},
       [](Executor& ex, const Args& a) { return StatusOf(ex.GetServiceState(a.ns, a.svc)); }},
      {"GetServiceStates",
       {F::kNs, F::kSvc},
       [](Executor& ex, const Args& a) {
         return StatusOf(ex.GetServiceStates(a.ns, {"!good", a.svc, "~good"}));
       }},
      {"SetServiceStates",
       {F::kNs, F::kSvc, F::kPod, F::kState},
       [](Executor& ex, const Args& a) {
         ServicePodStates states = {{"!good", {{1, "good"}}}, {"~good", {{1, "good"}}}};
         states[a.svc] = {{0, "good"}, {a.pod, a.state}, {7, "good"}};
         return ex.SetServiceStates(a.ns, states);
       }},
      {"SetWorkloadState",
       {F::kNs, F::kSvc, F::kState},
       [](Executor& ex, const Args& a) { return ex.SetWorkloadState(a.ns, a.svc, a.state); }},
      {"GetWorkloadState",
       {F::kNs, F::kSvc},
       [](Executor& ex, const Args& a) { return StatusOf(ex.GetWorkloadState(a.ns, a.svc)); }},
      {"GetWorkloadStates",
       {F::kNs, F::kSvc},
       [](Executor& ex, const Args& a) {
         return StatusOf(ex.GetWorkloadStates(a.ns, {"!good", a.svc, "~good"}));
       }},
      {"SetLinkedPod",
       {F::kNs, F::kUid, F::kSvc, F::kPod, F::kTtl},
       [](Executor& ex, const Args& a) {
         return StatusOf(ex.SetLinkedPod(a.ns, a.uid, a.svc, a.pod, Ttl::Seconds(a.ttl)));
       }},
      {"TrySetLinkedPod",
       {F::kNs, F::kUid, F::kSvc, F::kPod, F::kTtl},
       [](Executor& ex, const Args& a) {
         return StatusOf(ex.TrySetLinkedPod(a.ns, a.uid, a.svc, a.pod, Ttl::Seconds(a.ttl)));
       }},
      {"SetLinkedPodIfAbsent",
       {F::kNs, F::kUid, F::kSvc, F::kPod, F::kTtl},
       [](Executor& ex, const Args& a) {
         return StatusOf(ex.SetLinkedPodIfAbsent(a.ns, a.uid, a.svc, a.pod, Ttl::Seconds(a.ttl)));
       }},
      {"GetLinkedPod",
       {F::kNs, F::kUid, F::kSvc},
       [](Executor& ex, const Args& a) { return StatusOf(ex.GetLinkedPod(a.ns, a.uid, a.svc)); }},
      {"GetLinkedPodIfPersist",
       {F::kNs, F::kUid, F::kSvc},
       [](Executor& ex, const Args& a) {
         return StatusOf(ex.GetLinkedPodIfPersist(a.ns, a.uid, a.svc));
       }},
      {"BatchGetLinkedPod",
       {F::kNs, F::kUid, F::kSvc},
       [](Executor& ex, const Args& a) {
         return StatusOf(ex.BatchGetLinkedPod(a.ns, {"good-1", a.uid, "good-2"}, a.svc));
       }},
      {"RemoveLinkedPod",
       {F::kNs, F::kUid, F::kSvc, F::kKeep},
       [](Executor& ex, const Args& a) {
         return StatusOf(ex.RemoveLinkedPod(a.ns, a.uid, a.svc, a.keep));
       }},
      {"RemoveLinkedPodWithId",
       {F::kNs, F::kUid, F::kSvc, F::kKeep, F::kPod},
       [](Executor& ex, const Args& a) {
         return StatusOf(ex.RemoveLinkedPodWithId(a.ns, a.uid, a.svc, a.keep, a.pod));
       }},
      {"GetLinkService",
       {F::kNs, F::kUid},
       [](Executor& ex, const Args& a) { return StatusOf(ex.GetLinkService(a.ns, a.uid)); }},
      {"ComputeLinkedPodIfAbsent",
       {F::kNs, F::kUid, F::kSvc, F::kTtl},
       [](Executor& ex, const Args& a) {
         return StatusOf(ex.ComputeLinkedPodIfAbsent(a.ns, a.uid, a.svc, Ttl::Seconds(a.ttl), 0));
       }},
  };
  return *operations;
}

// Printable, for failure messages: control and non-ASCII bytes as \xNN,
// long values shortened.
std::string Show(std::string_view value) {
  std::string out;
  for (unsigned char c : value.substr(0, 40)) {
    if (c < 0x20 || c >= 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > 40) out += "...(" + std::to_string(value.size()) + " bytes)";
  return "\"" + out + "\"";
}

class ValidationTest : public DeploymentTest {
 protected:
  void SetUp() override {
    DeploymentTest::SetUp();
    if (HasFatalFailure()) return;

    // Every key a call of this test could write contains the marker: the
    // namespace starts with it and the uid and svc contain it (for calls
    // with an empty or otherwise broken namespace).
    marker_ = ns_;
    valid_.ns = marker_;
    valid_.uid = "p-" + marker_;
    valid_.svc = "q-" + marker_;
    valid_.state = "1-100";

    // Existing data a call that slipped through validation would change.
    ASSERT_OK(ex().SetLinkedPod(valid_.ns, valid_.uid, valid_.svc, 1, Ttl::Persistent()));
    ASSERT_OK(ex().SetServiceState(valid_.ns, valid_.svc, 1, "old"));
    ASSERT_OK(ex().SetServiceState(valid_.ns, valid_.svc, 2, "old"));
    ASSERT_OK(ex().SetWorkloadState(valid_.ns, valid_.svc, "old"));
    ASSERT_EQ(Snapshot().size(), 4u);
  }

  // key -> type, value and whether it has a TTL, for every key that holds
  // the marker.
  std::map<std::string, std::string> Snapshot() {
    std::map<std::string, std::string> snapshot;
    for (const auto& key : raw().Keys("*" + marker_ + "*")) {
      std::string description = raw().Type(key) + "|";
      if (auto value = raw().Get(key)) description += *value;
      for (const auto& [field, value] : raw().HGetAll(key)) {
        description += field + "=" + value + ";";
      }
      description += raw().Ttl(key) == -1 ? "|persistent" : "|ttl";
      snapshot[key] = description;
    }
    return snapshot;
  }

  // Runs every operation that takes `field` with `args` (valid except for
  // `field`) and expects each to be rejected without touching the database.
  void ExpectRejected(Field field, const Args& args, const std::string& what) {
    int operations_run = 0;
    for (const auto& op : Operations()) {
      if (!op.Takes(field)) continue;
      ++operations_run;
      const auto before = Snapshot();
      const absl::Status status = op.run(ex(), args);
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
          << op.name << " with " << FieldName(field) << " = " << what << ": " << status;
      EXPECT_TRUE(NamesField(std::string(status.message()), FieldName(field)))
          << op.name << " with " << FieldName(field) << " = " << what
          << ": the message does not name \"" << FieldName(field) << "\": " << status;
      EXPECT_NE(std::string(status.message()).find(op.name), std::string::npos)
          << op.name << " with " << FieldName(field) << " = " << what
          << ": the message does not name the operation: " << status;
      EXPECT_EQ(Snapshot(), before)
          << op.name << " with " << FieldName(field) << " = " << what << " changed the database";
    }
    EXPECT_GT(operations_run, 0);
  }

  void ExpectNsRejected(const std::string& ns) {
    Args args = valid_;
    args.ns = ns;
    ExpectRejected(Field::kNs, args, Show(ns));
  }
  void ExpectSvcRejected(const std::string& svc) {
    Args args = valid_;
    args.svc = svc;
    ExpectRejected(Field::kSvc, args, Show(svc));
  }
  void ExpectUidRejected(const std::string& uid) {
    Args args = valid_;
    args.uid = uid;
    ExpectRejected(Field::kUid, args, Show(uid));
  }

  std::string marker_;
  Args valid_;
};

// The table above must list each operation with each argument it takes.
TEST(ValidationTableTest, CoversEveryOperationAndArgument) {
  std::map<Field, int> takers;
  for (const auto& op : Operations()) {
    for (Field field : op.fields) ++takers[field];
  }
  EXPECT_EQ(Operations().size(), 17u);
  EXPECT_EQ(takers[Field::kNs], 17);
  EXPECT_EQ(takers[Field::kSvc], 16);  // all but GetLinkService
  EXPECT_EQ(takers[Field::kUid], 10);
  EXPECT_EQ(takers[Field::kState], 3);
  EXPECT_EQ(takers[Field::kPod], 6);
  EXPECT_EQ(takers[Field::kTtl], 4);
  EXPECT_EQ(takers[Field::kKeep], 2);
}

TEST(NamesFieldTest, MatchesWholeWordsOnly) {
  EXPECT_TRUE(NamesField("invalid uid: empty", "uid"));
  EXPECT_TRUE(NamesField("'ns' must be 1-253 bytes", "ns"));
  EXPECT_TRUE(NamesField("keep_seconds must be >= -1", "keep"));
  EXPECT_FALSE(NamesField("fluid", "uid"));
  EXPECT_FALSE(NamesField("SetLinkedPod failed", "pod"));
  EXPECT_FALSE(NamesField("transient", "ns"));
}

// ---------------------------------------------------------------------------
// ns and svc: 1-253 bytes of 0x21-0x7E without '{', '}', ':'
// ---------------------------------------------------------------------------

TEST_P(ValidationTest, RejectsBadNamespace) {
  ExpectNsRejected("");
  ExpectNsRejected(marker_ + std::string(254 - marker_.size(), 'n'));
  ExpectNsRejected(marker_ + " x");
  ExpectNsRejected(marker_ + "\tx");
  ExpectNsRejected(marker_ + "{x");
  ExpectNsRejected(marker_ + "}x");
  ExpectNsRejected(marker_ + ":x");
  ExpectNsRejected(marker_ + "\x7f");
  ExpectNsRejected(marker_ + "\xc3\xa9");  // "é" in UTF-8
  ExpectNsRejected(marker_ + "\x01");
  ExpectNsRejected(marker_ + "\0x"s);
}

TEST_P(ValidationTest, RejectsBadService) {
  ExpectSvcRejected("");
  ExpectSvcRejected(std::string(254, 's'));
  ExpectSvcRejected(" ");
  ExpectSvcRejected("s x");
  ExpectSvcRejected("s\tx");
  ExpectSvcRejected("s{x");
  ExpectSvcRejected("s}x");
  ExpectSvcRejected("}s");
  ExpectSvcRejected("s:x");
  ExpectSvcRejected("s\x7f");
  ExpectSvcRejected("s\xc3\xa9");
  ExpectSvcRejected("s\0x"s);
}

// ---------------------------------------------------------------------------
// uid: 1-512 bytes, no '{' or '}', no ASCII control characters or spaces
// ---------------------------------------------------------------------------

TEST_P(ValidationTest, RejectsBadUid) {
  ExpectUidRejected("");
  ExpectUidRejected(std::string(513, 'u'));
  ExpectUidRejected("\n");
  ExpectUidRejected("u\n");
  ExpectUidRejected("\x7f");
  ExpectUidRejected("u\x7f");
  ExpectUidRejected(" ");
  ExpectUidRejected("u x");
  ExpectUidRejected("u\t");
  ExpectUidRejected("u\r");
  ExpectUidRejected("\x01u");
  ExpectUidRejected("\x1fu");
  ExpectUidRejected("u\0x"s);
  ExpectUidRejected("u{x");
  ExpectUidRejected("u}x");
  ExpectUidRejected("a}");  // with svc "b" this would be uid "a", svc "}b"
}

// ---------------------------------------------------------------------------
// state: 1-4096 bytes
// ---------------------------------------------------------------------------

TEST_P(ValidationTest, RejectsBadState) {
  for (const std::string& state : {""s, std::string(4097, 'x')}) {
    Args args = valid_;
    args.state = state;
    ExpectRejected(Field::kState, args, Show(state));
  }
}

// ---------------------------------------------------------------------------
// pod >= 0; ttl -1 or > 0; keep >= -1
// ---------------------------------------------------------------------------

TEST_P(ValidationTest, RejectsNegativePod) {
  for (PodIndex pod : {-1, -2, std::numeric_limits<PodIndex>::min()}) {
    Args args = valid_;
    args.pod = pod;
    ExpectRejected(Field::kPod, args, std::to_string(pod));
  }
}

TEST_P(ValidationTest, RejectsBadTtl) {
  // Above Ttl::kMaxSeconds: Redis would refuse such TTLs itself (or worse,
  // take them), after the call was sent; they are refused before.
  for (std::int64_t ttl : {std::int64_t{0}, std::int64_t{-2}, std::int64_t{-100},
                           std::numeric_limits<std::int64_t>::min(), Ttl::kMaxSeconds + 1,
                           std::numeric_limits<std::int64_t>::max()}) {
    Args args = valid_;
    args.ttl = ttl;
    ExpectRejected(Field::kTtl, args, std::to_string(ttl));
  }
}

TEST_P(ValidationTest, TakesTheLongestTtlAndKeep) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u", "s", 1, Ttl::Seconds(Ttl::kMaxSeconds)));
  EXPECT_GT(raw().Ttl(LinkKey("u", "s")), Ttl::kMaxSeconds - 100);
  ASSERT_OK(ex().RemoveLinkedPod(ns_, "u", "s", Ttl::kMaxSeconds));
  EXPECT_GT(raw().Ttl(LinkKey("u", "s")), Ttl::kMaxSeconds - 100);
}

TEST_P(ValidationTest, RejectsBadKeep) {
  for (std::int64_t keep :
       {std::int64_t{-2}, std::int64_t{-100}, std::numeric_limits<std::int64_t>::min(),
        Ttl::kMaxSeconds + 1, std::numeric_limits<std::int64_t>::max()}) {
    Args args = valid_;
    args.keep = keep;
    ExpectRejected(Field::kKeep, args, std::to_string(keep));
  }
}

// ---------------------------------------------------------------------------
// Validation comes before any I/O: with no server, a bad argument is still
// INVALID_ARGUMENT, not UNAVAILABLE.
// ---------------------------------------------------------------------------

TEST(ValidationWithoutServerTest, RejectsBeforeAnyIo) {
  // Nothing listens on port 1 of the loopback.
  auto executor = Executor::Open(Options{.redis_url = "redis://127.0.0.1:1",
                                         .connect_timeout = std::chrono::milliseconds(200),
                                         .command_timeout = std::chrono::milliseconds(200)});
  ASSERT_OK(executor);
  Executor& ex = **executor;

  Args valid{.ns = "ns", .uid = "u", .svc = "s", .state = "1-1"};
  // The server really is unreachable: a valid call fails for that reason.
  const absl::Status unreachable = Operations()[0].run(ex, valid);
  EXPECT_FALSE(unreachable.ok());
  EXPECT_NE(unreachable.code(), absl::StatusCode::kInvalidArgument) << unreachable;

  for (const auto& op : Operations()) {
    std::vector<std::pair<Field, Args>> bad_calls;
    Args args = valid;
    args.ns = "a:b";
    bad_calls.emplace_back(Field::kNs, args);
    args = valid;
    args.svc = "";
    bad_calls.emplace_back(Field::kSvc, args);
    args = valid;
    args.uid = "u}";
    bad_calls.emplace_back(Field::kUid, args);
    args = valid;
    args.state = "";
    bad_calls.emplace_back(Field::kState, args);
    args = valid;
    args.pod = -1;
    bad_calls.emplace_back(Field::kPod, args);
    args = valid;
    args.ttl = 0;
    bad_calls.emplace_back(Field::kTtl, args);
    args = valid;
    args.keep = -2;
    bad_calls.emplace_back(Field::kKeep, args);
    for (const auto& [field, bad] : bad_calls) {
      if (!op.Takes(field)) continue;
      const absl::Status status = op.run(ex, bad);
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
          << op.name << " with a bad " << FieldName(field) << ": " << status;
    }
  }
}

// ---------------------------------------------------------------------------
// Valid values, boundaries included, go through.
// ---------------------------------------------------------------------------

// Runs every operation with `args` and expects each to succeed.
void ExpectAllAccepted(Executor& ex, const Args& args, const std::string& what) {
  for (const auto& op : Operations()) {
    const absl::Status status = op.run(ex, args);
    EXPECT_OK(status) << op.name << " with " << what;
  }
}

TEST_P(ValidationTest, AcceptsBoundaryIdentifiers) {
  Args args = valid_;
  args.ns = marker_ + std::string(253 - marker_.size(), 'n');
  args.svc = std::string(253, 's');
  args.uid = std::string(512, 'u');
  args.state = std::string(4096, 'x');
  ExpectAllAccepted(ex(), args, "253-byte ns and svc, 512-byte uid, 4096-byte state");

  // Round trip through the longest key.
  ASSERT_OK(ex().SetLinkedPod(args.ns, args.uid, args.svc, 5, Ttl::Persistent()));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(args.ns, args.uid, args.svc));
  EXPECT_THAT(pod, Optional(5));
  ASSERT_OK(ex().SetServiceState(args.ns, args.svc, 3, args.state));
  ASSERT_OK_AND_ASSIGN(PodStates states, ex().GetServiceState(args.ns, args.svc));
  ASSERT_EQ(states.count(3), 1u);
  EXPECT_EQ(states.at(3), args.state);
}

TEST_P(ValidationTest, AcceptsShortestIdentifiers) {
  Args args = valid_;
  args.svc = "s";
  args.uid = "u";
  args.state = "x";
  ExpectAllAccepted(ex(), args, "1-byte svc, uid and state");
  Args one_byte_ns = args;
  one_byte_ns.ns = "n";
  one_byte_ns.uid = "p-" + marker_;  // keep the keys findable and apart
  for (const auto& op : Operations()) {
    if (op.Takes(Field::kUid)) {
      EXPECT_OK(op.run(ex(), one_byte_ns)) << op.name;
    }
  }
}

TEST_P(ValidationTest, AcceptsPrintableAsciiAndUtf8) {
  Args args = valid_;
  args.ns = marker_ + "!\"#$%&'()*+,-./;<=>?@[\\]^_`|~";
  args.svc = "!\"#$%&'()*+,-./;<=>?@[\\]^_`|~09AZaz";
  args.uid = "\xe7\x8e\xa9\xe5\xae\xb6-1:@/\\~!\"#";  // UTF-8, ':' and punctuation
  args.state = "any bytes {:} \n\t\0 \xff"s;
  ExpectAllAccepted(ex(), args, "punctuation and UTF-8");

  // 512 bytes of UTF-8 (170 three-byte characters and 2 ASCII bytes).
  std::string utf8_uid;
  for (int i = 0; i < 170; ++i) utf8_uid += "\xe7\x8e\xa9";
  utf8_uid += "ab";
  ASSERT_EQ(utf8_uid.size(), 512u);
  args.uid = utf8_uid;
  ExpectAllAccepted(ex(), args, "a 512-byte UTF-8 uid");
}

TEST_P(ValidationTest, AcceptsValidPodTtlAndKeep) {
  for (PodIndex pod : {0, 1, std::numeric_limits<PodIndex>::max()}) {
    Args args = valid_;
    args.pod = pod;
    ExpectAllAccepted(ex(), args, "pod " + std::to_string(pod));
  }
  for (std::int64_t ttl : {std::int64_t{-1}, std::int64_t{1}, std::int64_t{31536000}}) {
    Args args = valid_;
    args.ttl = ttl;
    ExpectAllAccepted(ex(), args, "ttl " + std::to_string(ttl));
  }
  for (std::int64_t keep :
       {std::int64_t{-1}, std::int64_t{0}, std::int64_t{1}, std::int64_t{3600}}) {
    Args args = valid_;
    args.keep = keep;
    ExpectAllAccepted(ex(), args, "keep " + std::to_string(keep));
  }
}

INSTANTIATE_TEST_SUITE_P(, ValidationTest, ::testing::ValuesIn(Deployments()),
                         DeploymentParamName());

}  // namespace
