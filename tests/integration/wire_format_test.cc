// The wire format of SPEC.md §1 on every deployment (memory, standalone
// Redis, Redis Cluster: see deployment.h), checked from outside with plain
// commands, as a Java or Go service sharing the Redis would see it: exact
// key names, Redis types, values and TTLs, no other keys; and the reverse
// direction, keys written raw by another service read by the library.
//
// Key names are spelled out here by hand, not built with the library's
// helpers, so that a wrong helper cannot make a wrong test pass.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "deployment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace {

using ::sfroute::PodIndex;
using ::sfroute::PodStates;
using ::sfroute::PodUids;
using ::sfroute::ServicePods;
using ::sfroute::TrySetResult;
using ::sfroute::Ttl;
using ::sfroute::testing::DeploymentParamName;
using ::sfroute::testing::Deployments;
using ::sfroute::testing::DeploymentTest;
using ::sfroute::testing::RawReply;
using ::testing::IsEmpty;
using ::testing::Optional;

using namespace std::string_literals;
using Fields = std::map<std::string, std::string>;

constexpr Ttl kPersistent = Ttl::Persistent();
// "玩家-1" in UTF-8, spelled as bytes so the source encoding does not matter.
const std::string kUtf8Uid = "\xe7\x8e\xa9\xe5\xae\xb6-1";

class WireFormatTest : public DeploymentTest {
 protected:
  // Every key that mentions this test's namespace anywhere, sorted: a key
  // the library wrote outside the sf:{<ns>:...} scheme shows up here too.
  std::vector<std::string> KeysOfNamespace() {
    auto keys = raw().Keys("*" + ns_ + "*");
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  static std::vector<std::string> Sorted(std::vector<std::string> keys) {
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  void RawCommand(const std::vector<std::string>& args) {
    auto reply = raw().Command(args);
    ASSERT_NE(reply.type, RawReply::Type::kError) << reply.str;
  }
};

TEST_P(WireFormatTest, PersistentLink) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 17, kPersistent));
  const std::string link_key = "sf:{" + ns_ + ":lk:u1}chat";
  const std::string hash_key = "sf:{" + ns_ + ":lk:u1}";
  EXPECT_EQ(KeysOfNamespace(), Sorted({link_key, hash_key}));
  EXPECT_EQ(raw().Type(link_key), "string");
  EXPECT_EQ(raw().Get(link_key), "17");
  EXPECT_EQ(raw().Ttl(link_key), -1);
  EXPECT_EQ(raw().Type(hash_key), "hash");
  EXPECT_EQ(raw().HGetAll(hash_key), (Fields{{"chat", "17"}}));
  EXPECT_EQ(raw().Ttl(hash_key), -1);
}

TEST_P(WireFormatTest, TemporaryLinkHasTtlAndNoHashField) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 4, Ttl::Seconds(60)));
  const std::string link_key = "sf:{" + ns_ + ":lk:u1}chat";
  EXPECT_EQ(KeysOfNamespace(), std::vector<std::string>{link_key});
  EXPECT_EQ(raw().Type(link_key), "string");
  EXPECT_EQ(raw().Get(link_key), "4");
  const long long ttl = raw().Ttl(link_key);
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 60);
}

TEST_P(WireFormatTest, TemporaryLinkBesidePersistentOnes) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 1, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 2, Ttl::Seconds(60)));
  const std::string hash_key = "sf:{" + ns_ + ":lk:u1}";
  EXPECT_EQ(raw().HGetAll(hash_key), (Fields{{"chat", "1"}}));
  EXPECT_EQ(raw().Ttl(hash_key), -1);
  EXPECT_EQ(KeysOfNamespace(), Sorted({hash_key, hash_key + "chat", hash_key + "scene"}));
}

TEST_P(WireFormatTest, PersistentToTemporaryRemovesHashField) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 3, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 3, Ttl::Seconds(60)));
  const std::string link_key = "sf:{" + ns_ + ":lk:u1}chat";
  // The hash lost its only field, so Redis removed it.
  EXPECT_EQ(raw().Type("sf:{" + ns_ + ":lk:u1}"), "none");
  EXPECT_EQ(KeysOfNamespace(), std::vector<std::string>{link_key});
  EXPECT_GT(raw().Ttl(link_key), 0);

  // And back: persistent again, TTL cleared.
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 3, kPersistent));
  EXPECT_EQ(raw().Ttl(link_key), -1);
  EXPECT_EQ(raw().HGetAll("sf:{" + ns_ + ":lk:u1}"), (Fields{{"chat", "3"}}));
}

