// ScanLinks and evacuating a pod with MoveLinkedPod (SPEC.md §11), on every
// deployment: memory, standalone Redis and the cluster (SCAN on every
// primary).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "deployment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "redis_server.h"
#include "sfroute/reporter.h"
#include "sfroute/router.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace sfroute::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kSvc[] = "scene";
constexpr int kLinks = 10000;
// The evacuation test's links, as many as issue 14 asks.
constexpr int kEvacuationLinks = 100000;
constexpr int kPods = 6;

// uid i: on pod i % 6; even ones persistent, odd ones temporary for
// 1000 + i % 100 seconds.
std::string Uid(int i) { return "u" + std::to_string(i); }
Ttl TtlOf(int i) { return i % 2 == 0 ? Ttl::Persistent() : Ttl::Seconds(1000 + i % 100); }

class ScanTest : public DeploymentTest {
 protected:
  // `count` links of kSvc, uids 0 to count - 1, written in pipelines of up
  // to 5000 per TTL (bigger ones may pass the command timeout on a busy
  // machine).
  void WriteLinks(int count = kLinks) {
    std::map<std::int64_t, std::vector<UidPod>> by_ttl;
    for (int i = 0; i < count; ++i) by_ttl[TtlOf(i).seconds()].push_back({Uid(i), i % kPods});
    for (const auto& [seconds, links] : by_ttl) {
      const Ttl ttl = seconds == -1 ? Ttl::Persistent() : Ttl::Seconds(seconds);
      for (std::size_t from = 0; from < links.size(); from += 5000) {
        const std::vector<UidPod> chunk(links.begin() + from,
                                        links.begin() + std::min(links.size(), from + 5000));
        ASSERT_OK_AND_ASSIGN(auto writes, ex().SetLinkedPods(ns_, kSvc, chunk, ttl));
        for (const auto& write : writes) ASSERT_OK(write.status);
      }
    }
  }

  // Every link ScanLinks hands out, checking the batch sizes.
  std::vector<LinkInfo> ScanAll(std::optional<PodIndex> pod, std::size_t batch,
                                Executor* executor = nullptr) {
    std::vector<LinkInfo> links;
    EXPECT_OK((executor ? *executor : ex())
                  .ScanLinks(ns_, kSvc, pod, batch, [&](const std::vector<LinkInfo>& got) {
                    EXPECT_GE(got.size(), 1u);
                    EXPECT_LE(got.size(), batch);
                    links.insert(links.end(), got.begin(), got.end());
                    return true;
                  }));
    return links;
  }

  static std::uint64_t Counter(const MetricsSnapshot& metrics, const std::string& name) {
    for (const auto& row : metrics.labeled) {
      if (row.name == name) return row.value;
    }
    return 0;
  }
};

TEST_P(ScanTest, FindsEveryLinkOnceWithItsPodAndRemainingTtl) {
  WriteLinks();
  // Links that must not appear: another service, another namespace, and
  // the links hashes of the uids (sf:{ns:lk:u} without a service).
  ASSERT_OK(ex().SetLinkedPod(ns_, "u0", "other", 1, Ttl::Persistent()));
  ASSERT_OK(ex().SetLinkedPod(ns_, "x", "scenes", 1, Ttl::Persistent()));
  const std::string other_ns = UniqueNamespace();
  ASSERT_OK(ex().SetLinkedPod(other_ns, "u1", kSvc, 1, Ttl::Persistent()));
  const std::uint64_t scanned_before = Counter(ex().Metrics(), "sfroute_links_scanned_total");

  const auto start = std::chrono::steady_clock::now();
  std::vector<LinkInfo> links = ScanAll(std::nullopt, 1000);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(links.size(), static_cast<std::size_t>(kLinks));
  std::set<std::string> seen;
  for (const LinkInfo& link : links) {
    ASSERT_TRUE(seen.insert(link.uid).second) << "twice: " << link.uid;
    const int i = std::stoi(link.uid.substr(1));
    EXPECT_EQ(link.pod, i % kPods) << link.uid;
    if (i % 2 == 0) {
      EXPECT_TRUE(link.ttl.is_persistent()) << link.uid;
    } else {
      EXPECT_LE(link.ttl.seconds(), TtlOf(i).seconds()) << link.uid;
      EXPECT_GT(link.ttl.seconds(), TtlOf(i).seconds() - 60) << link.uid;
    }
  }
  EXPECT_EQ(Counter(ex().Metrics(), "sfroute_links_scanned_total") - scanned_before,
            static_cast<std::uint64_t>(kLinks));
  EXPECT_THAT(ex().MetricsText(), HasSubstr("sfroute_links_scanned_total "));
  EXPECT_OK(ex().RemoveLinkedPod(other_ns, "u1", kSvc, 0));  // TearDown cleans ns_ only
  std::cerr << DeploymentName(GetParam()) << ": scanned " << kLinks << " links in "
            << std::chrono::duration<double>(took).count() << " s\n";
}

