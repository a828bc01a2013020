// Concurrent callers on one uid (SPEC.md §3): atomic link mutations, on
// every deployment (memory, standalone Redis, Redis Cluster: see
// deployment.h).
#include <atomic>
#include <barrier>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "deployment.h"
#include "gtest/gtest.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace sfroute {
namespace {

constexpr int kThreads = 16;
constexpr int kRounds = 100;

class RacesTest : public testing::DeploymentTest {
 protected:
  // Runs body(thread, round) on kThreads threads that start each round
  // together, kRounds times.
  template <typename Body>
  void RunRounds(Body body) {
    std::barrier start(kThreads);
    std::vector<std::thread> threads;
    for (int thread = 0; thread < kThreads; ++thread) {
      threads.emplace_back([&, thread] {
        for (int round = 0; round < kRounds; ++round) {
          start.arrive_and_wait();
          body(thread, round);
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
};

TEST_P(RacesTest, ExactlyOneTrySetWinsEachRound) {
  std::vector<std::vector<TrySetResult>> results(kRounds, std::vector<TrySetResult>(kThreads));
  std::atomic<int> failures{0};
  RunRounds([&](int thread, int round) {
    auto result = executor_->TrySetLinkedPod(ns_, "u" + std::to_string(round), "svc", thread,
                                             Ttl::Persistent());
    if (!result.ok()) {
      ++failures;
      return;
    }
    results[round][thread] = *result;
  });
  ASSERT_EQ(failures.load(), 0);

  testing::RawStore& raw = this->raw();
  for (int round = 0; round < kRounds; ++round) {
    const std::string uid = "u" + std::to_string(round);
    const auto stored = raw.Get(LinkKey(uid, "svc"));
    ASSERT_TRUE(stored.has_value());
    const int winner = std::stoi(*stored);
    int applied = 0;
    for (int thread = 0; thread < kThreads; ++thread) {
      const TrySetResult& result = results[round][thread];
      EXPECT_EQ(result.pod, winner) << "round " << round << " thread " << thread;
      EXPECT_EQ(result.applied, thread == winner) << "round " << round << " thread " << thread;
      applied += result.applied ? 1 : 0;
    }
    EXPECT_EQ(applied, 1) << "round " << round;
    EXPECT_EQ(raw.HGetAll(LinksHashKey(uid)).at("svc"), *stored);
  }
}

TEST_P(RacesTest, AllSetIfAbsentCallersSeeTheSamePod) {
  std::vector<std::vector<PodIndex>> results(kRounds, std::vector<PodIndex>(kThreads, -1));
  std::atomic<int> failures{0};
  RunRounds([&](int thread, int round) {
    auto pod = executor_->SetLinkedPodIfAbsent(ns_, "u" + std::to_string(round), "svc", thread,
                                               Ttl::Seconds(600));
    if (!pod.ok()) {
      ++failures;
      return;
    }
    results[round][thread] = *pod;
  });
  ASSERT_EQ(failures.load(), 0);

  testing::RawStore& raw = this->raw();
  for (int round = 0; round < kRounds; ++round) {
    const auto stored = raw.Get(LinkKey("u" + std::to_string(round), "svc"));
    ASSERT_TRUE(stored.has_value());
    for (int thread = 0; thread < kThreads; ++thread) {
      EXPECT_EQ(results[round][thread], std::stoi(*stored)) << "round " << round;
    }
  }
}

TEST_P(RacesTest, OneConnectionServesManyThreads) {
  Options options = ExecutorOptions();
  options.pool_size = 1;
  auto executor = Executor::Open(options);
  ASSERT_OK(executor);
  std::atomic<int> failures{0};
  RunRounds([&](int thread, int round) {
    const std::string uid = "p" + std::to_string(thread) + "-" + std::to_string(round);
    if (!(*executor)->SetLinkedPod(ns_, uid, "svc", thread, Ttl::Persistent()).ok()) ++failures;
    auto pod = (*executor)->GetLinkedPod(ns_, uid, "svc");
    if (!pod.ok() || *pod != thread) ++failures;
  });
  EXPECT_EQ(failures.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(, RacesTest, ::testing::ValuesIn(testing::Deployments()),
                         testing::DeploymentParamName());

}  // namespace
}  // namespace sfroute
