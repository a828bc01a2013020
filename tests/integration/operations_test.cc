// Every operation of SPEC.md §2 through sfroute::Executor, on every
// deployment (memory, standalone Redis, Redis Cluster: see deployment.h).
// Each test works in its own namespace; raw() looks at the keys from outside
// where the result alone would not prove the behaviour (TTLs, the links
// hash).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "deployment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace sfroute {
// Readable failure messages for TrySetResult.
void PrintTo(const TrySetResult& result, std::ostream* os) {
  *os << "{applied=" << result.applied << ", pod=" << result.pod << ", previous=";
  if (result.previous.has_value()) {
    *os << *result.previous;
  } else {
    *os << "none";
  }
  *os << "}";
}
}  // namespace sfroute

namespace {

using ::sfroute::Executor;
using ::sfroute::LogLevel;
using ::sfroute::Options;
using ::sfroute::PodIndex;
using ::sfroute::PodStates;
using ::sfroute::PodUids;
using ::sfroute::ServicePods;
using ::sfroute::ServicePodStates;
using ::sfroute::TrySetResult;
using ::sfroute::Ttl;
using ::sfroute::WorkloadStates;
using ::sfroute::testing::DeploymentParamName;
using ::sfroute::testing::Deployments;
using ::sfroute::testing::DeploymentTest;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

constexpr Ttl kPersistent = Ttl::Persistent();

class OperationsTest : public DeploymentTest {
 protected:
  // Writes a value the way another service would, optionally with a TTL.
  void RawSet(const std::string& key, const std::string& value, int ttl = 0) {
    std::vector<std::string> args = {"SET", key, value};
    if (ttl > 0) {
      args.push_back("EX");
      args.push_back(std::to_string(ttl));
    }
    ASSERT_EQ(raw().Command(args).str, "OK");
  }
  void RawHSet(const std::string& key, const std::string& field, const std::string& value) {
    auto reply = raw().Command({"HSET", key, field, value});
    ASSERT_EQ(reply.type, sfroute::testing::RawReply::Type::kInteger) << reply.str;
  }

  // Expects a temporary link: the string key has 0 < TTL <= max_ttl and the
  // links hash has no field for svc.
  void ExpectTemporary(const std::string& uid, const std::string& svc, long long max_ttl) {
    const long long ttl = raw().Ttl(LinkKey(uid, svc));
    EXPECT_GT(ttl, 0) << LinkKey(uid, svc);
    EXPECT_LE(ttl, max_ttl) << LinkKey(uid, svc);
    EXPECT_EQ(raw().HGetAll(LinksHashKey(uid)).count(svc), 0u)
        << "a temporary link must not be in the links hash";
  }
  // Expects a persistent link to `pod`: no TTL, and the hash field agrees.
  void ExpectPersistent(const std::string& uid, const std::string& svc, PodIndex pod) {
    EXPECT_EQ(raw().Ttl(LinkKey(uid, svc)), -1) << LinkKey(uid, svc);
    EXPECT_EQ(raw().Get(LinkKey(uid, svc)), std::to_string(pod));
    const auto fields = raw().HGetAll(LinksHashKey(uid));
    ASSERT_EQ(fields.count(svc), 1u) << "a persistent link must be in the links hash";
    EXPECT_EQ(fields.at(svc), std::to_string(pod));
  }
};

// ---------------------------------------------------------------------------
// Pod states
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, ServiceStateSetThenGet) {
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 0, "1-100"));
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 17, "2-200"));
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 3, "opaque state {with} : spaces"));
  ASSERT_OK_AND_ASSIGN(PodStates states, ex().GetServiceState(ns_, "scene"));
  EXPECT_EQ(states, (PodStates{{0, "1-100"}, {3, "opaque state {with} : spaces"}, {17, "2-200"}}));

  // Overwriting one pod leaves the others.
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 3, "9-9"));
  ASSERT_OK_AND_ASSIGN(states, ex().GetServiceState(ns_, "scene"));
  EXPECT_EQ(states, (PodStates{{0, "1-100"}, {3, "9-9"}, {17, "2-200"}}));

  // Another service of the namespace is separate.
  ASSERT_OK_AND_ASSIGN(PodStates other, ex().GetServiceState(ns_, "chat"));
  EXPECT_THAT(other, IsEmpty());
}

TEST_P(OperationsTest, ServiceStateOfMissingServiceIsEmpty) {
  ASSERT_OK_AND_ASSIGN(PodStates states, ex().GetServiceState(ns_, "nothing"));
  EXPECT_THAT(states, IsEmpty());
}

TEST_P(OperationsTest, ServiceStateSkipsNonIntegerFields) {
  RawHSet(StateKey("scene"), "abc", "1-1");
  RawHSet(StateKey("scene"), "1.5", "1-1");
  RawHSet(StateKey("scene"), "3x", "1-1");
  RawHSet(StateKey("scene"), "", "1-1");
  RawHSet(StateKey("scene"), "2", "kept");
  RawHSet(StateKey("scene"), "0", "zero");
  ASSERT_OK_AND_ASSIGN(PodStates states, ex().GetServiceState(ns_, "scene"));
  EXPECT_EQ(states, (PodStates{{0, "zero"}, {2, "kept"}}));
}

TEST_P(OperationsTest, GetServiceStatesReturnsEveryServiceAskedFor) {
  ASSERT_OK(ex().SetServiceState(ns_, "a", 0, "x"));
  ASSERT_OK(ex().SetServiceState(ns_, "b", 1, "y"));
  ASSERT_OK(ex().SetServiceState(ns_, "b", 2, "z"));
  RawHSet(StateKey("b"), "not-a-pod", "skipped");
  ASSERT_OK_AND_ASSIGN(ServicePodStates states, ex().GetServiceStates(ns_, {"b", "missing", "a"}));
  EXPECT_EQ(states,
            (ServicePodStates{{"a", {{0, "x"}}}, {"b", {{1, "y"}, {2, "z"}}}, {"missing", {}}}));
}

