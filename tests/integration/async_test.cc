// Per-call deadlines, cancellation and the async API (SPEC.md §6), against
// real servers: a deadline or a cancel ends that call only; a call not yet
// written is never sent; one already written fails at once, runs at most
// once, and its late reply goes to nobody; a silent server fails the calls
// waiting on it; callbacks run exactly once, on the executor's thread,
// never inside the starting call; destroying the executor completes every
// pending callback.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "deployment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "raw_redis.h"
#include "redis_server.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace sfroute {
namespace {

using std::chrono::milliseconds;
using testing::DeploymentParamName;
using testing::Deployments;
using testing::DeploymentTest;
using testing::MessageHas;
using testing::OpenOrDie;
using testing::RawRedis;
using testing::RedisServer;
using Clock = std::chrono::steady_clock;

// How many times the server ran `command` (INFO commandstats).
long long Calls(RawRedis& raw, const std::string& command) {
  std::istringstream lines(raw.Command({"INFO", "commandstats"}).str);
  const std::string prefix = "cmdstat_" + command + ":calls=";
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(prefix)) return std::stoll(line.substr(prefix.size()));
  }
  return 0;
}

// The executor's connections, as the server lists them: "id=... addr=...".
std::vector<std::string> ClientIds(RawRedis& raw) {
  std::istringstream lines(raw.Command({"CLIENT", "LIST"}).str);
  std::vector<std::string> ids;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.find("cmd=client|list") != std::string::npos) continue;
    ids.push_back(line.substr(0, line.find(' ')));
  }
  return ids;
}

// Where one async call's result lands: the callback must run exactly once.
template <typename T>
struct Landing {
  absl::Notification done;
  std::atomic<int> runs{0};
  std::optional<absl::StatusOr<T>> result;
  std::thread::id thread;

  Callback<T> Catch() {
    return [this](absl::StatusOr<T> value) {
      thread = std::this_thread::get_id();
      result = std::move(value);
      if (runs.fetch_add(1) == 0) done.Notify();
    };
  }
  const absl::StatusOr<T>& Wait() {
    done.WaitForNotification();
    return *result;
  }
};

TEST(AsyncTest, ADeadlineEndsOnlyItsOwnCallAndTheConnectionStays) {
  auto server = RedisServer::Start({"--enable-debug-command", "yes"});
  RawRedis raw(server->url());
  RawRedis sleeper(server->url());
  auto executor = OpenOrDie({.redis_url = server->url(), .command_timeout = milliseconds(3000)});
  const std::string ns = testing::UniqueNamespace();
  // Warm: connected, and the script loaded (a NOSCRIPT answer to an
  // abandoned call would mean it did not run at all).
  ASSERT_OK(executor->SetLinkedPod(ns, "warm", "svc", 1, Ttl::Persistent()));
  const std::vector<std::string> connection_before = ClientIds(raw);

  // The server sleeps 400 ms: one call with a deadline of 100 ms is written
  // first, then 50 calls wait with the default deadline, all on the one
  // shared connection.
  std::thread sleep([&] { sleeper.Command({"DEBUG", "SLEEP", "0.4"}); });
  std::this_thread::sleep_for(milliseconds(50));
  absl::StatusOr<std::optional<PodIndex>> short_deadline;
  Clock::duration waited{};
  std::thread short_call([&] {
    const auto start = Clock::now();
    short_deadline = executor->SetLinkedPod(ns, "short", "svc", 9, Ttl::Persistent(),
                                            {.deadline = start + milliseconds(100)});
    waited = Clock::now() - start;
  });
  std::this_thread::sleep_for(milliseconds(20));  // written by then
  constexpr int kCalls = 50;
  std::vector<Landing<std::optional<PodIndex>>> others(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    executor->SetLinkedPodAsync(ns, "u" + std::to_string(i), "svc", i, Ttl::Persistent(),
                                others[i].Catch());
  }
  short_call.join();
  EXPECT_STATUS_CODE(short_deadline, DEADLINE_EXCEEDED);
  EXPECT_TRUE(MessageHas(short_deadline.status(), "may or may not have run"))
      << short_deadline.status();
  EXPECT_LT(waited, milliseconds(300)) << "it failed at its own deadline, not with the others";
  for (int i = 0; i < kCalls; ++i) EXPECT_OK(others[i].Wait()) << i;
  sleep.join();

  // Still the same connection, and every later call gets its own reply.
  EXPECT_EQ(ClientIds(raw).size(), 2u);  // the executor's and the sleeper's
  EXPECT_THAT(ClientIds(raw), ::testing::IsSupersetOf(connection_before));
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_OK_AND_ASSIGN(auto pod, executor->GetLinkedPod(ns, "u" + std::to_string(i), "svc"));
    EXPECT_EQ(pod, i);
  }
  // The short call was written: it ran once, after the sleep.
  ASSERT_OK_AND_ASSIGN(auto pod, executor->GetLinkedPod(ns, "short", "svc"));
  EXPECT_EQ(pod, 9);
}

