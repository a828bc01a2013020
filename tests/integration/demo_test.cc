// `sfroute demo` against a real redis-server (and the in-process backend): a
// small simulated day on the routing drivers must pass every invariant, its
// mid-day events (scale-in, drain, crash) must really happen, and the
// invariant checker must name exactly the link or the record that was broken
// behind the simulation's back.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "demo/checker.h"
#include "demo/cleanup.h"
#include "demo/records.h"
#include "demo/simulation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "redis_server.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace {

using ::sfroute::Executor;
using ::sfroute::Options;
using ::sfroute::PodIndex;
using ::sfroute::Ttl;
using ::sfroute::demo::CheckResult;
using ::sfroute::demo::DemoConfig;
using ::sfroute::demo::Fate;
using ::sfroute::demo::InvariantResult;
using ::sfroute::demo::LinkRecord;
using ::sfroute::demo::PlayerRecord;
using ::sfroute::demo::RouteRecord;
using ::sfroute::demo::SimulationResult;
using ::sfroute::testing::SharedRedisUrl;
using ::sfroute::testing::UniqueNamespace;
using ::testing::HasSubstr;

constexpr char kScene[] = "scene";  // the first service: the one of the events
constexpr std::size_t kInvariants = 12;

// Every violation of every invariant, one per line, for failure messages.
std::string Describe(const CheckResult& check) {
  std::string text;
  for (const InvariantResult& invariant : check.invariants) {
    for (const auto& violation : invariant.violations) {
      text += invariant.name + ": " + violation.uid + " " + violation.detail + "\n";
    }
  }
  return text.empty() ? "no violations" : text;
}

DemoConfig SmallDay() {
  DemoConfig config;
  config.ns = UniqueNamespace();
  config.players = 300;
  config.services = 3;
  config.pods = 4;
  config.threads = 4;
  config.routers = 3;
  config.seed = 7;
  // The default freshness window: shorter ones could let a pod go stale
  // between two reports on a slow (sanitizer) build.
  config.grace_s = 1;
  return config;
}

class DemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = SmallDay();
    auto executor = Executor::Open(Options{.redis_url = SharedRedisUrl()});
    ASSERT_OK(executor);
    executor_ = std::move(executor).value();
    auto result = sfroute::demo::RunSimulation(*executor_, config_);
    ASSERT_OK(result);
    result_ = std::move(result).value();
    ASSERT_TRUE(result_.drain.happened);
    ASSERT_TRUE(result_.crash.happened);
    ASSERT_TRUE(result_.scale_in.happened);
  }

  void TearDown() override {
    if (executor_ != nullptr && !result_.players.empty()) {
      EXPECT_OK(sfroute::demo::RemoveRunLinks(*executor_, result_));
    }
  }

  CheckResult Check() {
    auto check = sfroute::demo::CheckInvariants(*executor_, result_);
    EXPECT_OK(check);
    return check.ok() ? std::move(check).value() : CheckResult{};
  }

  // Expects that exactly the invariants in `broken` are violated, each once
  // and by `uid`, and returns the detail of each violation.
  std::map<std::string, std::string> ExpectOnlyViolations(const CheckResult& check,
                                                          const std::set<std::string>& broken,
                                                          const std::string& uid) {
    std::map<std::string, std::string> details;
    EXPECT_EQ(check.invariants.size(), kInvariants);
    for (const InvariantResult& invariant : check.invariants) {
      if (!broken.contains(invariant.name)) {
        EXPECT_TRUE(invariant.ok()) << invariant.name << "\n" << Describe(check);
        continue;
      }
      EXPECT_EQ(invariant.violations.size(), 1u) << invariant.name << "\n" << Describe(check);
      if (invariant.violations.empty()) continue;
      EXPECT_EQ(invariant.violations[0].uid, uid) << invariant.name;
      details[invariant.name] = invariant.violations[0].detail;
    }
    return details;
  }

  // The first online player whose scene link satisfies `pick`.
  const PlayerRecord* FindOnline(const std::function<bool(const LinkRecord&)>& pick) const {
    for (const PlayerRecord& player : result_.players) {
      if (player.fate != Fate::kOnline) continue;
      if (pick(player.links.front())) return &player;
    }
    return nullptr;
  }

  const std::string& ns() const { return config_.ns; }
  PodIndex drained() const { return result_.drain.pod; }
  // When the drained pod's last report was out of the freshness window.
  std::int64_t drain_aged_out_ms() const { return result_.drain.last_report_ms + config_.fresh_ms; }

  DemoConfig config_;
  std::unique_ptr<Executor> executor_;
  SimulationResult result_;
};