TEST_P(ScanTest, APodFilterGivesOnlyThatPodsLinks) {
  WriteLinks();
  std::vector<LinkInfo> links = ScanAll(PodIndex{3}, 500);
  std::set<std::string> uids;
  for (const LinkInfo& link : links) {
    EXPECT_EQ(link.pod, 3);
    uids.insert(link.uid);
  }
  std::set<std::string> expected;
  for (int i = 3; i < kLinks; i += kPods) expected.insert(Uid(i));
  EXPECT_EQ(uids, expected);
  EXPECT_EQ(links.size(), expected.size());
  EXPECT_TRUE(ScanAll(PodIndex{kPods}, 10).empty());
}

TEST_P(ScanTest, GlobCharactersInTheServiceMatchOnlyThemselves) {
  for (const std::string svc : {"s*", "s?", "[s]", "s\\", "sx", "s"}) {
    ASSERT_OK(ex().SetLinkedPod(ns_, "u-" + svc, svc, 1, Ttl::Persistent()));
  }
  for (const std::string svc : {"s*", "s?", "[s]", "s\\"}) {
    std::vector<std::string> uids;
    ASSERT_OK(ex().ScanLinks(ns_, svc, std::nullopt, 10, [&](const std::vector<LinkInfo>& links) {
      for (const LinkInfo& link : links) uids.push_back(link.uid);
      return true;
    }));
    EXPECT_EQ(uids, std::vector<std::string>{"u-" + svc}) << svc;
  }
}

TEST_P(ScanTest, CorruptValuesAreLoggedAndSkipped) {
  std::mutex mutex;
  std::vector<std::string> warnings;
  Options options = ExecutorOptions();
  options.log_sink = [&](LogLevel level, std::string_view message) {
    std::lock_guard<std::mutex> lock(mutex);
    if (level == LogLevel::kWarning) warnings.emplace_back(message);
  };
  std::unique_ptr<Executor> executor = OpenOrDie(options);
  ASSERT_NE(executor, nullptr);
  ASSERT_OK(executor->SetLinkedPod(ns_, "good", kSvc, 2, Ttl::Persistent()));
  const std::string long_garbage(1000, 'z');
  raw().Command({"SET", LinkKey("abc", kSvc), "abc"});
  raw().Command({"SET", LinkKey("neg", kSvc), "-1"});
  raw().Command({"SET", LinkKey("zero", kSvc), "007"});
  raw().Command({"SET", LinkKey("long", kSvc), long_garbage});
  raw().Command({"SET", LinkKey("absent", kSvc), "null"});
  raw().Command({"HSET", LinkKey("hash", kSvc), "f", "1"});
  std::vector<LinkInfo> links = ScanAll(std::nullopt, 10, executor.get());
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0], (LinkInfo{"good", 2, Ttl::Persistent()}));
  std::lock_guard<std::mutex> lock(mutex);
  std::string all;
  for (const std::string& warning : warnings) all += warning + "\n";
  for (const std::string uid : {"abc", "neg", "zero", "long", "hash"}) {
    EXPECT_THAT(all, HasSubstr(LinkKey(uid, kSvc))) << all;
  }
  EXPECT_THAT(all, ::testing::Not(HasSubstr(LinkKey("absent", kSvc))));
  EXPECT_THAT(all, ::testing::Not(HasSubstr(long_garbage.substr(0, 200)))) << "bounded quote";
  EXPECT_EQ(warnings.size(), 5u) << all;
}

