// The routing drivers (SPEC.md §8): Router and PodReporter, on every
// deployment (memory, standalone Redis, Redis Cluster: see deployment.h).
//
// Most tests judge liveness by a ManualClock and write the pods' reports
// themselves, so freshness and cache expiry are checked to the millisecond;
// the routers' background refresh is set to an hour and each test calls
// Refresh() when it wants the states read. The last tests run the drivers
// on the real clock, with their timers.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "deployment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sfroute/reporter.h"
#include "sfroute/router.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace sfroute {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

constexpr char kSvc[] = "scene";
constexpr milliseconds kStart{1'796'000'000'000};  // 2026-11-29, Unix ms
constexpr milliseconds kFreshness{15000};
constexpr milliseconds kNoBackgroundRefresh = std::chrono::hours(1);

std::string Uid(int i) { return "u" + std::to_string(i); }

class RoutingTest : public testing::DeploymentTest {
 protected:
  void SetUp() override {
    DeploymentTest::SetUp();
    clock_ = std::make_shared<ManualClock>(kStart);
  }

  // Pod `pod` reports `load`, stamped `age` before the clock's now.
  void Report(PodIndex pod, std::int64_t load, milliseconds age = milliseconds(0)) {
    ASSERT_OK(ex().SetServiceState(ns_, kSvc, pod, LoadState(load, clock_->Now() - age)));
  }

  // Judged by clock_, refreshed only when a test calls Refresh().
  RouterOptions RouterDefaults() {
    return RouterOptions{.ns = ns_,
                         .svc = kSvc,
                         .freshness = kFreshness,
                         .state_refresh = kNoBackgroundRefresh,
                         .clock = clock_};
  }

  std::unique_ptr<Router> OpenRouter(RouterOptions options) {
    auto router = Router::Open(ex(), std::move(options));
    EXPECT_OK(router);
    return router.ok() ? *std::move(router) : nullptr;
  }
  std::unique_ptr<Router> OpenRouter() { return OpenRouter(RouterDefaults()); }

  std::optional<std::string> StoredLink(const std::string& uid) {
    return raw().Get(LinkKey(uid, kSvc));
  }

  std::shared_ptr<ManualClock> clock_;
};

// --- Options -----------------------------------------------------------

TEST_P(RoutingTest, BadRouterOptionsAreRefusedNamingTheFieldAndNothingIsWritten) {
  struct Case {
    const char* field;
    void (*spoil)(RouterOptions&);
  };
  const Case cases[] = {
      {"link_ttl", [](RouterOptions& o) { o.link_ttl = Ttl::Persistent(); }},
      {"freshness", [](RouterOptions& o) { o.freshness = milliseconds(0); }},
      {"state_refresh", [](RouterOptions& o) { o.state_refresh = milliseconds(-1); }},
      {"cache_ttl", [](RouterOptions& o) { o.cache_ttl = milliseconds(-1); }},
      {"ns", [](RouterOptions& o) { o.ns = ""; }},
      {"svc", [](RouterOptions& o) { o.svc = "a:b"; }},
  };
  for (const Case& c : cases) {
    RouterOptions options = RouterDefaults();
    c.spoil(options);
    auto router = Router::Open(ex(), options);
    EXPECT_STATUS_CODE(router, INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(router.status().message(), HasSubstr(c.field));
  }
  EXPECT_THAT(NamespaceKeys(), ::testing::IsEmpty());
}

TEST_P(RoutingTest, BadReporterOptionsAreRefusedNamingTheFieldAndNothingIsWritten) {
  auto load = [] { return std::int64_t{1}; };
  const std::pair<const char*, ReporterOptions> cases[] = {
      {"load", {.ns = ns_, .svc = kSvc, .pod = 1}},
      {"pod", {.ns = ns_, .svc = kSvc, .pod = -1, .load = load}},
      {"period", {.ns = ns_, .svc = kSvc, .pod = 1, .period = milliseconds(0), .load = load}},
      {"ns", {.ns = "", .svc = kSvc, .pod = 1, .load = load}},
      {"svc", {.ns = ns_, .svc = "", .pod = 1, .load = load}},
  };
  for (const auto& [field, options] : cases) {
    auto reporter = PodReporter::Start(ex(), options);
    EXPECT_STATUS_CODE(reporter, INVALID_ARGUMENT) << field;
    EXPECT_THAT(reporter.status().message(), HasSubstr(field));
  }
  EXPECT_THAT(NamespaceKeys(), ::testing::IsEmpty());
}

// --- Placement -----------------------------------------------------------

TEST_P(RoutingTest, AnUnlinkedUidIsPlacedOnTheLeastLoadedLivePodWithATemporaryLink) {
  Report(0, 5);
  Report(1, 2);
  Report(2, 0, kFreshness + milliseconds(1));          // least loaded, but not live
  ASSERT_OK(ex().SetServiceState(ns_, kSvc, 3, "x"));  // not a report
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);

  ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route("u1"));
  EXPECT_EQ(route, (RouteResult{.pod = 1, .placed = true}));
  EXPECT_EQ(StoredLink("u1"), "1");
  const long long ttl = raw().Ttl(LinkKey("u1", kSvc));
  EXPECT_GT(ttl, 290);  // link_ttl: 300 s by default
  EXPECT_LE(ttl, 300);
  EXPECT_EQ(router->stats().placed, 1u);
}