TEST_F(DemoTest, SmallRunHoldsEveryInvariant) {
  CheckResult check = Check();
  EXPECT_TRUE(check.ok()) << Describe(check);

  // The day really had every kind of event, so each invariant saw cases.
  int online = 0;
  int reconnected = 0;
  int gone = 0;
  for (const PlayerRecord& player : result_.players) {
    online += sfroute::demo::IsOnline(player.fate) ? 1 : 0;
    reconnected += player.fate == Fate::kReconnected ? 1 : 0;
    gone += player.fate == Fate::kGone ? 1 : 0;
  }
  EXPECT_GT(reconnected, 0);
  EXPECT_GT(gone, 0);
  ASSERT_EQ(check.invariants.size(), kInvariants);
  EXPECT_EQ(check.Find("links")->checked, online * config_.services);
  EXPECT_GT(check.Find("reconnects")->checked, 0);
  EXPECT_GT(check.Find("grace-expiry")->checked, 0);
  EXPECT_THAT(check.Find("drain")->note, HasSubstr("routed after its last load report aged out"));
  // Every 8th player was routed by two routers at once (again when his
  // login was tried again).
  EXPECT_GE(check.Find("one-pod")->checked, (config_.players + 7) / 8);
  EXPECT_EQ(check.Find("routes-live")->checked, static_cast<std::int64_t>(result_.routes.size()));

  // Independently of the checker: every online player's persistent links
  // in Redis are what the simulation recorded, and nobody routed after the
  // drained pod aged out is on it.
  for (const PlayerRecord& player : result_.players) {
    if (!sfroute::demo::IsOnline(player.fate)) continue;
    for (const LinkRecord& link : player.links) {
      auto pod = executor_->GetLinkedPodIfPersist(ns(), player.uid, result_.services[link.svc]);
      ASSERT_OK(pod);
      EXPECT_EQ(*pod, link.pod) << player.uid;
    }
    const LinkRecord& scene = player.links.front();
    if (scene.routed_ms > drain_aged_out_ms()) {
      EXPECT_NE(scene.pod, drained()) << player.uid;
    }
  }

  // The routers' own figures: the requests came from their caches, and the
  // crash made them refuse (the probes) and move (logins sent to the
  // crashed pod before it looked dead).
  const sfroute::Router::Stats& stats = result_.routers.stats;
  EXPECT_EQ(result_.routers.routers, config_.routers * config_.services);
  EXPECT_GT(stats.cache_hits, stats.linked + stats.placed);
  EXPECT_GE(stats.placed, static_cast<std::uint64_t>(online));
  EXPECT_GE(stats.errors, result_.crash.probes.size());
  // The library's metrics saw the routers' calls: in the demo only routes
  // read and write links this way.
  std::map<std::string, std::uint64_t> calls;
  for (const auto& op : result_.library.operations) calls[op.name] = op.calls;
  EXPECT_EQ(calls["GetLinkedPod"] + calls["SetLinkedPodIfAbsent"] + calls["MoveTemporaryLinkedPod"],
            stats.redis_calls);
  EXPECT_GE(calls["SetLinkedPodIfAbsent"], stats.placed);
  EXPECT_GE(calls["MoveTemporaryLinkedPod"], stats.moved);
}