TEST(AsyncTest, ACallStartedCancelledSendsNothing) {
  auto server = RedisServer::Start();
  RawRedis raw(server->url());
  auto executor = OpenOrDie({.redis_url = server->url()});
  auto cancel = std::make_shared<Cancellation>();
  cancel->Cancel();
  EXPECT_TRUE(cancel->cancelled());
  auto sync =
      executor->SetLinkedPod("ns", "u", "svc", 1, Ttl::Persistent(), {.cancellation = cancel});
  EXPECT_STATUS_CODE(sync, CANCELLED);
  Landing<bool> async;
  executor->RemoveLinkedPodAsync("ns", "u", "svc", 0, async.Catch(), {.cancellation = cancel});
  EXPECT_STATUS_CODE(async.Wait(), CANCELLED);
  // A deadline already past: nothing sent either.
  EXPECT_STATUS_CODE(
      executor->GetLinkedPod("ns", "u", "svc", {.deadline = Clock::now() - milliseconds(1)}),
      DEADLINE_EXCEEDED);
  EXPECT_EQ(Calls(raw, "evalsha") + Calls(raw, "eval") + Calls(raw, "get"), 0);
}

// A call queued behind a batch the frozen server does not read is still
// unwritten when cancelled: it is dropped, and the server never sees it.
TEST(AsyncTest, ACallCancelledBeforeItIsWrittenIsNeverSent) {
  auto server = RedisServer::Start();
  RawRedis raw(server->url());
  // Generous: the 16 MB batch below takes seconds under a sanitizer on a
  // busy machine, and must not run into its deadline.
  auto executor = OpenOrDie({.redis_url = server->url(), .command_timeout = milliseconds(60000)});
  const std::string ns = testing::UniqueNamespace();
  ASSERT_OK(executor->GetLinkService(ns, "warm"));
  const long long hgetall_before = Calls(raw, "hgetall");

  server->Freeze();
  std::vector<UidPod> links;
  const std::string long_uid(500, 'x');
  for (int i = 0; i < 40000; ++i) links.push_back({long_uid + std::to_string(i), i});
  Landing<std::vector<Executor::LinkWrite>> batch;  // ~16 MB: more than the socket buffers
  executor->SetLinkedPodsAsync(ns, "svc", links, Ttl::Seconds(60), batch.Catch());
  std::this_thread::sleep_for(milliseconds(200));
  auto cancel = std::make_shared<Cancellation>();
  Landing<ServicePods> queued;
  executor->GetLinkServiceAsync(ns, "u", queued.Catch(), {.cancellation = cancel});
  std::this_thread::sleep_for(milliseconds(50));
  cancel->Cancel();
  const auto& cancelled = queued.Wait();
  EXPECT_STATUS_CODE(cancelled, CANCELLED);
  EXPECT_TRUE(MessageHas(cancelled.status(), "nothing was sent")) << cancelled.status();
  server->Thaw();

  ASSERT_OK_AND_ASSIGN(auto writes, batch.Wait());
  EXPECT_EQ(writes.size(), links.size());
  ASSERT_OK(executor->GetLinkedPod(ns, "after", "svc"));
  EXPECT_EQ(Calls(raw, "hgetall"), hgetall_before);
  EXPECT_EQ(queued.runs.load(), 1);
}