TEST_P(OperationsTest, GetServiceStatesOfNoServicesIsEmpty) {
  ASSERT_OK_AND_ASSIGN(ServicePodStates states, ex().GetServiceStates(ns_, {}));
  EXPECT_THAT(states, IsEmpty());
}

TEST_P(OperationsTest, SetServiceStatesWritesEveryServiceAndKeepsOtherPods) {
  ASSERT_OK(ex().SetServiceState(ns_, "a", 9, "old-untouched"));
  ASSERT_OK(ex().SetServiceState(ns_, "a", 5, "old"));
  const ServicePodStates input = {{"a", {{0, "x"}, {5, "y"}}}, {"b", {{1, "z"}}}};
  ASSERT_OK(ex().SetServiceStates(ns_, input));
  ASSERT_OK_AND_ASSIGN(ServicePodStates states, ex().GetServiceStates(ns_, {"a", "b"}));
  EXPECT_EQ(states, (ServicePodStates{{"a", {{0, "x"}, {5, "y"}, {9, "old-untouched"}}},
                                      {"b", {{1, "z"}}}}));
  EXPECT_EQ(raw().HGetAll(StateKey("b")), (std::map<std::string, std::string>{{"1", "z"}}));
}

TEST_P(OperationsTest, SetServiceStatesWithNothingWritesNothing) {
  ASSERT_OK(ex().SetServiceStates(ns_, {}));
  EXPECT_THAT(NamespaceKeys(), IsEmpty());
}

// ---------------------------------------------------------------------------
// Workload state
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, WorkloadStateSetGetOverwrite) {
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> state, ex().GetWorkloadState(ns_, "scene"));
  EXPECT_EQ(state, std::nullopt);
  ASSERT_OK(ex().SetWorkloadState(ns_, "scene", "running"));
  ASSERT_OK_AND_ASSIGN(state, ex().GetWorkloadState(ns_, "scene"));
  EXPECT_THAT(state, Optional(std::string("running")));
  ASSERT_OK(ex().SetWorkloadState(ns_, "scene", "draining"));
  ASSERT_OK_AND_ASSIGN(state, ex().GetWorkloadState(ns_, "scene"));
  EXPECT_THAT(state, Optional(std::string("draining")));
}

TEST_P(OperationsTest, SetWorkloadStateClearsTtl) {
  RawSet(WorkloadKey("scene"), "old", 1000);
  ASSERT_GT(raw().Ttl(WorkloadKey("scene")), 0);
  ASSERT_OK(ex().SetWorkloadState(ns_, "scene", "new"));
  EXPECT_EQ(raw().Ttl(WorkloadKey("scene")), -1);
  EXPECT_EQ(raw().Get(WorkloadKey("scene")), "new");
}

TEST_P(OperationsTest, WorkloadAbsentMarkersReadAsAbsent) {
  RawSet(WorkloadKey("empty"), "");
  RawSet(WorkloadKey("null"), "null");
  RawSet(WorkloadKey("nil"), "nil");
  ASSERT_OK(ex().SetWorkloadState(ns_, "real", "up"));
  for (const std::string svc : {"empty", "null", "nil", "missing"}) {
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> state, ex().GetWorkloadState(ns_, svc));
    EXPECT_EQ(state, std::nullopt) << svc;
  }
  ASSERT_OK_AND_ASSIGN(WorkloadStates states,
                       ex().GetWorkloadStates(ns_, {"empty", "real", "null", "missing", "nil"}));
  EXPECT_EQ(states, (WorkloadStates{{"real", "up"}}));
}

TEST_P(OperationsTest, GetWorkloadStatesReturnsThosePresent) {
  ASSERT_OK(ex().SetWorkloadState(ns_, "a", "sa"));
  ASSERT_OK(ex().SetWorkloadState(ns_, "c", "sc"));
  ASSERT_OK_AND_ASSIGN(WorkloadStates states, ex().GetWorkloadStates(ns_, {"c", "b", "a"}));
  EXPECT_EQ(states, (WorkloadStates{{"a", "sa"}, {"c", "sc"}}));
  ASSERT_OK_AND_ASSIGN(WorkloadStates none, ex().GetWorkloadStates(ns_, {}));
  EXPECT_THAT(none, IsEmpty());
}

// ---------------------------------------------------------------------------
// SetLinkedPod
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, SetLinkedPodNewLinkHasNoPrevious) {
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> previous,
                       ex().SetLinkedPod(ns_, "u1", "scene", 4, kPersistent));
  EXPECT_EQ(previous, std::nullopt);
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(4));
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPodIfPersist(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(4));
  ExpectPersistent("u1", "scene", 4);
}

TEST_P(OperationsTest, SetLinkedPodOverwritesAndReturnsPrevious) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 4, kPersistent));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> previous,
                       ex().SetLinkedPod(ns_, "u1", "scene", 7, kPersistent));
  EXPECT_THAT(previous, Optional(4));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(7));
  ExpectPersistent("u1", "scene", 7);
}

TEST_P(OperationsTest, SetLinkedPodPersistentToTemporary) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 1, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 4, kPersistent));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> previous,
                       ex().SetLinkedPod(ns_, "u1", "scene", 5, Ttl::Seconds(100)));
  EXPECT_THAT(previous, Optional(4));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(5));
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPodIfPersist(ns_, "u1", "scene"));
  EXPECT_EQ(pod, std::nullopt);
  ExpectTemporary("u1", "scene", 100);
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_EQ(links, (ServicePods{{"chat", 1}}));
}

TEST_P(OperationsTest, SetLinkedPodTemporaryToPersistent) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 4, Ttl::Seconds(100)));
  ExpectTemporary("u1", "scene", 100);
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_THAT(links, IsEmpty());

  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> previous,
                       ex().SetLinkedPod(ns_, "u1", "scene", 4, kPersistent));
  EXPECT_THAT(previous, Optional(4));
  ExpectPersistent("u1", "scene", 4);
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPodIfPersist(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(4));
  ASSERT_OK_AND_ASSIGN(links, ex().GetLinkService(ns_, "u1"));
  EXPECT_EQ(links, (ServicePods{{"scene", 4}}));
}

