// 100,000 async calls (and sync ones beside them) with random deadlines and
// cancels, through a proxy that cuts connections at random: every callback
// runs exactly once, no call gets another's reply, and the data is as the
// calls left it. Under AddressSanitizer it also shows nothing leaks.
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "deployment.h"
#include "flaky_proxy.h"
#include "gtest/gtest.h"
#include "redis_server.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace sfroute {
namespace {

using std::chrono::milliseconds;
using testing::FlakyProxy;
using testing::OpenOrDie;
using testing::RedisServer;
using Clock = std::chrono::steady_clock;

constexpr int kUids = 1000;  // uid u<i> is linked to pod i, and stays so

std::string Uid(int i) { return "u" + std::to_string(i); }

// What the calls saw, counted by code.
struct Tally {
  std::atomic<int> ok{0}, cancelled{0}, deadline{0}, unavailable{0}, other{0}, wrong{0};
  std::mutex mutex;
  std::string first_odd;  // the first wrong answer or unexpected code

  void Count(const absl::Status& status) {
    switch (status.code()) {
      case absl::StatusCode::kOk:
        ++ok;
        break;
      case absl::StatusCode::kCancelled:
        ++cancelled;
        break;
      case absl::StatusCode::kDeadlineExceeded:
        ++deadline;
        break;
      case absl::StatusCode::kUnavailable:
        ++unavailable;
        break;
      default:
        Odd(other, status.ToString());
    }
  }
  void Odd(std::atomic<int>& counter, const std::string& what) {
    ++counter;
    std::lock_guard<std::mutex> lock(mutex);
    if (first_odd.empty()) first_odd = what;
  }
};

TEST(AsyncStressTest, CallsWithDeadlinesAndCancelsOverConnectionsCutAtRandom) {
  auto server = RedisServer::Start();
  const std::string ns = "stress";
  {
    auto direct = OpenOrDie({.redis_url = server->url()});
    std::vector<UidPod> links;
    for (int i = 0; i < kUids; ++i) links.push_back({Uid(i), i});
    ASSERT_OK(direct->SetLinkedPods(ns, "svc", links, Ttl::Persistent()));
  }
  FlakyProxy proxy(server->port(), /*cut_chance=*/0.003, /*seed=*/42);

  constexpr int kAsyncCalls = 100000;
  constexpr int kMaxInFlight = 512;
  constexpr int kSyncThreads = 3;
  constexpr int kSyncCalls = 3000;
  std::vector<std::atomic<int>> runs(kAsyncCalls);
  std::atomic<int> in_flight{0};
  Tally async_tally, sync_tally;
  std::mutex cancel_mutex;
  std::deque<std::shared_ptr<Cancellation>> cancels;
  std::atomic<bool> issuing{true};

  const auto start = Clock::now();
  {
    auto executor = OpenOrDie({.redis_url = proxy.url(),
                               .connect_timeout = milliseconds(500),
                               .command_timeout = milliseconds(500)});
    // Cancels the newest cancellable call every ~100 µs (most likely still
    // in flight), and drops the rest.
    std::thread canceller([&] {
      while (issuing || !cancels.empty()) {
        std::shared_ptr<Cancellation> cancel;
        {
          std::lock_guard<std::mutex> lock(cancel_mutex);
          if (!cancels.empty()) {
            cancel = std::move(cancels.back());
            cancels.clear();
          }
        }
        if (cancel != nullptr) cancel->Cancel();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
    // Sync callers beside the async ones: their calls read their own
    // replies when they find the connection idle.
    std::vector<std::thread> sync_threads;
    for (int t = 0; t < kSyncThreads; ++t) {
      sync_threads.emplace_back([&, t] {
        std::mt19937 random(1000 + t);
        for (int n = 0; n < kSyncCalls; ++n) {
          const int uid = static_cast<int>(random() % kUids);
          CallOptions call;
          if (random() % 3 == 0) call.deadline = Clock::now() + milliseconds(random() % 20);
          auto pod = executor->GetLinkedPod(ns, Uid(uid), "svc", call);
          sync_tally.Count(pod.status());
          if (pod.ok() && *pod != uid) sync_tally.Odd(sync_tally.wrong, "sync got another pod");
        }
      });
    }

    std::mt19937 random(7);
    for (int i = 0; i < kAsyncCalls; ++i) {
      while (in_flight.load() >= kMaxInFlight)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      ++in_flight;
      const int uid = static_cast<int>(random() % kUids);
      CallOptions call;
      switch (random() % 4) {
        case 0:
          call.deadline = Clock::now() + milliseconds(random() % 30);
          break;
        case 1: {
          auto cancel = std::make_shared<Cancellation>();
          call.cancellation = cancel;
          std::lock_guard<std::mutex> lock(cancel_mutex);
          cancels.push_back(std::move(cancel));
          break;
        }
        default:
          break;
      }
      auto done = [&, i, uid](const absl::Status& status, bool right) {
        runs[i].fetch_add(1);
        async_tally.Count(status);
        if (status.ok() && !right) async_tally.Odd(async_tally.wrong, "async got another pod");
        --in_flight;
      };
      switch (random() % 3) {
        case 0:
          executor->GetLinkedPodAsync(
              ns, Uid(uid), "svc",
              [done, uid](absl::StatusOr<std::optional<PodIndex>> pod) {
                done(pod.status(), pod.ok() && *pod == uid);
              },
              call);
          break;
        case 1:
          executor->SetLinkedPodAsync(
              ns, Uid(uid), "svc", uid, Ttl::Persistent(),
              [done, uid](absl::StatusOr<std::optional<PodIndex>> previous) {
                done(previous.status(), previous.ok() && *previous == uid);
              },
              call);
          break;
        default:
          executor->TrySetLinkedPodAsync(
              ns, Uid(uid), "svc", uid, Ttl::Persistent(),
              [done, uid](absl::StatusOr<TrySetResult> result) {
                done(result.status(), result.ok() && *result == TrySetResult{true, uid, uid});
              },
              call);
          break;
      }
    }
    issuing = false;
    for (std::thread& thread : sync_threads) thread.join();
    canceller.join();
    const auto give_up = Clock::now() + std::chrono::seconds(60);
    while (in_flight.load() > 0 && Clock::now() < give_up) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    EXPECT_EQ(in_flight.load(), 0) << "callbacks still due a minute after the last call";
  }  // the executor is destroyed: any callback still due runs now
  const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);

  int not_once = 0;
  for (const auto& count : runs) not_once += count.load() != 1;
  EXPECT_EQ(not_once, 0) << "callbacks that did not run exactly once";
  EXPECT_EQ(async_tally.wrong.load() + sync_tally.wrong.load(), 0)
      << async_tally.first_odd << sync_tally.first_odd;
  EXPECT_EQ(async_tally.other.load() + sync_tally.other.load(), 0)
      << async_tally.first_odd << sync_tally.first_odd;
  // The run exercised what it is about.
  EXPECT_GT(proxy.cuts(), 10);
  EXPECT_GT(async_tally.ok.load(), kAsyncCalls / 2);
  EXPECT_GT(async_tally.cancelled.load(), 0);
  EXPECT_GT(async_tally.deadline.load(), 0);
  EXPECT_GT(async_tally.unavailable.load(), 0);
  EXPECT_GT(sync_tally.ok.load(), kSyncThreads * kSyncCalls / 2);
  std::printf(
      "%d async calls in %lld ms over %d connections (%d cut): %d ok, %d cancelled, %d deadline "
      "exceeded, %d unavailable; sync: %d ok, %d deadline exceeded, %d unavailable\n",
      kAsyncCalls, static_cast<long long>(elapsed.count()), proxy.connections(), proxy.cuts(),
      async_tally.ok.load(), async_tally.cancelled.load(), async_tally.deadline.load(),
      async_tally.unavailable.load(), sync_tally.ok.load(), sync_tally.deadline.load(),
      sync_tally.unavailable.load());

  // Every link is as it was: the writes wrote what was there.
  auto direct = OpenOrDie({.redis_url = server->url()});
  std::vector<std::string> uids;
  for (int i = 0; i < kUids; ++i) uids.push_back(Uid(i));
  ASSERT_OK_AND_ASSIGN(PodUids pods, direct->BatchGetLinkedPod(ns, uids, "svc"));
  ASSERT_EQ(pods.size(), static_cast<std::size_t>(kUids));
  for (const auto& [pod, linked] : pods) EXPECT_EQ(linked, std::vector<std::string>{Uid(pod)});
}

}  // namespace
}  // namespace sfroute