TEST_P(ScanTest, BatchesAreAtMostTheSizeAskedAndEachCanStopTheScan) {
  std::vector<UidPod> links;
  for (int i = 0; i < 100; ++i) links.push_back({Uid(i), 1});
  ASSERT_OK(ex().SetLinkedPods(ns_, kSvc, links, Ttl::Persistent()));
  std::vector<std::size_t> sizes;
  ASSERT_OK(ex().ScanLinks(ns_, kSvc, std::nullopt, 7, [&](const std::vector<LinkInfo>& got) {
    sizes.push_back(got.size());
    return true;
  }));
  ASSERT_EQ(sizes.size(), 15u);  // 14 of 7, then 2
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], 7u);
  EXPECT_EQ(sizes.back(), 2u);

  int calls = 0;
  ASSERT_OK(ex().ScanLinks(ns_, kSvc, std::nullopt, 7, [&](const std::vector<LinkInfo>& got) {
    ++calls;
    EXPECT_EQ(got.size(), 7u);
    return false;
  }));
  EXPECT_EQ(calls, 1);

  int none = 0;
  ASSERT_OK(ex().ScanLinks(ns_, "empty", std::nullopt, 7, [&](const std::vector<LinkInfo>&) {
    ++none;
    return true;
  }));
  EXPECT_EQ(none, 0) << "no links: never called";
}

TEST_P(ScanTest, BadArgumentsAreRefusedNamingTheFieldBeforeAnyIo) {
  int calls = 0;
  auto each = [&](const std::vector<LinkInfo>&) {
    ++calls;
    return true;
  };
  const auto expect_invalid = [&](const absl::Status& status, const std::string& field) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("ScanLinks")) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(field)) << status;
  };
  expect_invalid(ex().ScanLinks("", kSvc, std::nullopt, 10, each), "ns");
  expect_invalid(ex().ScanLinks("a:b", kSvc, std::nullopt, 10, each), "ns");
  expect_invalid(ex().ScanLinks(ns_, "", std::nullopt, 10, each), "svc");
  expect_invalid(ex().ScanLinks(ns_, "{x}", std::nullopt, 10, each), "svc");
  expect_invalid(ex().ScanLinks(ns_, kSvc, PodIndex{-1}, 10, each), "pod");
  expect_invalid(ex().ScanLinks(ns_, kSvc, std::nullopt, 0, each), "batch");
  EXPECT_EQ(calls, 0);
  for (const auto& operation : ex().Metrics().operations) {
    if (operation.name == "ScanLinks") EXPECT_EQ(operation.total(), 0u) << "nothing sent";
  }
}