TEST_P(OperationsTest, SetLinkedPodTemporaryTakesTheNewTtl) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 4, Ttl::Seconds(1000)));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> previous,
                       ex().SetLinkedPod(ns_, "u1", "scene", 6, Ttl::Seconds(50)));
  EXPECT_THAT(previous, Optional(4));
  ExpectTemporary("u1", "scene", 50);
  EXPECT_EQ(raw().Get(LinkKey("u1", "scene")), "6");
}

// ---------------------------------------------------------------------------
// TrySetLinkedPod
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, TrySetLinkedPodWithoutLinkApplies) {
  ASSERT_OK_AND_ASSIGN(TrySetResult result,
                       ex().TrySetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 3, .previous = std::nullopt}));
  ExpectPersistent("u1", "scene", 3);

  ASSERT_OK_AND_ASSIGN(result, ex().TrySetLinkedPod(ns_, "u2", "scene", 8, Ttl::Seconds(100)));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 8, .previous = std::nullopt}));
  ExpectTemporary("u2", "scene", 100);
  EXPECT_EQ(raw().Get(LinkKey("u2", "scene")), "8");
}

TEST_P(OperationsTest, TrySetLinkedPodSamePodAppliesAndChangesPersistence) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, kPersistent));

  ASSERT_OK_AND_ASSIGN(TrySetResult result,
                       ex().TrySetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 3, .previous = 3}));
  ExpectPersistent("u1", "scene", 3);

  // Persistent -> temporary with the same pod.
  ASSERT_OK_AND_ASSIGN(result, ex().TrySetLinkedPod(ns_, "u1", "scene", 3, Ttl::Seconds(100)));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 3, .previous = 3}));
  ExpectTemporary("u1", "scene", 100);
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_THAT(links, IsEmpty());

  // Temporary -> persistent with the same pod.
  ASSERT_OK_AND_ASSIGN(result, ex().TrySetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 3, .previous = 3}));
  ExpectPersistent("u1", "scene", 3);
  ASSERT_OK_AND_ASSIGN(links, ex().GetLinkService(ns_, "u1"));
  EXPECT_EQ(links, (ServicePods{{"scene", 3}}));
}

TEST_P(OperationsTest, TrySetLinkedPodDifferentPodVsPersistentIsNotApplied) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, kPersistent));

  ASSERT_OK_AND_ASSIGN(TrySetResult result,
                       ex().TrySetLinkedPod(ns_, "u1", "scene", 5, kPersistent));
  EXPECT_EQ(result, (TrySetResult{.applied = false, .pod = 3, .previous = 3}));
  ASSERT_OK_AND_ASSIGN(result, ex().TrySetLinkedPod(ns_, "u1", "scene", 5, Ttl::Seconds(100)));
  EXPECT_EQ(result, (TrySetResult{.applied = false, .pod = 3, .previous = 3}));

  // Nothing changed: same pod, still persistent, hash unchanged.
  ExpectPersistent("u1", "scene", 3);
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(3));
}

TEST_P(OperationsTest, TrySetLinkedPodDifferentPodVsTemporaryApplies) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, Ttl::Seconds(100)));
  ASSERT_OK_AND_ASSIGN(TrySetResult result,
                       ex().TrySetLinkedPod(ns_, "u1", "scene", 5, kPersistent));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 5, .previous = 3}));
  ExpectPersistent("u1", "scene", 5);

  ASSERT_OK(ex().SetLinkedPod(ns_, "u2", "scene", 3, Ttl::Seconds(100)));
  ASSERT_OK_AND_ASSIGN(result, ex().TrySetLinkedPod(ns_, "u2", "scene", 6, Ttl::Seconds(200)));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 6, .previous = 3}));
  ExpectTemporary("u2", "scene", 200);
  EXPECT_EQ(raw().Get(LinkKey("u2", "scene")), "6");
}

// ---------------------------------------------------------------------------
// SetLinkedPodIfAbsent
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, SetLinkedPodIfAbsentWithoutLinkLinks) {
  ASSERT_OK_AND_ASSIGN(PodIndex pod,
                       ex().SetLinkedPodIfAbsent(ns_, "u1", "scene", 6, Ttl::Seconds(50)));
  EXPECT_EQ(pod, 6);
  ExpectTemporary("u1", "scene", 50);
  EXPECT_EQ(raw().Get(LinkKey("u1", "scene")), "6");

  ASSERT_OK_AND_ASSIGN(pod, ex().SetLinkedPodIfAbsent(ns_, "u2", "scene", 2, kPersistent));
  EXPECT_EQ(pod, 2);
  ExpectPersistent("u2", "scene", 2);
}

TEST_P(OperationsTest, SetLinkedPodIfAbsentKeepsExistingPersistentLink) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 2, kPersistent));
  ASSERT_OK_AND_ASSIGN(PodIndex pod,
                       ex().SetLinkedPodIfAbsent(ns_, "u1", "scene", 6, Ttl::Seconds(100)));
  EXPECT_EQ(pod, 2);
  ExpectPersistent("u1", "scene", 2);
  ASSERT_OK_AND_ASSIGN(pod, ex().SetLinkedPodIfAbsent(ns_, "u1", "scene", 6, kPersistent));
  EXPECT_EQ(pod, 2);
  ExpectPersistent("u1", "scene", 2);
}