TEST_P(WireFormatTest, PodValuesAreCanonicalDecimal) {
  const std::string prefix = "sf:{" + ns_ + ":lk:u1}";
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "a", 0, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "b", 10, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "c", 2147483647, kPersistent));
  ASSERT_OK(ex().TrySetLinkedPod(ns_, "u1", "d", 0, kPersistent));
  ASSERT_OK(ex().SetLinkedPodIfAbsent(ns_, "u1", "e", 0, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "f", 0, Ttl::Seconds(60)));
  EXPECT_EQ(raw().Get(prefix + "a"), "0");
  EXPECT_EQ(raw().Get(prefix + "b"), "10");
  EXPECT_EQ(raw().Get(prefix + "c"), "2147483647");
  EXPECT_EQ(raw().Get(prefix + "d"), "0");
  EXPECT_EQ(raw().Get(prefix + "e"), "0");
  EXPECT_EQ(raw().Get(prefix + "f"), "0");
  EXPECT_EQ(raw().HGetAll(prefix),
            (Fields{{"a", "0"}, {"b", "10"}, {"c", "2147483647"}, {"d", "0"}, {"e", "0"}}));

  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "c"));
  EXPECT_THAT(pod, Optional(2147483647));
}

TEST_P(WireFormatTest, ComputeWritesTheLinkLikeSetLinkedPod) {
  ASSERT_OK(ex().SetServiceState(ns_, "chat", 0, "1-100"));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "chat", kPersistent, 100));
  EXPECT_THAT(pod, Optional(0));
  const std::string hash_key = "sf:{" + ns_ + ":lk:u1}";
  const std::string state_key = "sf:{" + ns_ + ":state:chat}";
  EXPECT_EQ(KeysOfNamespace(), Sorted({hash_key, hash_key + "chat", state_key}));
  EXPECT_EQ(raw().Get(hash_key + "chat"), "0");
  EXPECT_EQ(raw().Ttl(hash_key + "chat"), -1);
  EXPECT_EQ(raw().HGetAll(hash_key), (Fields{{"chat", "0"}}));
}

TEST_P(WireFormatTest, ServiceStateHash) {
  const std::string binary_state = "a b{c}:\0\xe7\x8e\xa9\n"s;
  ASSERT_OK(ex().SetServiceState(ns_, "chat", 3, "1-100"));
  ASSERT_OK(ex().SetServiceState(ns_, "chat", 0, binary_state));
  ASSERT_OK(ex().SetServiceStates(ns_, {{"chat", {{12, "x"}}}, {"scene", {{1, "y"}}}}));
  const std::string chat_key = "sf:{" + ns_ + ":state:chat}";
  const std::string scene_key = "sf:{" + ns_ + ":state:scene}";
  EXPECT_EQ(KeysOfNamespace(), Sorted({chat_key, scene_key}));
  EXPECT_EQ(raw().Type(chat_key), "hash");
  EXPECT_EQ(raw().Ttl(chat_key), -1);
  EXPECT_EQ(raw().HGetAll(chat_key), (Fields{{"0", binary_state}, {"3", "1-100"}, {"12", "x"}}));
  EXPECT_EQ(raw().HGetAll(scene_key), (Fields{{"1", "y"}}));
  EXPECT_EQ(raw().Ttl(scene_key), -1);

  ASSERT_OK_AND_ASSIGN(PodStates states, ex().GetServiceState(ns_, "chat"));
  EXPECT_EQ(states, (PodStates{{0, binary_state}, {3, "1-100"}, {12, "x"}}));
}

TEST_P(WireFormatTest, WorkloadString) {
  const std::string binary_state = "run\0ning {x}"s;
  ASSERT_OK(ex().SetWorkloadState(ns_, "chat", binary_state));
  const std::string key = "sf:{" + ns_ + ":workload:chat}";
  EXPECT_EQ(KeysOfNamespace(), std::vector<std::string>{key});
  EXPECT_EQ(raw().Type(key), "string");
  EXPECT_EQ(raw().Get(key), binary_state);
  EXPECT_EQ(raw().Ttl(key), -1);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> state, ex().GetWorkloadState(ns_, "chat"));
  EXPECT_THAT(state, Optional(binary_state));
}

TEST_P(WireFormatTest, RemoveWithKeepLeavesTemporaryStringOnly) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 5, kPersistent));
  ASSERT_OK_AND_ASSIGN(bool existed, ex().RemoveLinkedPod(ns_, "u1", "chat", 30));
  EXPECT_TRUE(existed);
  const std::string link_key = "sf:{" + ns_ + ":lk:u1}chat";
  EXPECT_EQ(KeysOfNamespace(), std::vector<std::string>{link_key});
  EXPECT_EQ(raw().Type(link_key), "string");
  EXPECT_EQ(raw().Get(link_key), "5");
  const long long ttl = raw().Ttl(link_key);
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 30);

  ASSERT_OK_AND_ASSIGN(existed, ex().RemoveLinkedPod(ns_, "u1", "chat", 0));
  EXPECT_TRUE(existed);
  EXPECT_THAT(KeysOfNamespace(), IsEmpty());
}