// An evacuation as `sfroute pod evacuate` does it, through the library:
// scan the pod, move each link with MoveLinkedPod.
TEST_P(ScanTest, EvacuatingAPodMovesEachOfItsLinksOnceAndKeepsTheirKind) {
  const int links = kEvacuationLinks;
  WriteLinks(links);
  // Someone else moves one of pod 2's links between the scan and its move.
  const std::string moved_away = Uid(2);
  std::vector<std::string> uids;
  for (const LinkInfo& link : ScanAll(PodIndex{2}, 1000)) uids.push_back(link.uid);
  ASSERT_EQ(uids.size(), static_cast<std::size_t>((links - 2 + kPods - 1) / kPods));
  ASSERT_OK(ex().SetLinkedPod(ns_, moved_away, kSvc, 5, Ttl::Persistent()));

  const std::uint64_t moved_before = Counter(ex().Metrics(), "sfroute_links_moved_total");
  std::size_t moved = 0, skipped = 0;
  for (const std::string& uid : uids) {
    ASSERT_OK_AND_ASSIGN(bool did, ex().MoveLinkedPod(ns_, uid, kSvc, 2, 4));
    (did ? moved : skipped)++;
  }
  EXPECT_EQ(moved, uids.size() - 1);
  EXPECT_EQ(skipped, 1u);
  EXPECT_EQ(Counter(ex().Metrics(), "sfroute_links_moved_total") - moved_before, moved);
  // Run again (an interrupted run resumed): nothing left to move.
  EXPECT_TRUE(ScanAll(PodIndex{2}, 1000).empty());

  std::map<std::string, LinkInfo> after;
  for (const LinkInfo& link : ScanAll(std::nullopt, 1000)) after.emplace(link.uid, link);
  ASSERT_EQ(after.size(), static_cast<std::size_t>(links));
  for (int i = 0; i < links; ++i) {
    const LinkInfo& link = after.at(Uid(i));
    const int expected = Uid(i) == moved_away ? 5 : (i % kPods == 2 ? 4 : i % kPods);
    ASSERT_EQ(link.pod, expected) << link.uid;
    ASSERT_EQ(link.ttl.is_persistent(), i % 2 == 0 || Uid(i) == moved_away) << link.uid;
    if (!link.ttl.is_persistent()) ASSERT_GT(link.ttl.seconds(), TtlOf(i).seconds() - 60);
  }
  // The links hash in step, for a sample of moved links of both kinds.
  for (int i = 8; i < 200; i += kPods) {
    const auto hash = raw().HGetAll(LinksHashKey(Uid(i)));
    if (i % 2 == 0) {
      EXPECT_EQ(hash, (std::map<std::string, std::string>{{kSvc, "4"}})) << Uid(i);
    } else {
      EXPECT_TRUE(hash.empty()) << Uid(i);
    }
  }
}