// The crash: the crashed pod's persistent players were refused while it
// was down and routed to it once it was back; logins the routers sent to
// it before it looked dead were tried again and moved to a live pod.
TEST_F(DemoTest, CrashedPodRefusesItsPlayersThenTakesThemBack) {
  const auto& crash = result_.crash;
  ASSERT_GT(crash.players, 0);
  ASSERT_FALSE(crash.probes.empty());
  for (const auto& probe : crash.probes) {
    const std::string& uid = result_.players[probe.player].uid;
    EXPECT_TRUE(probe.during_unavailable) << uid << " " << probe.during_error;
    EXPECT_THAT(probe.during_error, HasSubstr("pod " + std::to_string(crash.pod))) << uid;
    EXPECT_EQ(probe.after_pod, crash.pod) << uid << " " << probe.after_error;
  }
  // Players whose login was sent to the crashed pod and tried again ended
  // elsewhere or on it after it came back, and the routers moved links.
  int retried = 0;
  for (const PlayerRecord& player : result_.players) {
    if (player.login_retries == 0) continue;
    ++retried;
    EXPECT_NE(player.fate, Fate::kFailed) << player.failure;
  }
  EXPECT_GT(retried, 0);
  EXPECT_GT(result_.routers.stats.moved, 0u);
  // Nobody was routed to it between its aging out and its return.
  const auto& silence = result_.pods[0][crash.pod].silences.back();
  EXPECT_EQ(silence.last_report_ms, crash.last_report_ms);
  for (const RouteRecord& route : result_.routes) {
    if (route.svc != 0 || route.pod != crash.pod) continue;
    const bool while_dead = route.start_ms > crash.last_report_ms + config_.fresh_ms &&
                            route.end_ms < silence.resumed_ms;
    EXPECT_FALSE(while_dead) << result_.players[route.player].uid;
  }
}

// The scale-in: the new pod took new players, and the players per pod read
// back show it among the others.
TEST_F(DemoTest, ScaledInPodTakesNewPlayers) {
  const auto& scale_in = result_.scale_in;
  EXPECT_EQ(scale_in.pod, config_.pods);
  auto linked = executor_->BatchGetLinkedPod(
      ns(),
      [&] {
        std::vector<std::string> uids;
        for (const PlayerRecord& player : result_.players) uids.push_back(player.uid);
        return uids;
      }(),
      kScene);
  ASSERT_OK(linked);
  ASSERT_TRUE(linked->contains(scale_in.pod));
  EXPECT_GT(linked->at(scale_in.pod).size(), 0u);
  for (const RouteRecord& route : result_.routes) {
    if (route.svc == 0 && route.pod == scale_in.pod) {
      EXPECT_GE(route.end_ms, scale_in.started_ms) << result_.players[route.player].uid;
    }
  }
  CheckResult check = Check();
  ASSERT_NE(check.Find("scale-in"), nullptr);
  EXPECT_TRUE(check.Find("scale-in")->ok()) << Describe(check);
  EXPECT_GT(check.Find("scale-in")->checked, 0);
}

// A record of a route that answered the crashed pod while it was dead is
// flagged by routes-live, and only that.
TEST_F(DemoTest, ReportsRouteToAPodThatWasNotLive) {
  CheckResult check = Check();
  ASSERT_TRUE(check.ok()) << Describe(check);
  const auto& crash = result_.crash;
  const std::int64_t resumed_ms = result_.pods[0][crash.pod].silences.back().resumed_ms;
  const std::int64_t dead_ms = crash.last_report_ms + config_.fresh_ms + 1;
  ASSERT_LT(dead_ms, resumed_ms);
  RouteRecord* victim = nullptr;
  for (RouteRecord& route : result_.routes) {
    if (route.svc == 0 && route.pod != crash.pod) victim = &route;
  }
  ASSERT_NE(victim, nullptr);
  const std::string uid = result_.players[victim->player].uid;
  victim->pod = crash.pod;
  victim->start_ms = dead_ms;
  victim->end_ms = dead_ms;
  EXPECT_FALSE(sfroute::demo::MayBeLive(result_, 0, crash.pod, dead_ms, dead_ms));
  // One millisecond earlier its last report was still fresh.
  EXPECT_TRUE(sfroute::demo::MayBeLive(result_, 0, crash.pod, dead_ms - 1, dead_ms - 1));

  auto details = ExpectOnlyViolations(
      {.invariants = sfroute::demo::EvaluateInvariants(result_, check.readback)}, {"routes-live"},
      uid);
  EXPECT_THAT(details["routes-live"],
              HasSubstr("answered pod " + std::to_string(crash.pod) + ", not live then"));
}

