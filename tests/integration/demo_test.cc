// `sfroute demo` against a real redis-server: a small simulated day must
// pass every invariant, and the invariant checker must name exactly the link
// that was broken behind the simulation's back.
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
using ::sfroute::demo::LatencyLog;
using ::sfroute::demo::LinkRecord;
using ::sfroute::demo::PlayerRecord;
using ::sfroute::demo::SimulationResult;
using ::sfroute::testing::SharedRedisUrl;
using ::sfroute::testing::UniqueNamespace;
using ::testing::HasSubstr;

constexpr char kScene[] = "scene";  // the first service: the drained one

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

class DemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.ns = UniqueNamespace();
    config_.players = 300;
    config_.services = 3;
    config_.pods = 4;
    config_.threads = 4;
    config_.seed = 7;
    // The default freshness window: shorter ones could let a pod go stale
    // between two heartbeats on a slow (sanitizer) build.
    config_.grace_s = 1;
    auto executor = Executor::Open(Options{.redis_url = SharedRedisUrl()});
    ASSERT_OK(executor);
    executor_ = std::move(executor).value();
    auto result = sfroute::demo::RunSimulation(*executor_, config_);
    ASSERT_OK(result);
    result_ = std::move(result).value();
    ASSERT_TRUE(result_.drain.happened);
  }

  void TearDown() override {
    if (executor_ != nullptr && !result_.players.empty()) {
      EXPECT_OK(sfroute::demo::RemoveRunLinks(*executor_, result_));
    }
  }

  CheckResult Check() {
    LatencyLog log;
    auto check = sfroute::demo::CheckInvariants(*executor_, result_, log);
    EXPECT_OK(check);
    return check.ok() ? std::move(check).value() : CheckResult{};
  }

  // Expects that exactly the invariants in `broken` are violated, each once
  // and by `uid`, and returns the detail of each violation.
  std::map<std::string, std::string> ExpectOnlyViolations(const CheckResult& check,
                                                          const std::set<std::string>& broken,
                                                          const std::string& uid) {
    std::map<std::string, std::string> details;
    EXPECT_EQ(check.invariants.size(), 8u);
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
  ASSERT_NE(check.Find("links"), nullptr);
  EXPECT_EQ(check.Find("links")->checked, online * config_.services);
  EXPECT_GT(check.Find("reconnects")->checked, 0);
  EXPECT_GT(check.Find("grace-expiry")->checked, 0);
  EXPECT_THAT(check.Find("drain")->note, HasSubstr("placements after it"));

  // Independently of the checker: every online player's persistent links
  // in Redis are what the simulation recorded, and nobody placed after the
  // drain is on the drained pod.
  for (const PlayerRecord& player : result_.players) {
    if (!sfroute::demo::IsOnline(player.fate)) continue;
    for (const LinkRecord& link : player.links) {
      auto pod = executor_->GetLinkedPodIfPersist(ns(), player.uid, result_.services[link.svc]);
      ASSERT_OK(pod);
      EXPECT_EQ(*pod, link.pod) << player.uid;
    }
    const LinkRecord& scene = player.links.front();
    if (scene.threshold > result_.drain.last_state_ms) {
      EXPECT_NE(scene.pod, drained()) << player.uid;
    }
  }
}

TEST_F(DemoTest, ReportsPlayerMovedToTheDrainedPod) {
  const PlayerRecord* player = FindOnline([&](const LinkRecord& link) {
    return link.pod != drained() && link.threshold > result_.drain.last_state_ms;
  });
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
