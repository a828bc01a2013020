// Concurrent callers on one uid (SPEC.md §3): atomic link mutations.
#include <atomic>
#include <barrier>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "raw_redis.h"
#include "redis_server.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace sfroute {
namespace {

constexpr int kThreads = 16;
constexpr int kRounds = 100;

class RacesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto executor = Executor::Open({.redis_url = testing::SharedRedisUrl()});
    ASSERT_OK(executor);
    executor_ = *std::move(executor);
  }

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

  std::unique_ptr<Executor> executor_;
  const std::string ns_ = testing::UniqueNamespace();
};

TEST_F(RacesTest, ExactlyOneTrySetWinsEachRound) {
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

  testing::RawRedis raw(testing::SharedRedisUrl());
  for (int round = 0; round < kRounds; ++round) {
    const std::string uid = "u" + std::to_string(round);
    const auto stored = raw.Get("sf:{" + ns_ + ":lk:" + uid + "}svc");
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
    EXPECT_EQ(raw.HGetAll("sf:{" + ns_ + ":lk:" + uid + "}").at("svc"), *stored);
  }
}

TEST_F(RacesTest, AllSetIfAbsentCallersSeeTheSamePod) {
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

  testing::RawRedis raw(testing::SharedRedisUrl());
  for (int round = 0; round < kRounds; ++round) {
    const auto stored = raw.Get("sf:{" + ns_ + ":lk:u" + std::to_string(round) + "}svc");
    ASSERT_TRUE(stored.has_value());
    for (int thread = 0; thread < kThreads; ++thread) {
      EXPECT_EQ(results[round][thread], std::stoi(*stored)) << "round " << round;
    }
  }
}

TEST_F(RacesTest, ASmallPoolServesManyThreads) {
  auto executor = Executor::Open({.redis_url = testing::SharedRedisUrl(), .pool_size = 2});
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

}  // namespace
}  // namespace sfroute