TEST_P(OperationsTest, SetLinkedPodIfAbsentDoesNotRefreshTemporaryLink) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 2, Ttl::Seconds(100)));

  ASSERT_OK_AND_ASSIGN(PodIndex pod,
                       ex().SetLinkedPodIfAbsent(ns_, "u1", "scene", 6, Ttl::Seconds(1000)));
  EXPECT_EQ(pod, 2);
  ExpectTemporary("u1", "scene", 100);  // a refresh would give > 100

  // Same pod: still left as it is.
  ASSERT_OK_AND_ASSIGN(pod, ex().SetLinkedPodIfAbsent(ns_, "u1", "scene", 2, Ttl::Seconds(1000)));
  EXPECT_EQ(pod, 2);
  ExpectTemporary("u1", "scene", 100);

  // Persistent asked: the temporary link is not made persistent.
  ASSERT_OK_AND_ASSIGN(pod, ex().SetLinkedPodIfAbsent(ns_, "u1", "scene", 2, kPersistent));
  EXPECT_EQ(pod, 2);
  ExpectTemporary("u1", "scene", 100);
  EXPECT_EQ(raw().Get(LinkKey("u1", "scene")), "2");
}

// ---------------------------------------------------------------------------
// GetLinkedPod / GetLinkedPodIfPersist / GetLinkService
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, GetLinkedPodWithoutLinkIsEmpty) {
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_EQ(pod, std::nullopt);
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPodIfPersist(ns_, "u1", "scene"));
  EXPECT_EQ(pod, std::nullopt);
  // A link to another service of the uid is not this one.
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 1, kPersistent));
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_EQ(pod, std::nullopt);
}

TEST_P(OperationsTest, GetLinkedPodIfPersistIgnoresTemporaryLink) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 4, Ttl::Seconds(100)));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(4));
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPodIfPersist(ns_, "u1", "scene"));
  EXPECT_EQ(pod, std::nullopt);
}

TEST_P(OperationsTest, GetLinkServiceListsPersistentLinksOnly) {
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_THAT(links, IsEmpty());

  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "a", 1, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "b", 2, Ttl::Seconds(100)));
  ASSERT_OK(ex().TrySetLinkedPod(ns_, "u1", "c", 0, kPersistent));
  ASSERT_OK(ex().SetLinkedPodIfAbsent(ns_, "u1", "d", 9, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u2", "a", 7, kPersistent));  // another uid
  ASSERT_OK_AND_ASSIGN(links, ex().GetLinkService(ns_, "u1"));
  EXPECT_EQ(links, (ServicePods{{"a", 1}, {"c", 0}, {"d", 9}}));
}

// ---------------------------------------------------------------------------
// Pod 0 is a real pod
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, PodZeroWorksEverywhere) {
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> previous,
                       ex().SetLinkedPod(ns_, "u1", "scene", 0, kPersistent));
  EXPECT_EQ(previous, std::nullopt);
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(0));
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPodIfPersist(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(0));
  ExpectPersistent("u1", "scene", 0);
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_EQ(links, (ServicePods{{"scene", 0}}));
  ASSERT_OK_AND_ASSIGN(PodUids uids, ex().BatchGetLinkedPod(ns_, {"u1"}, "scene"));
  EXPECT_EQ(uids, (PodUids{{0, {"u1"}}}));

  // A previous link to pod 0 is reported as pod 0, not as "none".
  ASSERT_OK_AND_ASSIGN(previous, ex().SetLinkedPod(ns_, "u1", "scene", 5, kPersistent));
  EXPECT_THAT(previous, Optional(0));
  ASSERT_OK_AND_ASSIGN(previous, ex().SetLinkedPod(ns_, "u1", "scene", 0, kPersistent));
  EXPECT_THAT(previous, Optional(5));

  // Try-set against a persistent link to pod 0.
  ASSERT_OK_AND_ASSIGN(TrySetResult result,
                       ex().TrySetLinkedPod(ns_, "u1", "scene", 5, kPersistent));
  EXPECT_EQ(result, (TrySetResult{.applied = false, .pod = 0, .previous = 0}));
  ASSERT_OK_AND_ASSIGN(result, ex().TrySetLinkedPod(ns_, "u1", "scene", 0, kPersistent));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 0, .previous = 0}));

  // Set-if-absent keeps the link to pod 0.
  ASSERT_OK_AND_ASSIGN(PodIndex linked,
                       ex().SetLinkedPodIfAbsent(ns_, "u1", "scene", 5, kPersistent));
  EXPECT_EQ(linked, 0);

  // Remove-with-id: 5 does not match 0, 0 does.
  ASSERT_OK_AND_ASSIGN(bool removed, ex().RemoveLinkedPodWithId(ns_, "u1", "scene", 0, 5));
  EXPECT_FALSE(removed);
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(0));
  ASSERT_OK_AND_ASSIGN(removed, ex().RemoveLinkedPodWithId(ns_, "u1", "scene", 0, 0));
  EXPECT_TRUE(removed);
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_EQ(pod, std::nullopt);

  // A missing link never matches pod 0.
  ASSERT_OK_AND_ASSIGN(removed, ex().RemoveLinkedPodWithId(ns_, "u1", "scene", 0, 0));
  EXPECT_FALSE(removed);

  // Set-if-absent and try-set onto pod 0 from nothing.
  ASSERT_OK_AND_ASSIGN(linked, ex().SetLinkedPodIfAbsent(ns_, "u2", "scene", 0, kPersistent));
  EXPECT_EQ(linked, 0);
  ExpectPersistent("u2", "scene", 0);
  ASSERT_OK_AND_ASSIGN(result, ex().TrySetLinkedPod(ns_, "u3", "scene", 0, Ttl::Seconds(100)));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 0, .previous = std::nullopt}));

  // Pod states of pod 0, and compute picking pod 0.
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 0, "1-10"));
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 1, "2-10"));
  ASSERT_OK_AND_ASSIGN(PodStates states, ex().GetServiceState(ns_, "scene"));
  EXPECT_EQ(states, (PodStates{{0, "1-10"}, {1, "2-10"}}));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> computed,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u4", "scene", kPersistent, 10));
  EXPECT_THAT(computed, Optional(0));
  ExpectPersistent("u4", "scene", 0);
}