// Two routers that disagreed on a uid, and a probe that was not refused,
// are flagged.
TEST_F(DemoTest, ReportsRoutersThatDisagreeAndAProbeNotRefused) {
  CheckResult check = Check();
  ASSERT_TRUE(check.ok()) << Describe(check);
  ASSERT_FALSE(result_.twins.empty());
  auto& twin = result_.twins.front();
  twin.pods[1] = *twin.pods[0] + 1;
  ASSERT_FALSE(result_.crash.probes.empty());
  auto& probe = result_.crash.probes.front();
  probe.during_unavailable = false;
  probe.during_pod = result_.crash.pod;

  CheckResult broken{.invariants = sfroute::demo::EvaluateInvariants(result_, check.readback)};
  for (const InvariantResult& invariant : broken.invariants) {
    const bool expected = invariant.name == "one-pod" || invariant.name == "crash";
    EXPECT_EQ(invariant.ok(), !expected) << invariant.name << "\n" << Describe(broken);
  }
  ASSERT_EQ(broken.Find("one-pod")->violations.size(), 1u);
  EXPECT_EQ(broken.Find("one-pod")->violations[0].uid, result_.players[twin.player].uid);
  ASSERT_EQ(broken.Find("crash")->violations.size(), 1u);
  EXPECT_EQ(broken.Find("crash")->violations[0].uid, result_.players[probe.player].uid);
  EXPECT_THAT(broken.Find("crash")->violations[0].detail, HasSubstr("not UNAVAILABLE"));
}

// Two pods for one uid are not flagged when one of them stopped being live
// while the two routed (its report aged past freshness: one router placed
// him just before, the other moved him just after) — and only then.
TEST_F(DemoTest, TwoPodsAreNotFlaggedOnlyWhenOneStoppedBeingLiveMeanwhile) {
  CheckResult check = Check();
  ASSERT_TRUE(check.ok()) << Describe(check);
  ASSERT_FALSE(result_.twins.empty());
  const auto& crash = result_.crash;
  ASSERT_TRUE(crash.happened);
  auto& twin = result_.twins.front();
  twin.pods[0] = crash.pod;
  twin.pods[1] = (crash.pod + 1) % config_.pods;
  const std::int64_t stale_ms = crash.last_report_ms + config_.fresh_ms;
  twin.start_ms = stale_ms - 5;
  twin.end_ms = stale_ms + 5;
  CheckResult excused{.invariants = sfroute::demo::EvaluateInvariants(result_, check.readback)};
  EXPECT_TRUE(excused.Find("one-pod")->ok()) << Describe(excused);
  EXPECT_THAT(excused.Find("one-pod")->note, HasSubstr("1 got two pods"));

  twin.end_ms = stale_ms - 1;  // both routes ended while it was live
  CheckResult flagged{.invariants = sfroute::demo::EvaluateInvariants(result_, check.readback)};
  ASSERT_EQ(flagged.Find("one-pod")->violations.size(), 1u) << Describe(flagged);
  EXPECT_EQ(flagged.Find("one-pod")->violations[0].uid, result_.players[twin.player].uid);
}