TEST_P(RoutingTest, PodZeroIsAPodLikeAnyOther) {
  Report(0, 0);
  Report(1, 0);
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);
  ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route("u1"));
  EXPECT_EQ(route, (RouteResult{.pod = 0, .placed = true}));  // ties go to the lowest pod
  EXPECT_EQ(StoredLink("u1"), "0");
  ASSERT_OK_AND_ASSIGN(route, router->Route("u1"));
  EXPECT_EQ(route, (RouteResult{.pod = 0, .placed = false}));
}

TEST_P(RoutingTest, PlacementsSinceTheLastReportCountUntilTheNextReport) {
  Report(0, 0);
  Report(1, 0);
  Report(2, 0);
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);
  std::map<PodIndex, int> placed;
  for (int i = 0; i < 30; ++i) {
    ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route(Uid(i)));
    ASSERT_TRUE(route.placed);
    ++placed[route.pod];
  }
  EXPECT_EQ(placed, (std::map<PodIndex, int>{{0, 10}, {1, 10}, {2, 10}}));

  // New reports: pod 0's players all left. A report counts what was placed
  // before it, so the router starts again from the loads: the next 10 go
  // to pod 0, then all three are even.
  clock_->Advance(milliseconds(5000));
  Report(0, 0);
  Report(1, 10);
  Report(2, 10);
  ASSERT_OK(router->Refresh());
  placed.clear();
  for (int i = 30; i < 43; ++i) {
    ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route(Uid(i)));
    ++placed[route.pod];
  }
  EXPECT_EQ(placed, (std::map<PodIndex, int>{{0, 11}, {1, 1}, {2, 1}}));
  EXPECT_EQ(router->stats().placement_weight, 1.0) << "the pods gained no more than it placed";
}

// Between two reports a router sees only its own placements; the reports
// tell it how many others place besides it, and its own count for that much.
TEST_P(RoutingTest, APlacementWeighsAsMuchAsTheReportsSayRoutersPlace) {
  Report(0, 0);
  Report(1, 0);
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);
  for (int i = 0; i < 20; ++i) ASSERT_OK(router->Route(Uid(i)));  // 10 each
  // The pods gained 40 each: three more routers place as fast as this one.
  clock_->Advance(milliseconds(5000));
  Report(0, 40);
  Report(1, 40);
  ASSERT_OK(router->Refresh());
  EXPECT_EQ(router->stats().placement_weight, 2.5);  // halfway from 1 to 4
  clock_->Advance(milliseconds(5000));
  Report(0, 40);  // a report with the same load: nobody placed anything
  Report(1, 40);
  ASSERT_OK(router->Refresh());
  EXPECT_EQ(router->stats().placement_weight, 2.5) << "too few placements to learn from";

  // Pod 1 is 10 short: 4 placements there (weighing 2.5 each) fill the gap.
  clock_->Advance(milliseconds(1000));
  Report(1, 30);
  ASSERT_OK(router->Refresh());
  std::map<PodIndex, int> placed;
  for (int i = 100; i < 106; ++i) {
    ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route(Uid(i)));
    ++placed[route.pod];
  }
  EXPECT_EQ(placed, (std::map<PodIndex, int>{{0, 1}, {1, 5}}));
}

TEST_P(RoutingTest, NoLivePodIsUnavailableAndNothingIsWritten) {
  Report(0, 0, kFreshness + milliseconds(1));
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);
  auto route = router->Route("u1");
  EXPECT_STATUS_CODE(route, UNAVAILABLE);
  EXPECT_THAT(route.status().message(), HasSubstr("no live pod"));
  EXPECT_FALSE(raw().Exists(LinkKey("u1", kSvc)));
  EXPECT_EQ(router->stats().errors, 1u);

  // Errors are not cached: once a pod is live the same uid is placed.
  Report(1, 0);
  ASSERT_OK(router->Refresh());
  ASSERT_OK_AND_ASSIGN(RouteResult placed, router->Route("u1"));
  EXPECT_EQ(placed, (RouteResult{.pod = 1, .placed = true}));
}

// --- Linked uids and the cache -------------------------------------------

TEST_P(RoutingTest, ALinkedUidIsReadOnceAndThenAnsweredFromTheCache) {
  Report(0, 0);
  Report(2, 9);
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", kSvc, 2, Ttl::Persistent()));
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);

  ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route("u1"));
  EXPECT_EQ(route, (RouteResult{.pod = 2, .placed = false}));
  EXPECT_EQ(router->stats().linked, 1u);
  EXPECT_EQ(router->stats().redis_calls, 1u);

  // The link changes behind the router's back: the cache still answers,
  // without a Redis call, until the entry goes.
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", kSvc, 0, Ttl::Persistent()));
  ASSERT_OK_AND_ASSIGN(route, router->Route("u1"));
  EXPECT_EQ(route.pod, 2);
  EXPECT_EQ(router->stats().cache_hits, 1u);
  EXPECT_EQ(router->stats().redis_calls, 1u);

  router->Invalidate("u1", 0);  // not the cached pod: kept
  ASSERT_OK_AND_ASSIGN(route, router->Route("u1"));
  EXPECT_EQ(route.pod, 2);
  router->Invalidate("u1", 2);  // the gateway found him elsewhere
  ASSERT_OK_AND_ASSIGN(route, router->Route("u1"));
  EXPECT_EQ(route, (RouteResult{.pod = 0, .placed = false}));
  EXPECT_EQ(router->stats().redis_calls, 2u);
}