// A call cancelled after it was written fails at once; the server still
// runs it (once) when it can, and its late reply goes to nobody.
TEST(AsyncTest, ACallCancelledAfterItIsWrittenFailsAtOnceAndRunsOnce) {
  auto server = RedisServer::Start();
  RawRedis raw(server->url());
  RawRedis pauser(server->url());
  auto executor = OpenOrDie({.redis_url = server->url(), .command_timeout = milliseconds(5000)});
  const std::string ns = testing::UniqueNamespace();
  ASSERT_OK(executor->SetLinkedPod(ns, "other", "svc", 5, Ttl::Persistent()));
  const long long evalsha_before = Calls(raw, "evalsha");

  ASSERT_EQ(pauser.Command({"CLIENT", "PAUSE", "400", "WRITE"}).str, "OK");
  auto cancel = std::make_shared<Cancellation>();
  Landing<std::optional<PodIndex>> write;
  const auto start = Clock::now();
  executor->SetLinkedPodAsync(ns, "u", "svc", 7, Ttl::Persistent(), write.Catch(),
                              {.cancellation = cancel});
  Landing<std::optional<PodIndex>> behind;  // queued behind it on the connection
  executor->GetLinkedPodAsync(ns, "other", "svc", behind.Catch());
  std::this_thread::sleep_for(milliseconds(100));
  cancel->Cancel();
  const auto& cancelled = write.Wait();
  EXPECT_LT(Clock::now() - start, milliseconds(350)) << "failed at the cancel, not after";
  EXPECT_STATUS_CODE(cancelled, CANCELLED);
  EXPECT_TRUE(MessageHas(cancelled.status(), "may or may not have run")) << cancelled.status();

  // The call behind it gets its own reply, not the late one of the script.
  ASSERT_OK_AND_ASSIGN(auto other, behind.Wait());
  EXPECT_EQ(other, 5);
  ASSERT_OK_AND_ASSIGN(auto pod, executor->GetLinkedPod(ns, "u", "svc"));
  EXPECT_EQ(pod, 7);
  EXPECT_EQ(Calls(raw, "evalsha") - evalsha_before, 1);
  EXPECT_EQ(write.runs.load(), 1);
  cancel->Cancel();  // again: nothing happens
  EXPECT_EQ(write.runs.load(), 1);
}

// A server that answers nothing: each waiting call fails at its deadline;
// with replies due and nothing read for command_timeout, the connection is
// failed (later deadlines get UNAVAILABLE) and replaced once it answers.
TEST(AsyncTest, ASilentServerFailsTheWaitingCallsAndTheExecutorRecovers) {
  auto server = RedisServer::Start();
  const auto timeout = milliseconds(300);
  auto executor = OpenOrDie({.redis_url = server->url(), .command_timeout = timeout});
  const std::string ns = testing::UniqueNamespace();
  ASSERT_OK(executor->GetLinkedPod(ns, "u", "svc"));

  server->Freeze();
  Landing<std::optional<PodIndex>> patient;  // a deadline past the command timeout
  executor->GetLinkedPodAsync(ns, "u", "svc", patient.Catch(),
                              {.deadline = Clock::now() + milliseconds(5000)});
  const auto start = Clock::now();
  std::vector<absl::Status> statuses(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = executor
                        ->SetLinkedPod(ns, "u", "svc", 1, Ttl::Persistent(),
                                       {.deadline = Clock::now() + milliseconds(150)})
                        .status();
    });
  }
  for (auto& thread : threads) thread.join();
  for (const absl::Status& status : statuses) {
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  }
  const auto& lost = patient.Wait();
  EXPECT_STATUS_CODE(lost, UNAVAILABLE);
  EXPECT_TRUE(MessageHas(lost.status(), "no reply")) << lost.status();
  EXPECT_LT(Clock::now() - start, milliseconds(2000));

  server->Thaw();
  ASSERT_OK(executor->SetLinkedPod(ns, "after", "svc", 3, Ttl::Persistent()));
  ASSERT_OK_AND_ASSIGN(auto pod, executor->GetLinkedPod(ns, "after", "svc"));
  EXPECT_EQ(pod, 3);
}