TEST_P(WireFormatTest, NoOtherKeysAreCreated) {
  // Every operation once; reads and no-op writes must create nothing.
  ASSERT_OK(ex().SetServiceState(ns_, "chat", 0, "1-100"));
  ASSERT_OK(ex().GetServiceState(ns_, "chat"));
  ASSERT_OK(ex().GetServiceStates(ns_, {"chat", "nostate"}));
  ASSERT_OK(ex().SetServiceStates(ns_, {{"chat", {{1, "2-100"}}}}));
  ASSERT_OK(ex().SetWorkloadState(ns_, "chat", "up"));
  ASSERT_OK(ex().GetWorkloadState(ns_, "chat"));
  ASSERT_OK(ex().GetWorkloadState(ns_, "noworkload"));
  ASSERT_OK(ex().GetWorkloadStates(ns_, {"chat", "noworkload"}));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 1, kPersistent));
  ASSERT_OK(ex().TrySetLinkedPod(ns_, "u1", "chat", 2, kPersistent));
  ASSERT_OK(ex().SetLinkedPodIfAbsent(ns_, "u1", "chat", 2, kPersistent));
  ASSERT_OK(ex().GetLinkedPod(ns_, "u1", "chat"));
  ASSERT_OK(ex().GetLinkedPod(ns_, "nobody", "chat"));
  ASSERT_OK(ex().GetLinkedPodIfPersist(ns_, "u1", "chat"));
  ASSERT_OK(ex().GetLinkedPodIfPersist(ns_, "nobody", "chat"));
  ASSERT_OK(ex().BatchGetLinkedPod(ns_, {"u1", "nobody"}, "chat"));
  ASSERT_OK(ex().GetLinkService(ns_, "u1"));
  ASSERT_OK(ex().GetLinkService(ns_, "nobody"));
  ASSERT_OK(ex().RemoveLinkedPod(ns_, "nobody", "chat", 0));
  ASSERT_OK(ex().RemoveLinkedPod(ns_, "nobody", "chat", 30));
  ASSERT_OK(ex().RemoveLinkedPodWithId(ns_, "nobody", "chat", 30, 1));
  ASSERT_OK(ex().RemoveLinkedPodWithId(ns_, "u1", "chat", 30, 9));  // no match
  ASSERT_OK(ex().ComputeLinkedPodIfAbsent(ns_, "u2", "chat", Ttl::Seconds(60), 100));
  ASSERT_OK(ex().ComputeLinkedPodIfAbsent(ns_, "u3", "chat", kPersistent, 999));  // none

  const std::string prefix = "sf:{" + ns_ + ":";
  EXPECT_EQ(KeysOfNamespace(), Sorted({
                                   prefix + "state:chat}",
                                   prefix + "workload:chat}",
                                   prefix + "lk:u1}",
                                   prefix + "lk:u1}chat",
                                   prefix + "lk:u2}chat",
                               }));
  // The same through the pattern another service would scan with.
  EXPECT_EQ(Sorted(raw().Keys(prefix + "*")), KeysOfNamespace());
}

TEST_P(WireFormatTest, ReadsPersistentLinkWrittenByAnotherService) {
  // What the Java scripts write for a persistent link.
  const std::string hash_key = "sf:{" + ns_ + ":lk:u1}";
  RawCommand({"HSET", hash_key, "chat", "5"});
  RawCommand({"SET", hash_key + "chat", "5"});
  RawCommand({"HSET", hash_key, "scene", "0"});
  RawCommand({"SET", hash_key + "scene", "0"});

  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "chat"));
  EXPECT_THAT(pod, Optional(5));
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPodIfPersist(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(0));
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_EQ(links, (ServicePods{{"chat", 5}, {"scene", 0}}));
  ASSERT_OK_AND_ASSIGN(PodUids uids, ex().BatchGetLinkedPod(ns_, {"u1"}, "chat"));
  EXPECT_EQ(uids, (PodUids{{5, {"u1"}}}));
  ASSERT_OK_AND_ASSIGN(TrySetResult result,
                       ex().TrySetLinkedPod(ns_, "u1", "chat", 6, kPersistent));
  EXPECT_EQ(result, (TrySetResult{.applied = false, .pod = 5, .previous = 5}));

  // Removing it removes both parts.
  ASSERT_OK_AND_ASSIGN(bool existed, ex().RemoveLinkedPod(ns_, "u1", "chat", 0));
  EXPECT_TRUE(existed);
  EXPECT_FALSE(raw().Exists(hash_key + "chat"));
  EXPECT_EQ(raw().HGetAll(hash_key), (Fields{{"scene", "0"}}));
}