TEST_P(RoutingTest, CacheEntriesLiveExactlyCacheTtl) {
  Report(1, 0);
  RouterOptions options = RouterDefaults();
  options.freshness = std::chrono::hours(1);  // the pod stays live throughout
  options.cache_ttl = milliseconds(30000);
  auto router = OpenRouter(options);
  ASSERT_NE(router, nullptr);
  ASSERT_OK(router->Route("u1"));
  const std::uint64_t calls = router->stats().redis_calls;

  clock_->Advance(milliseconds(29999));
  ASSERT_OK(router->Route("u1"));
  EXPECT_EQ(router->stats().redis_calls, calls) << "still cached at 29,999 ms";
  clock_->Advance(milliseconds(1));
  ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route("u1"));
  EXPECT_EQ(route, (RouteResult{.pod = 1, .placed = false}));
  EXPECT_EQ(router->stats().redis_calls, calls + 1) << "read again at 30,000 ms";
}

TEST_P(RoutingTest, NoCacheMeansEveryRouteReads) {
  Report(1, 0);
  RouterOptions options = RouterDefaults();
  options.cache_ttl = milliseconds(0);
  auto router = OpenRouter(options);
  ASSERT_NE(router, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_OK(router->Route("u1"));
  EXPECT_EQ(router->stats().cache_hits, 0u);
  EXPECT_EQ(router->stats().cached, 0u);
  EXPECT_EQ(router->stats().redis_calls, 4u);  // read + place, then two reads
}

TEST_P(RoutingTest, TheCacheHoldsAtMostItsCapacity) {
  Report(1, 0);
  RouterOptions options = RouterDefaults();
  options.cache_capacity = 64;  // one entry per shard
  auto router = OpenRouter(options);
  ASSERT_NE(router, nullptr);
  for (int i = 0; i < 500; ++i) ASSERT_OK(router->Route(Uid(i)));
  EXPECT_LE(router->stats().cached, 64u);
  EXPECT_GT(router->stats().cached, 0u);
}

TEST_P(RoutingTest, ACorruptLinkIsAnErrorThatIsNotCached) {
  Report(1, 0);
  ASSERT_EQ(raw().Command({"SET", LinkKey("u1", kSvc), "not-a-pod"}).str, "OK");
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);
  EXPECT_STATUS_CODE(router->Route("u1"), DATA_LOSS);
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", kSvc, 1, Ttl::Persistent()));
  ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route("u1"));
  EXPECT_EQ(route, (RouteResult{.pod = 1, .placed = false}));
}

// --- Freshness and pods that stop reporting ------------------------------

TEST_P(RoutingTest, APodIsLiveUntilExactlyFreshnessAfterItsLastReport) {
  Report(0, 0);
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);

  clock_->Advance(kFreshness);
  ASSERT_EQ(router->Pods().size(), 1u);
  EXPECT_TRUE(router->Pods()[0].live);
  EXPECT_EQ(router->Pods()[0].age_ms, kFreshness.count());
  ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route("u1"));
  EXPECT_EQ(route, (RouteResult{.pod = 0, .placed = true}));

  clock_->Advance(milliseconds(1));
  EXPECT_FALSE(router->Pods()[0].live);
  EXPECT_STATUS_CODE(router->Route("u2"), UNAVAILABLE);
  // u1's cached route is not answered either: his temporary link is to a
  // pod that is not live, and there is no other to move him to.
  EXPECT_STATUS_CODE(router->Route("u1"), UNAVAILABLE);
}

TEST_P(RoutingTest, CachedRoutesToAPodThatStopsReportingGoAtTheNextRefresh) {
  Report(0, 0);
  Report(1, 1000);  // so that the first 100 all go to pod 0
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route(Uid(i)));
    ASSERT_EQ(route.pod, 0);
  }
  ASSERT_OK(ex().SetLinkedPod(ns_, "on1", kSvc, 1, Ttl::Persistent()));
  ASSERT_OK(router->Route("on1"));
  EXPECT_EQ(router->stats().cached, 101u);

  // Pod 1 goes on reporting, pod 0 does not.
  clock_->Advance(kFreshness + milliseconds(1));
  Report(1, 1000);
  ASSERT_OK(router->Refresh());
  EXPECT_EQ(router->stats().cached, 1u);

  // Its temporary players move on their next route, to the live pod.
  ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route(Uid(7)));
  EXPECT_EQ(route, (RouteResult{.pod = 1, .placed = true}));
  EXPECT_EQ(router->stats().moved, 1u);
  EXPECT_EQ(StoredLink(Uid(7)), "1");
  const long long ttl = raw().Ttl(LinkKey(Uid(7), kSvc));
  EXPECT_GT(ttl, 0);  // still temporary
  EXPECT_LE(ttl, 300);
}