// Destroying the executor completes every pending callback, CANCELLED,
// before the destructor returns; callbacks that start new calls then get
// CANCELLED too.
TEST(AsyncTest, DestroyingTheExecutorCompletesEveryPendingCallback) {
  auto server = RedisServer::Start();
  auto executor = OpenOrDie({.redis_url = server->url(), .command_timeout = milliseconds(5000)});
  ASSERT_OK(executor->GetLinkedPod("ns", "u", "svc"));
  server->Freeze();
  constexpr int kCalls = 100;
  std::atomic<int> ran{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> followups{0};
  Executor* raw_executor = executor.get();
  for (int i = 0; i < kCalls; ++i) {
    executor->GetLinkedPodAsync("ns", "u" + std::to_string(i), "svc",
                                [&, raw_executor](absl::StatusOr<std::optional<PodIndex>> pod) {
                                  ++ran;
                                  if (pod.status().code() == absl::StatusCode::kCancelled) {
                                    ++cancelled;
                                  }
                                  raw_executor->GetLinkedPodAsync(
                                      "ns", "again", "svc",
                                      [&](absl::StatusOr<std::optional<PodIndex>> again) {
                                        if (again.status().code() == absl::StatusCode::kCancelled) {
                                          ++followups;
                                        }
                                      });
                                });
  }
  std::this_thread::sleep_for(milliseconds(50));
  executor.reset();
  EXPECT_EQ(ran.load(), kCalls);
  EXPECT_EQ(cancelled.load(), kCalls);
  EXPECT_EQ(followups.load(), kCalls);
  server->Thaw();
}

TEST(AsyncTest, ASyncCallInsideACallbackIsRefusedNotHung) {
  auto executor = OpenOrDie({.redis_url = "memory://"});
  Landing<std::optional<PodIndex>> outer;
  absl::Status inner;
  executor->GetLinkedPodAsync("ns", "u", "svc", [&](absl::StatusOr<std::optional<PodIndex>> pod) {
    inner = executor->GetLinkedPod("ns", "u", "svc").status();
    outer.Catch()(std::move(pod));
  });
  ASSERT_OK(outer.Wait());
  EXPECT_EQ(inner.code(), absl::StatusCode::kFailedPrecondition) << inner;
  EXPECT_TRUE(MessageHas(inner, "use the async call")) << inner;
}

TEST(AsyncTest, TheExecutorMayBeDestroyedInsideItsOwnCallback) {
  auto executor = OpenOrDie({.redis_url = "memory://"});
  absl::Notification destroyed;
  std::unique_ptr<Executor>* owner = &executor;
  Executor* raw_executor = executor.get();
  raw_executor->SetLinkedPodAsync("ns", "u", "svc", 1, Ttl::Persistent(),
                                  [&, owner](absl::StatusOr<std::optional<PodIndex>> previous) {
                                    EXPECT_OK(previous);
                                    owner->reset();
                                    destroyed.Notify();
                                  });
  ASSERT_TRUE(destroyed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(executor, nullptr);
}

// The callback contract on every deployment: exactly once, on one thread
// of the executor, never inside the starting call — also for a call
// refused by validation — with the result the sync call gives.
class AsyncDeploymentTest : public DeploymentTest {};

TEST_P(AsyncDeploymentTest, CallbacksRunOnceOnTheExecutorsThreadNeverInsideTheCall) {
  thread_local bool starting = false;
  std::atomic<int> inside{0};
  auto start = [&](auto&& call) {
    starting = true;
    call();
    starting = false;
  };
  Landing<std::optional<PodIndex>> set, get, bad;
  Landing<TrySetResult> try_set;
  Landing<std::optional<PodIndex>> compute;
  Landing<PodUids> batch;
  auto watch = [&](auto& landing) {
    return [&landing, &inside](auto value) {
      if (starting) ++inside;
      landing.Catch()(std::move(value));
    };
  };
  start([&] { ex().SetLinkedPodAsync(ns_, "u1", "scene", 0, Ttl::Persistent(), watch(set)); });
  ASSERT_OK(set.Wait());
  start([&] { ex().GetLinkedPodAsync(ns_, "u1", "scene", watch(get)); });
  start([&] { ex().GetLinkedPodAsync(ns_, "bad{uid}", "scene", watch(bad)); });
  start(
      [&] { ex().TrySetLinkedPodAsync(ns_, "u1", "scene", 4, Ttl::Persistent(), watch(try_set)); });
  ASSERT_OK(ex().SetServiceState(ns_, "scene", 2, "1-100"));
  start([&] {
    ex().ComputeLinkedPodIfAbsentAsync(ns_, "u2", "scene", Ttl::Seconds(60), 0, watch(compute));
  });
  compute.Wait();  // async calls run side by side: the batch reads after it
  start([&] { ex().BatchGetLinkedPodAsync(ns_, {"u1", "u2", "nobody"}, "scene", watch(batch)); });

  EXPECT_EQ(get.Wait(), absl::StatusOr<std::optional<PodIndex>>(0));
  EXPECT_STATUS_CODE(bad.Wait(), INVALID_ARGUMENT);
  ASSERT_OK_AND_ASSIGN(TrySetResult tried, try_set.Wait());
  EXPECT_EQ(tried, (TrySetResult{false, 0, 0}));
  const auto& computed = compute.Wait();
  ASSERT_OK(computed);
  EXPECT_EQ(*computed, 2);
  batch.Wait();
  EXPECT_EQ(*batch.result, absl::StatusOr<PodUids>(PodUids{{0, {"u1"}}, {2, {"u2"}}}));
  EXPECT_EQ(inside.load(), 0);
  for (auto* thread : {&set.thread, &get.thread, &bad.thread, &compute.thread}) {
    EXPECT_NE(*thread, std::this_thread::get_id());
    EXPECT_EQ(*thread, set.thread) << "one executor thread runs every callback";
  }
  std::this_thread::sleep_for(milliseconds(20));
  for (int runs : {set.runs.load(), get.runs.load(), bad.runs.load(), try_set.runs.load(),
                   compute.runs.load(), batch.runs.load()}) {
    EXPECT_EQ(runs, 1);
  }
}

TEST_P(AsyncDeploymentTest, ManyAsyncCallsFromOneThreadEachGetTheirOwnResult) {
  constexpr int kCalls = 2000;
  std::vector<UidPod> links;
  for (int i = 0; i < kCalls; ++i) links.push_back({"u" + std::to_string(i), i});
  ASSERT_OK(ex().SetLinkedPods(ns_, "scene", links, Ttl::Persistent()));
  std::atomic<int> wrong{0};
  std::atomic<int> completed{0};
  absl::Notification all;
  for (int i = 0; i < kCalls; ++i) {
    ex().GetLinkedPodAsync(ns_, "u" + std::to_string(i), "scene",
                           [&, i](absl::StatusOr<std::optional<PodIndex>> pod) {
                             if (!pod.ok() || *pod != i) ++wrong;
                             if (++completed == kCalls) all.Notify();
                           });
  }
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(wrong.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(, AsyncDeploymentTest, ::testing::ValuesIn(Deployments()),
                         DeploymentParamName());

}  // namespace
}  // namespace sfroute