// ---------------------------------------------------------------------------
// BatchGetLinkedPod
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, BatchGetLinkedPodGroupsByPodInInputOrder) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 2, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u2", "scene", 0, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u4", "scene", 2, Ttl::Seconds(100)));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u5", "scene", 0, Ttl::Seconds(100)));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u6", "scene", 9, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u3", "chat", 2, kPersistent));  // other service
  ASSERT_OK_AND_ASSIGN(
      PodUids uids, ex().BatchGetLinkedPod(ns_, {"u4", "u3", "u1", "u5", "nobody", "u2"}, "scene"));
  EXPECT_EQ(uids, (PodUids{{0, {"u5", "u2"}}, {2, {"u4", "u1"}}}));
}

TEST_P(OperationsTest, BatchGetLinkedPodOfNoUidsIsEmpty) {
  ASSERT_OK_AND_ASSIGN(PodUids uids, ex().BatchGetLinkedPod(ns_, {}, "scene"));
  EXPECT_THAT(uids, IsEmpty());
  ASSERT_OK_AND_ASSIGN(uids, ex().BatchGetLinkedPod(ns_, {"a", "b"}, "scene"));
  EXPECT_THAT(uids, IsEmpty());
}

TEST_P(OperationsTest, BatchGetLinkedPodKeepsDuplicatesInInputOrder) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 2, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u2", "scene", 2, kPersistent));
  ASSERT_OK_AND_ASSIGN(PodUids uids,
                       ex().BatchGetLinkedPod(ns_, {"u1", "u2", "u1", "x", "x"}, "scene"));
  EXPECT_EQ(uids, (PodUids{{2, {"u1", "u2", "u1"}}}));
}

// ---------------------------------------------------------------------------
// RemoveLinkedPod
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, RemoveLinkedPodKeepZeroDeletesNow) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 1, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  ASSERT_OK_AND_ASSIGN(bool existed, ex().RemoveLinkedPod(ns_, "u1", "scene", 0));
  EXPECT_TRUE(existed);
  EXPECT_FALSE(raw().Exists(LinkKey("u1", "scene")));
  EXPECT_EQ(raw().HGetAll(LinksHashKey("u1")), (std::map<std::string, std::string>{{"chat", "1"}}));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_EQ(pod, std::nullopt);
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_EQ(links, (ServicePods{{"chat", 1}}));

  // Gone: a second remove finds nothing.
  ASSERT_OK_AND_ASSIGN(existed, ex().RemoveLinkedPod(ns_, "u1", "scene", 0));
  EXPECT_FALSE(existed);
}

TEST_P(OperationsTest, RemoveLinkedPodDefaultKeepDeletesNow) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  ASSERT_OK_AND_ASSIGN(bool existed, ex().RemoveLinkedPod(ns_, "u1", "scene"));
  EXPECT_TRUE(existed);
  EXPECT_THAT(NamespaceKeys(), IsEmpty());
}

TEST_P(OperationsTest, RemoveLinkedPodKeepMinusOneDeletesNow) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u2", "scene", 4, Ttl::Seconds(100)));
  ASSERT_OK_AND_ASSIGN(bool existed, ex().RemoveLinkedPod(ns_, "u1", "scene", -1));
  EXPECT_TRUE(existed);
  ASSERT_OK_AND_ASSIGN(existed, ex().RemoveLinkedPod(ns_, "u2", "scene", -1));
  EXPECT_TRUE(existed);
  // Both string keys gone, and the hash left empty is gone as well.
  EXPECT_THAT(NamespaceKeys(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u2", "scene"));
  EXPECT_EQ(pod, std::nullopt);
}

TEST_P(OperationsTest, RemoveLinkedPodWithoutLinkReturnsFalseAndWritesNothing) {
  for (std::int64_t keep : {0, -1, 100}) {
    ASSERT_OK_AND_ASSIGN(bool existed, ex().RemoveLinkedPod(ns_, "u1", "scene", keep));
    EXPECT_FALSE(existed) << "keep=" << keep;
  }
  EXPECT_THAT(NamespaceKeys(), IsEmpty());
}

TEST_P(OperationsTest, RemoveLinkedPodKeepPositiveLeavesGraceLink) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "chat", 1, kPersistent));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  ASSERT_OK_AND_ASSIGN(bool existed, ex().RemoveLinkedPod(ns_, "u1", "scene", 100));
  EXPECT_TRUE(existed);

  ASSERT_TRUE(raw().Exists(LinkKey("u1", "scene")));
  EXPECT_EQ(raw().Get(LinkKey("u1", "scene")), "3");
  ExpectTemporary("u1", "scene", 100);
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(3));
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPodIfPersist(ns_, "u1", "scene"));
  EXPECT_EQ(pod, std::nullopt);
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_EQ(links, (ServicePods{{"chat", 1}}));

  // A player reconnecting within the grace period returns to the same pod.
  ASSERT_OK_AND_ASSIGN(PodIndex linked,
                       ex().SetLinkedPodIfAbsent(ns_, "u1", "scene", 8, kPersistent));
  EXPECT_EQ(linked, 3);
  // The grace link is temporary: another pod may take the uid.
  ASSERT_OK_AND_ASSIGN(TrySetResult result,
                       ex().TrySetLinkedPod(ns_, "u1", "scene", 8, kPersistent));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 8, .previous = 3}));
}

TEST_P(OperationsTest, RemoveLinkedPodKeepShortensLongerTemporaryLink) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, Ttl::Seconds(1000)));
  ASSERT_OK_AND_ASSIGN(bool existed, ex().RemoveLinkedPod(ns_, "u1", "scene", 10));
  EXPECT_TRUE(existed);
  ExpectTemporary("u1", "scene", 10);
}