TEST_P(RoutingTest, APersistentLinkToAPodThatIsNotLiveIsUnavailableUntilThePodIsBack) {
  Report(0, 0, kFreshness + milliseconds(1));
  Report(1, 0);
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", kSvc, 0, Ttl::Persistent()));
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);

  auto route = router->Route("u1");
  EXPECT_STATUS_CODE(route, UNAVAILABLE);
  EXPECT_THAT(route.status().message(), HasSubstr("pod 0"));
  EXPECT_EQ(StoredLink("u1"), "0");  // never moved
  EXPECT_EQ(raw().Ttl(LinkKey("u1", kSvc)), -1);

  Report(0, 3);
  ASSERT_OK(router->Refresh());
  ASSERT_OK_AND_ASSIGN(RouteResult back, router->Route("u1"));
  EXPECT_EQ(back, (RouteResult{.pod = 0, .placed = false}));
}

// Each router reads the pod states on its own schedule, so one may not
// know yet a pod that another already places players on. It reads them
// again before it moves anyone: both answer the same pod (the demo's
// "one-pod" check caught two routers disagreeing there).
TEST_P(RoutingTest, ARouterWhoseViewLagsReadsThePodsAgainBeforeItMovesAPlayer) {
  Report(0, 50);
  auto lagging = OpenRouter();  // knows pod 0 only
  ASSERT_NE(lagging, nullptr);
  clock_->Advance(milliseconds(10));
  Report(1, 0);  // a pod just started
  auto current = OpenRouter();
  ASSERT_NE(current, nullptr);
  ASSERT_OK_AND_ASSIGN(RouteResult placed, current->Route("u1"));
  EXPECT_EQ(placed, (RouteResult{.pod = 1, .placed = true}));

  const std::uint64_t refreshes = lagging->stats().refreshes;
  ASSERT_OK_AND_ASSIGN(RouteResult route, lagging->Route("u1"));
  EXPECT_EQ(route, (RouteResult{.pod = 1, .placed = false}));
  EXPECT_EQ(StoredLink("u1"), "1");
  EXPECT_EQ(lagging->stats().moved, 0u);
  EXPECT_EQ(lagging->stats().refreshes, refreshes + 1);

  // A pod that is really gone: the fresh read says so, and the temporary
  // link moves. That read serves the rest of the route (one only).
  clock_->Advance(kFreshness + milliseconds(1));
  Report(0, 50);
  ASSERT_OK_AND_ASSIGN(RouteResult moved, lagging->Route("u1"));
  EXPECT_EQ(moved, (RouteResult{.pod = 0, .placed = true}));
  EXPECT_EQ(lagging->stats().refreshes, refreshes + 2);
}

TEST_P(RoutingTest, APodThatDiesAndComesBackTakesPlayersAgain) {
  Report(0, 0);
  Report(1, 0);
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);

  clock_->Advance(kFreshness + milliseconds(1));  // pod 0 dies
  Report(1, 0);
  ASSERT_OK(router->Refresh());
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route(Uid(i)));
    EXPECT_EQ(route.pod, 1);
  }
  Report(0, 0);  // back, empty: it gets the next ones
  ASSERT_OK(router->Refresh());
  std::map<PodIndex, int> placed;
  for (int i = 10; i < 30; ++i) {
    ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route(Uid(i)));
    ++placed[route.pod];
  }
  EXPECT_EQ(placed, (std::map<PodIndex, int>{{0, 15}, {1, 5}}));
}

TEST_P(RoutingTest, ADrainingPodTakesNoNewPlayerButKeepsRoutingItsOwn) {
  Report(0, 0);
  Report(1, 50);
  ASSERT_OK(ex().SetLinkedPod(ns_, "held", kSvc, 0, Ttl::Persistent()));
  ASSERT_OK(ex().SetLinkedPod(ns_, "grace", kSvc, 0, Ttl::Seconds(60)));
  auto router = OpenRouter();
  ASSERT_NE(router, nullptr);
  ASSERT_OK_AND_ASSIGN(RouteResult route, router->Route("before"));
  EXPECT_EQ(route.pod, 0);

  clock_->Advance(milliseconds(1));
  ASSERT_OK(ex().SetServiceState(ns_, kSvc, 0, DrainState(clock_->Now())));
  ASSERT_OK(router->Refresh());
  ASSERT_EQ(router->Pods().size(), 2u);
  const PodView view = router->Pods()[0];
  EXPECT_TRUE(view.live);
  EXPECT_TRUE(view.draining);
  EXPECT_FALSE(view.load.has_value());
  EXPECT_EQ(view.age_ms, 0);
  EXPECT_EQ(view.state, "drain-" + std::to_string(clock_->Now().count()));
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(route, router->Route(Uid(i)));
    EXPECT_EQ(route, (RouteResult{.pod = 1, .placed = true})) << "pod 0 is draining";
  }
  for (const char* uid : {"held", "grace", "before"}) {
    ASSERT_OK_AND_ASSIGN(route, router->Route(uid));
    EXPECT_EQ(route, (RouteResult{.pod = 0, .placed = false})) << uid;
  }
  // Its drain reports age like any other: once they stop, it is not live.
  clock_->Advance(kFreshness + milliseconds(1));
  Report(1, 50);
  ASSERT_OK(router->Refresh());
  EXPECT_STATUS_CODE(router->Route("held"), UNAVAILABLE);
  // A state of any other form is no report: skipped, never an error.
  ASSERT_OK(ex().SetServiceState(ns_, kSvc, 0, "drain-soon"));
  ASSERT_OK(router->Refresh());
  EXPECT_FALSE(router->Pods().empty());
  EXPECT_EQ(router->Pods().size(), 1u) << "pod 0 has no report now";
}