TEST_P(WireFormatTest, ReadsTemporaryLinkWrittenByAnotherService) {
  const std::string link_key = "sf:{" + ns_ + ":lk:u1}chat";
  RawCommand({"SET", link_key, "7", "EX", "300"});
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "chat"));
  EXPECT_THAT(pod, Optional(7));
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPodIfPersist(ns_, "u1", "chat"));
  EXPECT_EQ(pod, std::nullopt);
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_THAT(links, IsEmpty());
  ASSERT_OK_AND_ASSIGN(TrySetResult result,
                       ex().TrySetLinkedPod(ns_, "u1", "chat", 8, kPersistent));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 8, .previous = 7}));
  EXPECT_EQ(raw().Get(link_key), "8");
  EXPECT_EQ(raw().Ttl(link_key), -1);
  EXPECT_EQ(raw().HGetAll("sf:{" + ns_ + ":lk:u1}"), (Fields{{"chat", "8"}}));
}

TEST_P(WireFormatTest, ReadsStatesWrittenByAnotherService) {
  const std::string state_key = "sf:{" + ns_ + ":state:chat}";
  RawCommand({"HSET", state_key, "0", "5-100", "2", "1-100", "3", "0-1"});
  RawCommand({"SET", "sf:{" + ns_ + ":workload:chat}", "ready"});
  ASSERT_OK_AND_ASSIGN(PodStates states, ex().GetServiceState(ns_, "chat"));
  EXPECT_EQ(states, (PodStates{{0, "5-100"}, {2, "1-100"}, {3, "0-1"}}));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> workload, ex().GetWorkloadState(ns_, "chat"));
  EXPECT_THAT(workload, Optional(std::string("ready")));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "chat", kPersistent, 100));
  EXPECT_THAT(pod, Optional(2));
}

TEST_P(WireFormatTest, Utf8UidIsByteExactInTheKey) {
  ASSERT_OK(ex().SetLinkedPod(ns_, kUtf8Uid, "chat", 3, kPersistent));
  const std::string hash_key = "sf:{" + ns_ + ":lk:" + kUtf8Uid + "}";
  EXPECT_EQ(KeysOfNamespace(), Sorted({hash_key, hash_key + "chat"}));
  EXPECT_EQ(raw().Get(hash_key + "chat"), "3");
  EXPECT_EQ(raw().HGetAll(hash_key), (Fields{{"chat", "3"}}));

  ASSERT_OK_AND_ASSIGN(PodUids uids, ex().BatchGetLinkedPod(ns_, {"other", kUtf8Uid}, "chat"));
  EXPECT_EQ(uids, (PodUids{{3, {kUtf8Uid}}}));
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, kUtf8Uid));
  EXPECT_EQ(links, (ServicePods{{"chat", 3}}));
  ASSERT_OK_AND_ASSIGN(bool removed, ex().RemoveLinkedPodWithId(ns_, kUtf8Uid, "chat", 0, 3));
  EXPECT_TRUE(removed);
  EXPECT_THAT(KeysOfNamespace(), IsEmpty());
}

TEST_P(WireFormatTest, Utf8UidWrittenByAnotherServiceIsRead) {
  const std::string uid = "\xd0\xb8\xd0\xb3\xd1\x80\xd0\xbe\xd0\xba:7";  // "игрок:7"
  RawCommand({"SET", "sf:{" + ns_ + ":lk:" + uid + "}chat", "9"});
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, uid, "chat"));
  EXPECT_THAT(pod, Optional(9));
}

TEST_P(WireFormatTest, PunctuationInIdentifiersIsKeptAsIs) {
  const std::string uid = "user@example.com:42/a";
  const std::string svc = "game.scene-v2_!~#$%&'()*+,/;<=>?@[]^`|";
  ASSERT_OK(ex().SetLinkedPod(ns_, uid, svc, 1, kPersistent));
  ASSERT_OK(ex().SetServiceState(ns_, svc, 1, "s"));
  ASSERT_OK(ex().SetWorkloadState(ns_, svc, "w"));
  const std::string hash_key = "sf:{" + ns_ + ":lk:" + uid + "}";
  EXPECT_EQ(KeysOfNamespace(),
            Sorted({hash_key, hash_key + svc, "sf:{" + ns_ + ":state:" + svc + "}",
                    "sf:{" + ns_ + ":workload:" + svc + "}"}));
  EXPECT_EQ(raw().HGetAll(hash_key), (Fields{{svc, "1"}}));
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, uid));
  EXPECT_EQ(links, (ServicePods{{svc, 1}}));
}

INSTANTIATE_TEST_SUITE_P(, WireFormatTest, ::testing::ValuesIn(Deployments()),
                         DeploymentParamName());

}  // namespace