TEST_P(OperationsTest, RemoveLinkedPodGraceLinkExpires) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  ASSERT_OK_AND_ASSIGN(bool existed, ex().RemoveLinkedPod(ns_, "u1", "scene", 1));
  EXPECT_TRUE(existed);
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(3));

  // Bounded wait: a 1 s grace period must be over well within 2.5 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  while (pod.has_value() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  }
  EXPECT_EQ(pod, std::nullopt) << "the grace link did not expire";
  EXPECT_FALSE(raw().Exists(LinkKey("u1", "scene")));
}

// ---------------------------------------------------------------------------
// RemoveLinkedPodWithId
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, RemoveLinkedPodWithIdMatching) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  ASSERT_OK_AND_ASSIGN(bool removed, ex().RemoveLinkedPodWithId(ns_, "u1", "scene", 0, 3));
  EXPECT_TRUE(removed);
  EXPECT_THAT(NamespaceKeys(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_EQ(pod, std::nullopt);

  ASSERT_OK(ex().SetLinkedPod(ns_, "u2", "scene", 4, Ttl::Seconds(100)));
  ASSERT_OK_AND_ASSIGN(removed, ex().RemoveLinkedPodWithId(ns_, "u2", "scene", -1, 4));
  EXPECT_TRUE(removed);
  EXPECT_FALSE(raw().Exists(LinkKey("u2", "scene")));
}

TEST_P(OperationsTest, RemoveLinkedPodWithIdNonMatchingLeavesLink) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  ASSERT_OK_AND_ASSIGN(bool removed, ex().RemoveLinkedPodWithId(ns_, "u1", "scene", 0, 4));
  EXPECT_FALSE(removed);
  ASSERT_OK_AND_ASSIGN(removed, ex().RemoveLinkedPodWithId(ns_, "u1", "scene", 100, 30));
  EXPECT_FALSE(removed);
  ExpectPersistent("u1", "scene", 3);

  ASSERT_OK(ex().SetLinkedPod(ns_, "u2", "scene", 3, Ttl::Seconds(100)));
  ASSERT_OK_AND_ASSIGN(removed, ex().RemoveLinkedPodWithId(ns_, "u2", "scene", 5, 4));
  EXPECT_FALSE(removed);
  ExpectTemporary("u2", "scene", 100);
  EXPECT_GT(raw().Ttl(LinkKey("u2", "scene")), 5) << "the TTL must not have been changed";
  EXPECT_EQ(raw().Get(LinkKey("u2", "scene")), "3");
}

TEST_P(OperationsTest, RemoveLinkedPodWithIdMissingNeverMatches) {
  for (PodIndex pod : {0, 3}) {
    for (std::int64_t keep : {0, -1, 100}) {
      ASSERT_OK_AND_ASSIGN(bool removed, ex().RemoveLinkedPodWithId(ns_, "u1", "scene", keep, pod));
      EXPECT_FALSE(removed) << "pod=" << pod << " keep=" << keep;
    }
  }
  EXPECT_THAT(NamespaceKeys(), IsEmpty());
}

TEST_P(OperationsTest, RemoveLinkedPodWithIdKeepPositiveLeavesGraceLink) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  ASSERT_OK_AND_ASSIGN(bool removed, ex().RemoveLinkedPodWithId(ns_, "u1", "scene", 100, 3));
  EXPECT_TRUE(removed);
  ExpectTemporary("u1", "scene", 100);
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, "u1", "scene"));
  EXPECT_THAT(pod, Optional(3));
  ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPodIfPersist(ns_, "u1", "scene"));
  EXPECT_EQ(pod, std::nullopt);
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_THAT(links, IsEmpty());
}

// ---------------------------------------------------------------------------
// ComputeLinkedPodIfAbsent
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, ComputePicksSmallestWeightAmongQualifyingPods) {
  const std::int64_t threshold = 1732590000000;
  // Inserted so that "first seen" or string comparison would pick wrongly.
  RawHSet(StateKey("scene"), "5", "10-1732590000001");  // "10" < "3" as text
  RawHSet(StateKey("scene"), "4", "3-1732590000500");
  RawHSet(StateKey("scene"), "2", "3-1732590000000");  // number == threshold counts
  RawHSet(StateKey("scene"), "1", "5-1732590009999");
  RawHSet(StateKey("scene"), "3", "1-1732589999999");  // below threshold
  RawHSet(StateKey("scene"), "6", "0-1");              // far below threshold
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "scene", kPersistent, threshold));
  EXPECT_THAT(pod, Optional(2));  // weight 3, tie with pod 4 -> lower index
  ExpectPersistent("u1", "scene", 2);
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_EQ(links, (ServicePods{{"scene", 2}}));
}

TEST_P(OperationsTest, ComputeComparesWeightsAsNumbers) {
  RawHSet(StateKey("scene"), "0", "10-5");
  RawHSet(StateKey("scene"), "1", "9-5");
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "scene", kPersistent, 5));
  EXPECT_THAT(pod, Optional(1));
}

TEST_P(OperationsTest, ComputeThresholdIsInclusive) {
  RawHSet(StateKey("scene"), "0", "1-99");
  RawHSet(StateKey("scene"), "1", "2-100");
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "scene", kPersistent, 100));
  EXPECT_THAT(pod, Optional(1));
}

TEST_P(OperationsTest, ComputeSkipsMalformedStates) {
  // Each malformed state has a weight below 50 if misread; threshold 0 lets
  // any misread number qualify. Only pod 20 is well formed.
  const std::vector<std::string> malformed = {"x",   "1-2-3", "-1-5",  "3-",   "",     "-5",
                                              "a-5", "1-b",   "1.5-5", "1-5x", "1--5", "0x1-5"};
  for (size_t i = 0; i < malformed.size(); ++i) {
    RawHSet(StateKey("scene"), std::to_string(i), malformed[i]);
  }
  RawHSet(StateKey("scene"), "20", "50-0");
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "scene", kPersistent, 0));
  EXPECT_THAT(pod, Optional(20));
  ExpectPersistent("u1", "scene", 20);
}