TEST_P(RoutingTest, DrainReportsDrainStatesAtOnceAndResumeReportsTheLoad) {
  auto reporter = PodReporter::Start(
      ex(), {.ns = ns_, .svc = kSvc, .pod = 2, .period = milliseconds(50), .load = [] {
               return std::int64_t{6};
             }});
  ASSERT_OK(reporter);
  auto state_of_pod_2 = [&]() -> std::string {
    auto states = ex().GetServiceState(ns_, kSvc);
    return states.ok() && states->contains(2) ? states->at(2) : "";
  };
  auto wait_for_prefix = [&](const std::string& prefix) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (state_of_pod_2().rfind(prefix, 0) != 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    return state_of_pod_2();
  };
  EXPECT_EQ(state_of_pod_2().substr(0, 2), "6-");
  (*reporter)->Drain();
  EXPECT_TRUE((*reporter)->draining());
  const std::string drained = wait_for_prefix("drain-");
  ASSERT_EQ(drained.substr(0, 6), "drain-");
  // It goes on reporting (alive), with newer stamps.
  std::this_thread::sleep_for(milliseconds(200));
  const std::string later = state_of_pod_2();
  ASSERT_EQ(later.substr(0, 6), "drain-");
  EXPECT_GT(std::stoll(later.substr(6)), std::stoll(drained.substr(6)));
  ASSERT_OK((*reporter)->ReportNow());
  EXPECT_EQ(state_of_pod_2().substr(0, 6), "drain-");

  (*reporter)->Resume();
  EXPECT_FALSE((*reporter)->draining());
  EXPECT_EQ(wait_for_prefix("6-").substr(0, 2), "6-");
}

// --- MoveTemporaryLinkedPod / MoveLinkedPod ------------------------------

TEST_P(RoutingTest, AMoveOfATemporaryLinkLosesToAPersistentClaim) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "u1", kSvc, 0, Ttl::Persistent()));
  ASSERT_OK_AND_ASSIGN(MoveResult move,
                       ex().MoveTemporaryLinkedPod(ns_, "u1", kSvc, 0, 1, Ttl::Seconds(60)));
  EXPECT_FALSE(move.moved);
  EXPECT_EQ(move.pod, 0);
  EXPECT_TRUE(move.persistent);
  EXPECT_EQ(StoredLink("u1"), "0");

  ASSERT_OK(ex().SetLinkedPod(ns_, "u2", kSvc, 0, Ttl::Seconds(100)));
  ASSERT_OK_AND_ASSIGN(move, ex().MoveTemporaryLinkedPod(ns_, "u2", kSvc, 5, 1, Ttl::Seconds(60)));
  EXPECT_FALSE(move.moved) << "not from the pod it is on";
  EXPECT_EQ(move.pod, 0);
  ASSERT_OK_AND_ASSIGN(move, ex().MoveTemporaryLinkedPod(ns_, "u2", kSvc, 0, 1, Ttl::Seconds(60)));
  EXPECT_TRUE(move.moved);
  EXPECT_EQ(StoredLink("u2"), "1");
  EXPECT_LE(raw().Ttl(LinkKey("u2", kSvc)), 60);
  EXPECT_THAT(raw().HGetAll(LinksHashKey("u2")), ::testing::IsEmpty()) << "temporary";

  EXPECT_STATUS_CODE(ex().MoveTemporaryLinkedPod(ns_, "u2", kSvc, 1, 2, Ttl::Persistent()),
                     INVALID_ARGUMENT);
  ASSERT_OK_AND_ASSIGN(move,
                       ex().MoveTemporaryLinkedPod(ns_, "none", kSvc, 0, 1, Ttl::Seconds(60)));
  EXPECT_FALSE(move.moved);
  EXPECT_FALSE(move.pod.has_value());
  EXPECT_FALSE(raw().Exists(LinkKey("none", kSvc)));
}