TEST_F(DemoTest, ReportsPlayerMovedToTheDrainedPod) {
  // Any player the simulation has elsewhere (whenever he was routed: a
  // loaded machine may route nobody after the drained pod aged out).
  const PlayerRecord* player =
      FindOnline([&](const LinkRecord& link) { return link.pod != drained(); });
  ASSERT_NE(player, nullptr);
  ASSERT_OK(executor_->SetLinkedPod(ns(), player->uid, kScene, drained(), Ttl::Persistent()));

  CheckResult check = Check();
  auto details = ExpectOnlyViolations(check, {"links", "persistent", "drain"}, player->uid);
  const std::string recorded = std::to_string(*player->links.front().pod);
  EXPECT_EQ(details["links"], std::string(kScene) + ": Redis has pod " + std::to_string(drained()) +
                                  ", the simulation recorded pod " + recorded);
  EXPECT_THAT(details["drain"], HasSubstr("on the drained pod"));
  EXPECT_FALSE(check.ok());
}

TEST_F(DemoTest, ReportsPlayerMovedToAnotherPod) {
  const PlayerRecord* player =
      FindOnline([&](const LinkRecord& link) { return link.pod != drained(); });
  ASSERT_NE(player, nullptr);
  const PodIndex recorded = *player->links.front().pod;
  PodIndex other = 0;
  while (other == recorded || other == drained()) ++other;
  ASSERT_OK(executor_->SetLinkedPod(ns(), player->uid, kScene, other, Ttl::Persistent()));

  CheckResult check = Check();
  auto details = ExpectOnlyViolations(check, {"links", "persistent"}, player->uid);
  EXPECT_EQ(details["links"], std::string(kScene) + ": Redis has pod " + std::to_string(other) +
                                  ", the simulation recorded pod " + std::to_string(recorded));
}

TEST_F(DemoTest, ReportsPlayerRemovedFromRedis) {
  const PlayerRecord* player = FindOnline([](const LinkRecord&) { return true; });
  ASSERT_NE(player, nullptr);
  auto removed = executor_->RemoveLinkedPod(ns(), player->uid, kScene, 0);
  ASSERT_OK(removed);
  ASSERT_TRUE(*removed);

  CheckResult check = Check();
  auto details = ExpectOnlyViolations(check, {"links", "persistent"}, player->uid);
  EXPECT_EQ(details["links"], std::string(kScene) +
                                  ": Redis has no link, the simulation "
                                  "recorded pod " +
                                  std::to_string(*player->links.front().pod));
  EXPECT_THAT(details["persistent"], HasSubstr("GetLinkService says"));
}

TEST_F(DemoTest, ReportsGraceLinkThatDidNotExpire) {
  const PlayerRecord* gone = nullptr;
  for (const PlayerRecord& player : result_.players) {
    if (player.fate == Fate::kGone) gone = &player;
  }
  ASSERT_NE(gone, nullptr);
  // A temporary link to his old pod, as a grace period that never ended
  // would leave.
  const PodIndex old_pod = *gone->links.front().pod_before_disconnect;
  ASSERT_OK(executor_->SetLinkedPod(ns(), gone->uid, kScene, old_pod, Ttl::Seconds(60)));

  CheckResult check = Check();
  auto details = ExpectOnlyViolations(check, {"grace-expiry"}, gone->uid);
  EXPECT_EQ(details["grace-expiry"], std::string(kScene) + ": still linked to pod " +
                                         std::to_string(old_pod) + " after the grace period");
}

}  // namespace

// The same day on the in-process backend (memory://), the demo's default.
TEST(DemoMemoryTest, DayOnTheInProcessBackendHoldsEveryInvariant) {
  auto executor = Executor::Open(Options{.redis_url = "memory://"});
  ASSERT_OK(executor);
  auto result = sfroute::demo::RunSimulation(**executor, SmallDay());
  ASSERT_OK(result);
  EXPECT_TRUE(result->scale_in.happened);
  EXPECT_TRUE(result->drain.happened);
  EXPECT_TRUE(result->crash.happened);
  auto check = sfroute::demo::CheckInvariants(**executor, *result);
  ASSERT_OK(check);
  EXPECT_TRUE(check->ok()) << Describe(*check);
  EXPECT_EQ(check->invariants.size(), kInvariants);
  EXPECT_GT(result->routers.stats.cache_hits, 0u);
  EXPECT_GT(result->library.calls, 0u);
}