TEST_P(OperationsTest, ComputeWithoutQualifyingPodReturnsEmptyAndWritesNothing) {
  // No states at all.
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "scene", kPersistent, 0));
  EXPECT_EQ(pod, std::nullopt);
  EXPECT_THAT(NamespaceKeys(), IsEmpty());

  // Only states below the threshold or malformed.
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 0, "1-99"));
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 1, "x"));
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 2, "1-2-300"));
  ASSERT_OK_AND_ASSIGN(pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "scene", Ttl::Seconds(60), 100));
  EXPECT_EQ(pod, std::nullopt);
  EXPECT_EQ(NamespaceKeys(), std::vector<std::string>{StateKey("scene")});
}

TEST_P(OperationsTest, ComputeReturnsExistingTemporaryLinkUnchanged) {
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 0, "1-100"));
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 1, "9-100"));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 1, Ttl::Seconds(100)));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "scene", kPersistent, 0));
  EXPECT_THAT(pod, Optional(1));
  ExpectTemporary("u1", "scene", 100);  // not made persistent, TTL not refreshed
  EXPECT_EQ(raw().Get(LinkKey("u1", "scene")), "1");
}

TEST_P(OperationsTest, ComputeReturnsExistingPersistentLinkUnchanged) {
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 0, "1-100"));
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 1, "9-100"));
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 1, kPersistent));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "scene", Ttl::Seconds(50), 0));
  EXPECT_THAT(pod, Optional(1));
  ExpectPersistent("u1", "scene", 1);

  // Even a link to a pod without any state, and even if no pod qualifies.
  ASSERT_OK(ex().SetLinkedPod(ns_, "u2", "scene", 42, kPersistent));
  ASSERT_OK_AND_ASSIGN(pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u2", "scene", kPersistent, 1000000));
  EXPECT_THAT(pod, Optional(42));
}

TEST_P(OperationsTest, ComputeLinksWithTheTtlAsked) {
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 7, "1-100"));
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "scene", Ttl::Seconds(60), 100));
  EXPECT_THAT(pod, Optional(7));
  ExpectTemporary("u1", "scene", 60);
  EXPECT_EQ(raw().Get(LinkKey("u1", "scene")), "7");
  ASSERT_OK_AND_ASSIGN(ServicePods links, ex().GetLinkService(ns_, "u1"));
  EXPECT_THAT(links, IsEmpty());

  ASSERT_OK_AND_ASSIGN(pod, ex().ComputeLinkedPodIfAbsent(ns_, "u2", "scene", kPersistent, 100));
  EXPECT_THAT(pod, Optional(7));
  ExpectPersistent("u2", "scene", 7);
}

// ---------------------------------------------------------------------------
// Values written by other clients: corrupt values and "absent" markers
// ---------------------------------------------------------------------------

TEST_P(OperationsTest, GetLinkedPodOfCorruptValueIsDataLossNamingTheKey) {
  const std::vector<std::string> corrupt = {
      "abc", "007", "-1", "2147483648", "1.5", " 3", "3 ", "+3", "3abc", "99999999999999999999"};
  for (size_t i = 0; i < corrupt.size(); ++i) {
    const std::string svc = "svc" + std::to_string(i);
    RawSet(LinkKey("u1", svc), corrupt[i]);
    auto pod = ex().GetLinkedPod(ns_, "u1", svc);
    EXPECT_STATUS_CODE(pod, DATA_LOSS);
    EXPECT_THAT(std::string(pod.status().message()), HasSubstr(LinkKey("u1", svc)))
        << "value \"" << corrupt[i] << "\"";
    EXPECT_THAT(std::string(pod.status().message()), HasSubstr("GetLinkedPod"));
  }
}

TEST_P(OperationsTest, GetLinkedPodIfPersistOfCorruptValueIsDataLoss) {
  RawSet(LinkKey("u1", "scene"), "abc");
  auto pod = ex().GetLinkedPodIfPersist(ns_, "u1", "scene");
  EXPECT_STATUS_CODE(pod, DATA_LOSS);
  EXPECT_THAT(std::string(pod.status().message()), HasSubstr(LinkKey("u1", "scene")));
  EXPECT_THAT(std::string(pod.status().message()), HasSubstr("GetLinkedPodIfPersist"));
}

TEST_P(OperationsTest, BatchGetLinkedPodSkipsCorruptValuesAndLogsWarning) {
  struct Logged {
    absl::Mutex mu;
    std::vector<std::pair<LogLevel, std::string>> lines;
  };
  auto logged = std::make_shared<Logged>();
  Options options = ExecutorOptions();
  options.log_sink = [logged](LogLevel level, std::string_view message) {
    absl::MutexLock lock(&logged->mu);
    logged->lines.emplace_back(level, std::string(message));
  };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Executor> executor, Executor::Open(options));

  ASSERT_OK(executor->SetLinkedPod(ns_, "u1", "scene", 3, kPersistent));
  RawSet(LinkKey("u2", "scene"), "abc");
  ASSERT_OK(executor->SetLinkedPod(ns_, "u3", "scene", 3, kPersistent));
  RawSet(LinkKey("u4", "scene"), "007");
  ASSERT_OK_AND_ASSIGN(PodUids uids,
                       executor->BatchGetLinkedPod(ns_, {"u1", "u2", "u3", "u4"}, "scene"));
  EXPECT_EQ(uids, (PodUids{{3, {"u1", "u3"}}}));

  absl::MutexLock lock(&logged->mu);
  bool warned_about_key = false;
  for (const auto& [level, line] : logged->lines) {
    if (level == LogLevel::kWarning && line.find(LinkKey("u2", "scene")) != std::string::npos) {
      warned_about_key = true;
    }
  }
  EXPECT_TRUE(warned_about_key) << "expected a warning naming " << LinkKey("u2", "scene")
                                << "; got " << logged->lines.size() << " log line(s)";
}