TEST_P(RoutingTest, MoveLinkedPodKeepsTheLinkPersistentOrTemporaryAsItWas) {
  ASSERT_OK(ex().SetLinkedPod(ns_, "p", kSvc, 3, Ttl::Persistent()));
  ASSERT_OK(ex().SetLinkedPod(ns_, "t", kSvc, 3, Ttl::Seconds(100)));
  ASSERT_OK_AND_ASSIGN(bool moved, ex().MoveLinkedPod(ns_, "p", kSvc, 3, 4));
  EXPECT_TRUE(moved);
  ASSERT_OK_AND_ASSIGN(moved, ex().MoveLinkedPod(ns_, "t", kSvc, 3, 4));
  EXPECT_TRUE(moved);
  EXPECT_EQ(StoredLink("p"), "4");
  EXPECT_EQ(raw().Ttl(LinkKey("p", kSvc)), -1);
  EXPECT_EQ(raw().HGetAll(LinksHashKey("p")), (std::map<std::string, std::string>{{kSvc, "4"}}));
  EXPECT_EQ(StoredLink("t"), "4");
  const long long ttl = raw().Ttl(LinkKey("t", kSvc));
  EXPECT_GT(ttl, 90);
  EXPECT_LE(ttl, 100);
  ASSERT_OK_AND_ASSIGN(moved, ex().MoveLinkedPod(ns_, "p", kSvc, 3, 5));
  EXPECT_FALSE(moved) << "no longer on pod 3";
  EXPECT_EQ(StoredLink("p"), "4");
}

// --- Routers racing -------------------------------------------------------

TEST_P(RoutingTest, RoutersRacingOnOneUidAgreeOnOnePod) {
  constexpr int kRouters = 4;
  constexpr int kUids = 100;
  for (PodIndex pod = 0; pod < 6; ++pod) Report(pod, 0);
  // Each router on its own executor, as on gateways of their own.
  std::vector<std::unique_ptr<Executor>> executors;
  std::vector<std::unique_ptr<Router>> routers;
  for (int i = 0; i < kRouters; ++i) {
    executors.push_back(testing::OpenOrDie(ExecutorOptions()));
    ASSERT_NE(executors.back(), nullptr);
    auto router = Router::Open(*executors.back(), RouterDefaults());
    ASSERT_OK(router);
    routers.push_back(*std::move(router));
  }
  std::vector<std::vector<absl::StatusOr<RouteResult>>> results(
      kUids, std::vector<absl::StatusOr<RouteResult>>(kRouters));
  std::barrier start(kRouters);
  std::vector<std::thread> threads;
  for (int r = 0; r < kRouters; ++r) {
    threads.emplace_back([&, r] {
      for (int u = 0; u < kUids; ++u) {
        start.arrive_and_wait();
        results[u][r] = routers[r]->Route(Uid(u));
      }
    });
  }
  for (auto& thread : threads) thread.join();

  for (int u = 0; u < kUids; ++u) {
    int placed = 0;
    for (int r = 0; r < kRouters; ++r) {
      ASSERT_OK(results[u][r]) << Uid(u);
      EXPECT_EQ(results[u][r]->pod, results[u][0]->pod) << Uid(u) << " router " << r;
      placed += results[u][r]->placed;
    }
    EXPECT_GE(placed, 1) << Uid(u);
    EXPECT_EQ(StoredLink(Uid(u)), std::to_string(results[u][0]->pod)) << Uid(u);
  }
}

// 4 routers place 20,000 players on 6 pods of equal capacity. The pods
// report their player counts every period; between two reports each router
// only knows its own placements. Every pod ends within ±10% of the mean,
// and no pod gets more than twice its fair share of one period's players.
TEST_P(RoutingTest, FourRoutersBalanceTwentyThousandPlayersOverSixPodsWithoutHerding) {
  constexpr int kRouters = 4;
  constexpr int kPods = 6;
  constexpr int kPlayers = 20000;
  constexpr int kPeriods = 20;  // reports: one per 1,000 players
  constexpr int kPerRouterPerPeriod = kPlayers / kPeriods / kRouters;
  const milliseconds period{5000};

  std::vector<std::unique_ptr<Executor>> executors;
  std::vector<std::unique_ptr<Router>> routers;
  std::vector<std::int64_t> players(kPods, 0);
  for (PodIndex pod = 0; pod < kPods; ++pod) Report(pod, 0);
  for (int i = 0; i < kRouters; ++i) {
    executors.push_back(testing::OpenOrDie(ExecutorOptions()));
    ASSERT_NE(executors.back(), nullptr);
    auto router = Router::Open(*executors.back(), RouterDefaults());
    ASSERT_OK(router);
    routers.push_back(*std::move(router));
  }

  int worst_herd = 0;  // most players one pod got in one period
  for (int p = 0; p < kPeriods; ++p) {
    std::vector<std::vector<int>> got(kRouters, std::vector<int>(kPods, 0));
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int r = 0; r < kRouters; ++r) {
      threads.emplace_back([&, r] {
        for (int i = 0; i < kPerRouterPerPeriod; ++i) {
          auto route = routers[r]->Route("p" + std::to_string(p) + "-r" + std::to_string(r) + "-" +
                                         std::to_string(i));
          if (!route.ok() || !route->placed) {
            ++failures;
            continue;
          }
          ++got[r][route->pod];
        }
      });
    }
    for (auto& thread : threads) thread.join();
    ASSERT_EQ(failures.load(), 0) << "period " << p;
    for (PodIndex pod = 0; pod < kPods; ++pod) {
      int in_period = 0;
      for (int r = 0; r < kRouters; ++r) in_period += got[r][pod];
      players[pod] += in_period;
      worst_herd = std::max(worst_herd, in_period);
    }
    // The pods report what they hold; the routers read it.
    clock_->Advance(period);
    for (PodIndex pod = 0; pod < kPods; ++pod) Report(pod, players[pod]);
    for (auto& router : routers) ASSERT_OK(router->Refresh());
  }

  const double mean = static_cast<double>(kPlayers) / kPods;
  const double fair_share = static_cast<double>(kPlayers) / kPeriods / kPods;
  std::string counts;
  for (PodIndex pod = 0; pod < kPods; ++pod) {
    counts += " " + std::to_string(players[pod]);
    EXPECT_GE(players[pod], mean * 0.9) << "pod " << pod;
    EXPECT_LE(players[pod], mean * 1.1) << "pod " << pod;
  }
  EXPECT_LE(worst_herd, 2 * fair_share);
  std::printf(
      "[ balance  ] players per pod:%s (mean %.0f); most in one period on one pod: %d "
      "(fair share %.0f)\n",
      counts.c_str(), mean, worst_herd, fair_share);
}