// Evacuating a dead pod while the service runs: players log out and in
// again (released by their pod, routed, claimed), a router places new
// players. Nobody ends on the dead pod or on two pods, every claim
// applies, and a second run finds nothing left to move.
TEST_P(ScanTest, EvacuationWhilePlayersComeAndGoAndARouterPlaces) {
  constexpr int kPlayers = 1200;  // 200 a pod
  constexpr PodIndex kDead = 5;   // never reports
  auto player = [](int i) { return "p" + std::to_string(i); };
  std::vector<std::unique_ptr<PodReporter>> reporters;
  for (PodIndex pod = 0; pod < kDead; ++pod) {
    auto reporter = PodReporter::Start(
        ex(),
        {.ns = ns_, .svc = kSvc, .pod = pod, .period = std::chrono::milliseconds(100), .load = [] {
           return std::int64_t{0};
         }});
    ASSERT_OK(reporter);
    reporters.push_back(*std::move(reporter));
  }
  std::map<PodIndex, std::vector<UidPod>> by_pod;
  for (int i = 0; i < kPlayers; ++i) by_pod[i % kPods].push_back({player(i), i % kPods});
  for (const auto& [pod, links] : by_pod) {
    ASSERT_OK_AND_ASSIGN(auto writes, ex().SetLinkedPods(ns_, kSvc, links, Ttl::Persistent()));
    for (const auto& write : writes) ASSERT_OK(write.status);
  }
  auto router = Router::Open(ex(), {.ns = ns_,
                                    .svc = kSvc,
                                    .freshness = std::chrono::milliseconds(2000),
                                    .state_refresh = std::chrono::milliseconds(100)});
  ASSERT_OK(router);

  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, refused_claims{0}, routed_to_dead{0}, sessions{0}, placed{0};
  auto note = [&](const absl::Status& status) {
    if (!status.ok()) {
      ++errors;
      ADD_FAILURE() << status;
    }
  };
  // Two threads of players logging out (their pod releases them with a
  // grace link) and in again (routed, then claimed by the routed pod).
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int j = t; !stop.load(); j = (j + 2) % kPlayers) {
        const std::string uid = player(j);
        auto linked = ex().GetLinkedPod(ns_, uid, kSvc);
        note(linked.status());
        if (!linked.ok() || !linked->has_value()) continue;
        note(ex().RemoveLinkedPodWithId(ns_, uid, kSvc, 60, **linked).status());
        auto route = (*router)->Route(uid);
        note(route.status());
        if (!route.ok()) continue;
        if (route->pod == kDead) ++routed_to_dead;
        auto claim = ex().TrySetLinkedPod(ns_, uid, kSvc, route->pod, Ttl::Persistent());
        note(claim.status());
        if (claim.ok() && !claim->applied) ++refused_claims;
        ++sessions;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
  }
  threads.emplace_back([&] {  // new players
    for (int n = 0; !stop.load(); ++n) {
      auto route = (*router)->Route("new" + std::to_string(n));
      note(route.status());
      if (route.ok() && route->pod == kDead) ++routed_to_dead;
      if (route.ok()) ++placed;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });

  // The evacuation, as `sfroute pod evacuate --to live` runs it, paced so
  // that it overlaps the players' comings and goings.
  auto evacuate = [&](std::map<PodIndex, int>& to, int& skipped) {
    std::vector<std::string> uids;
    EXPECT_OK(ex().ScanLinks(ns_, kSvc, kDead, 100, [&](const std::vector<LinkInfo>& links) {
      for (const LinkInfo& link : links) uids.push_back(link.uid);
      return true;
    }));
    for (std::size_t k = 0; k < uids.size(); ++k) {
      const PodIndex target = static_cast<PodIndex>(k % kDead);
      auto moved = ex().MoveLinkedPod(ns_, uids[k], kSvc, kDead, target);
      EXPECT_OK(moved);
      if (moved.ok()) (*moved ? to[target] : skipped)++;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return uids.size();
  };
  std::map<PodIndex, int> to;
  int skipped = 0;
  const std::size_t scanned = evacuate(to, skipped);
  stop = true;
  for (auto& thread : threads) thread.join();

  int moved = 0;
  for (const auto& [pod, count] : to) moved += count;
  EXPECT_EQ(static_cast<std::size_t>(moved + skipped), scanned);
  EXPECT_GT(sessions.load(), 0);
  EXPECT_GT(placed.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(refused_claims.load(), 0);
  EXPECT_EQ(routed_to_dead.load(), 0);
  std::map<PodIndex, int> again;
  int skipped_again = 0;
  EXPECT_EQ(evacuate(again, skipped_again), 0u) << "a second run finds nothing on the dead pod";

  // Every link: not on the dead pod, and on one pod only (the links hash
  // holds the persistent ones, and only them).
  const std::vector<LinkInfo> links = ScanAll(std::nullopt, 1000);
  EXPECT_GE(links.size(), static_cast<std::size_t>(kPlayers));
  for (const LinkInfo& link : links) {
    ASSERT_NE(link.pod, kDead) << link.uid;
    const auto hash = raw().HGetAll(LinksHashKey(link.uid));
    if (link.ttl.is_persistent()) {
      ASSERT_EQ(hash, (std::map<std::string, std::string>{{kSvc, std::to_string(link.pod)}}))
          << link.uid;
    } else {
      ASSERT_TRUE(hash.empty()) << link.uid;
    }
  }
  std::printf(
      "[ evacuate ] %zu scanned, %d moved, %d skipped (moved by the players' routes "
      "meanwhile); %d sessions and %d new players during it\n",
      scanned, moved, skipped, sessions.load(), placed.load());
}

INSTANTIATE_TEST_SUITE_P(, ScanTest, ::testing::ValuesIn(Deployments()), DeploymentParamName());

}  // namespace
}  // namespace sfroute::testing