TEST_P(OperationsTest, AbsentMarkersAtLinkKeyReadAsNoLink) {
  const std::vector<std::string> markers = {"", "null", "nil"};
  std::vector<std::string> uids;
  for (const auto& marker : markers) {
    const std::string uid = "u-" + (marker.empty() ? std::string("empty") : marker);
    uids.push_back(uid);
    RawSet(LinkKey(uid, "scene"), marker);
    ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod, ex().GetLinkedPod(ns_, uid, "scene"));
    EXPECT_EQ(pod, std::nullopt) << "\"" << marker << "\"";
    ASSERT_OK_AND_ASSIGN(pod, ex().GetLinkedPodIfPersist(ns_, uid, "scene"));
    EXPECT_EQ(pod, std::nullopt) << "\"" << marker << "\"";
  }
  ASSERT_OK(ex().SetLinkedPod(ns_, "u-real", "scene", 1, kPersistent));
  uids.push_back("u-real");
  ASSERT_OK_AND_ASSIGN(PodUids batch, ex().BatchGetLinkedPod(ns_, uids, "scene"));
  EXPECT_EQ(batch, (PodUids{{1, {"u-real"}}}));

  // Writers treat them as "no link" too.
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> previous,
                       ex().SetLinkedPod(ns_, "u-empty", "scene", 4, kPersistent));
  EXPECT_EQ(previous, std::nullopt);
  ASSERT_OK_AND_ASSIGN(TrySetResult result,
                       ex().TrySetLinkedPod(ns_, "u-null", "scene", 5, kPersistent));
  EXPECT_EQ(result, (TrySetResult{.applied = true, .pod = 5, .previous = std::nullopt}));
  ASSERT_OK_AND_ASSIGN(PodIndex linked,
                       ex().SetLinkedPodIfAbsent(ns_, "u-nil", "scene", 6, kPersistent));
  EXPECT_EQ(linked, 6);
  ExpectPersistent("u-nil", "scene", 6);
}

TEST_P(OperationsTest, RemoveOfAbsentMarkerReportsNoLink) {
  RawSet(LinkKey("u1", "scene"), "null");
  ASSERT_OK_AND_ASSIGN(bool existed, ex().RemoveLinkedPod(ns_, "u1", "scene", 0));
  EXPECT_FALSE(existed);
  RawSet(LinkKey("u2", "scene"), "");
  ASSERT_OK_AND_ASSIGN(existed, ex().RemoveLinkedPodWithId(ns_, "u2", "scene", 0, 0));
  EXPECT_FALSE(existed);
}

TEST_P(OperationsTest, ComputeTreatsAbsentMarkerAsNoLink) {
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 4, "1-100"));
  RawSet(LinkKey("u1", "scene"), "nil");
  ASSERT_OK_AND_ASSIGN(std::optional<PodIndex> pod,
                       ex().ComputeLinkedPodIfAbsent(ns_, "u1", "scene", kPersistent, 100));
  EXPECT_THAT(pod, Optional(4));
  ExpectPersistent("u1", "scene", 4);
}

TEST_P(OperationsTest, SetLinkedPodsWritesEveryLinkAndReportsEachOutcome) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", "scene", 3, Ttl::Seconds(100)));
  raw().Command({"HSET", LinkKey("u-bad-type", "scene"), "f", "v"});  // not a string
  const std::vector<sfroute::UidPod> links = {{"u0", 0}, {"u1", 7}, {"u-bad-type", 2}, {"u2", 2}};
  ASSERT_OK_AND_ASSIGN(auto results, ex().SetLinkedPods(ns_, "scene", links, kPersistent));
  ASSERT_EQ(results.size(), 4u);
  EXPECT_OK(results[0].status);
  EXPECT_EQ(results[0].previous, std::nullopt);
  EXPECT_OK(results[1].status);
  EXPECT_THAT(results[1].previous, Optional(3));
  EXPECT_STATUS_CODE(results[2].status, DATA_LOSS);
  EXPECT_THAT(std::string(results[2].status.message()), HasSubstr(LinkKey("u-bad-type", "scene")));
  EXPECT_OK(results[3].status);
  ExpectPersistent("u0", "scene", 0);
  ExpectPersistent("u1", "scene", 7);
  ExpectPersistent("u2", "scene", 2);

  ASSERT_OK_AND_ASSIGN(results, ex().SetLinkedPods(ns_, "scene", {{"u0", 5}}, Ttl::Seconds(50)));
  EXPECT_THAT(results.at(0).previous, Optional(0));
  EXPECT_LE(raw().Ttl(LinkKey("u0", "scene")), 50);
  EXPECT_GT(raw().Ttl(LinkKey("u0", "scene")), 0);
  EXPECT_EQ(raw().HGetAll(LinksHashKey("u0")).count("scene"), 0u);
}

TEST_P(OperationsTest, SetLinkedPodsRejectsTheWholeBatchOnOneBadLink) {
  const auto before = NamespaceKeys();
  EXPECT_STATUS_CODE(ex().SetLinkedPods(ns_, "scene", {{"ok", 1}, {"bad}", 2}}, kPersistent),
                     INVALID_ARGUMENT);
  EXPECT_STATUS_CODE(ex().SetLinkedPods(ns_, "scene", {{"ok", 1}, {"ok2", -1}}, kPersistent),
                     INVALID_ARGUMENT);
  EXPECT_STATUS_CODE(ex().SetLinkedPods(ns_, "scene", {{"ok", 1}}, Ttl::Seconds(0)),
                     INVALID_ARGUMENT);
  EXPECT_EQ(NamespaceKeys(), before);
  ASSERT_OK_AND_ASSIGN(auto results, ex().SetLinkedPods(ns_, "scene", {}, kPersistent));
  EXPECT_TRUE(results.empty());
}

INSTANTIATE_TEST_SUITE_P(, OperationsTest, ::testing::ValuesIn(Deployments()),
                         DeploymentParamName());

}  // namespace