// --- On the real clock, with the drivers' timers --------------------------

TEST_P(RoutingTest, ReportersAndRoutersOnTheRealClock) {
  const milliseconds freshness{600}, state_refresh{100}, report_period{100};
  auto start = [&](PodIndex pod) -> std::unique_ptr<PodReporter> {
    auto reporter = PodReporter::Start(
        ex(), {.ns = ns_, .svc = kSvc, .pod = pod, .period = report_period, .load = [] {
                 return std::int64_t{0};
               }});
    EXPECT_OK(reporter);
    return reporter.ok() ? *std::move(reporter) : nullptr;
  };
  std::vector<std::unique_ptr<PodReporter>> reporters;
  for (PodIndex pod : {0, 1}) {
    reporters.push_back(start(pod));
    ASSERT_NE(reporters.back(), nullptr);
  }
  auto router = Router::Open(
      ex(), {.ns = ns_, .svc = kSvc, .freshness = freshness, .state_refresh = state_refresh});
  ASSERT_OK(router);
  ASSERT_EQ((*router)->Pods().size(), 2u);

  // Players land on both pods and log in there.
  std::map<PodIndex, std::vector<std::string>> on;
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK_AND_ASSIGN(RouteResult route, (*router)->Route(Uid(i)));
    ASSERT_TRUE(route.placed);
    on[route.pod].push_back(Uid(i));
  }
  ASSERT_EQ(on.size(), 2u);
  ASSERT_OK_AND_ASSIGN(TrySetResult claim, reporters[0]->Claim(on[0][0]));
  EXPECT_TRUE(claim.applied);
  EXPECT_EQ(raw().Ttl(LinkKey(on[0][0], kSvc)), -1);
  ASSERT_OK_AND_ASSIGN(TrySetResult refused, reporters[1]->Claim(on[0][0]));
  EXPECT_FALSE(refused.applied) << "another pod holds his persistent link";
  EXPECT_EQ(StoredLink(on[0][0]), "0");

  // Pod 0 crashes: its reporter goes (waiting for a report in progress).
  reporters[0].reset();
  ASSERT_OK_AND_ASSIGN(PodStates states, ex().GetServiceState(ns_, kSvc));
  const std::string last = states.at(0);
  const std::int64_t last_report = std::stoll(last.substr(last.find('-') + 1));

  // Route new players until freshness + 2 refreshes have passed: none may
  // land on pod 0 after freshness since its last report; by freshness +
  // state_refresh its cached routes are gone.
  const auto until = std::chrono::steady_clock::now() + freshness + 2 * state_refresh;
  int i = 1000;
  std::int64_t last_on_0 = 0;
  while (std::chrono::steady_clock::now() < until) {
    const std::int64_t at = UnixClock()->Now().count();
    ASSERT_OK_AND_ASSIGN(RouteResult route, (*router)->Route(Uid(i++)));
    if (route.pod == 0) {
      EXPECT_LE(at - last_report, freshness.count()) << "placed on pod 0 after it aged out";
      last_on_0 = at;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ((*router)->Pods()[0].live, false);
  // What remains cached is on pod 1 only: a temporary player of pod 0 is
  // read again and moves; the claimed one gets UNAVAILABLE naming pod 0.
  const std::uint64_t calls = (*router)->stats().redis_calls;
  ASSERT_OK_AND_ASSIGN(RouteResult moved, (*router)->Route(on[0][1]));
  EXPECT_EQ(moved, (RouteResult{.pod = 1, .placed = true}));
  EXPECT_GT((*router)->stats().redis_calls, calls);
  auto held = (*router)->Route(on[0][0]);
  EXPECT_STATUS_CODE(held, UNAVAILABLE);
  EXPECT_THAT(held.status().message(), HasSubstr("pod 0"));
  std::printf(
      "[ reaction ] last placement on pod 0: %lld ms after its last report (freshness "
      "%lld ms)\n",
      static_cast<long long>(last_on_0 == 0 ? -1 : last_on_0 - last_report),
      static_cast<long long>(freshness.count()));

  // Pod 0 is back: the claimed player routes to it again.
  reporters[0] = start(0);
  ASSERT_NE(reporters[0], nullptr);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  absl::StatusOr<RouteResult> back = absl::UnavailableError("not yet");
  while (!back.ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
    back = (*router)->Route(on[0][0]);
  }
  ASSERT_OK(back);
  EXPECT_EQ(back->pod, 0);

  // He leaves: Release keeps a temporary link for 30 s, only from pod 0.
  ASSERT_OK_AND_ASSIGN(bool released, reporters[1]->Release(on[0][0], 30));
  EXPECT_FALSE(released) << "pod 1 does not hold him";
  ASSERT_OK_AND_ASSIGN(released, reporters[0]->Release(on[0][0], 30));
  EXPECT_TRUE(released);
  const long long ttl = raw().Ttl(LinkKey(on[0][0], kSvc));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 30);

  const std::string metrics = ex().MetricsText();
  EXPECT_THAT(metrics, HasSubstr("sfroute_router_routes_total{svc=\"scene\",result=\"placed\"}"));
  EXPECT_THAT(metrics, HasSubstr("sfroute_reporter_reports_total{svc=\"scene\",code=\"OK\"}"));
}

TEST_P(RoutingTest, AReporterReportsAtStartEveryPeriodAndNothingAfterItIsGone) {
  std::atomic<std::int64_t> load{7};
  const std::int64_t before = UnixClock()->Now().count();
  auto reporter = PodReporter::Start(
      ex(), {.ns = ns_, .svc = kSvc, .pod = 4, .period = milliseconds(50), .load = [&] {
               return load.load();
             }});
  ASSERT_OK(reporter);
  // The first report is written before Start returns.
  ASSERT_OK_AND_ASSIGN(PodStates states, ex().GetServiceState(ns_, kSvc));
  ASSERT_TRUE(states.contains(4));
  ASSERT_EQ(states[4].substr(0, 2), "7-");
  const std::int64_t first = std::stoll(states[4].substr(2));
  EXPECT_GE(first, before);
  EXPECT_LE(first, UnixClock()->Now().count());

  load = 9;
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_OK_AND_ASSIGN(states, ex().GetServiceState(ns_, kSvc));
  EXPECT_EQ(states[4].substr(0, 2), "9-");
  EXPECT_GT(std::stoll(states[4].substr(2)), first);

  load = -1;  // skips its reports
  ASSERT_OK((*reporter)->ReportNow());
  ASSERT_OK_AND_ASSIGN(PodStates skipped, ex().GetServiceState(ns_, kSvc));
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_OK_AND_ASSIGN(PodStates later, ex().GetServiceState(ns_, kSvc));
  EXPECT_EQ(later[4], skipped[4]);

  load = 3;
  reporter->reset();
  ASSERT_OK_AND_ASSIGN(PodStates at_end, ex().GetServiceState(ns_, kSvc));
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_OK_AND_ASSIGN(PodStates after, ex().GetServiceState(ns_, kSvc));
  EXPECT_EQ(after[4], at_end[4]) << "written after the reporter was destroyed";
}

INSTANTIATE_TEST_SUITE_P(, RoutingTest, ::testing::ValuesIn(testing::Deployments()),
                         testing::DeploymentParamName());

// A reporter whose Redis is away starts anyway, counts and logs its failed
// reports (one line for the run of failures), and never holds up its pod.
TEST(ReporterWithoutRedisTest, StartsCountsAndLogsFailedReports) {
  std::vector<std::string> warnings;
  std::mutex mutex;
  Options options;
  options.redis_url = "redis://127.0.0.1:1";  // nothing listens on port 1
  options.connect_timeout = milliseconds(200);
  options.log_sink = [&](LogLevel level, std::string_view message) {
    std::lock_guard<std::mutex> lock(mutex);
    if (level == LogLevel::kWarning && message.find("PodReporter") != std::string_view::npos) {
      warnings.emplace_back(message);
    }
  };
  auto executor = Executor::Open(options);
  ASSERT_OK(executor);
  auto reporter = PodReporter::Start(
      **executor,
      {.ns = "n", .svc = "scene", .pod = 1, .period = milliseconds(20), .load = [] { return 1; }});
  ASSERT_OK(reporter);
  EXPECT_STATUS_CODE((*reporter)->ReportNow(), UNAVAILABLE);
  std::this_thread::sleep_for(milliseconds(200));
  const std::string metrics = (*executor)->MetricsText();
  reporter->reset();
  EXPECT_THAT(metrics,
              HasSubstr("sfroute_reporter_reports_total{svc=\"scene\",code=\"UNAVAILABLE\"}"));
  EXPECT_THAT(metrics, HasSubstr("sfroute_reporter_reports_total{svc=\"scene\",code=\"OK\"} 0"));
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(warnings.size(), 1u) << "one line for a run of failures of one kind";
}

}  // namespace
}  // namespace sfroute
