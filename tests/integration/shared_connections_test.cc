// Many callers on a few shared connections (Options::pool_size):
// each caller gets its own replies, a pipeline larger than the socket
// buffers goes through, a lost or silent connection fails every call
// waiting on it and is replaced, and a WAIT holds back no other call.
// (Deadlines and cancels of single calls: async_test.)
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
#include "deployment.h"
#include "gtest/gtest.h"
#include "raw_redis.h"
#include "redis_server.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace sfroute {
namespace {

using testing::MessageHas;
using testing::OpenOrDie;
using testing::RawRedis;
using testing::RedisServer;

// Clients connected to the server other than the one asking.
int OtherClients(RawRedis& raw) {
  std::istringstream lines(raw.Command({"CLIENT", "LIST"}).str);
  int clients = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.find("cmd=client|list") == std::string::npos) ++clients;
  }
  return clients;
}

void RunThreads(int count, const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  for (int thread = 0; thread < count; ++thread) threads.emplace_back(body, thread);
  for (auto& thread : threads) thread.join();
}

TEST(SharedConnectionsTest, EveryCallerGetsItsOwnRepliesOverOneConnection) {
  auto server = RedisServer::Start();
  RawRedis raw(server->url());
  auto executor = OpenOrDie({.redis_url = server->url(), .pool_size = 1});
  const std::string ns = testing::UniqueNamespace();
  constexpr int kThreads = 32;
  constexpr int kRounds = 200;
  std::atomic<int> wrong{0};
  absl::Mutex mutex;
  std::string first_wrong;
  auto report = [&](const std::string& what) {
    ++wrong;
    absl::MutexLock lock(&mutex);
    if (first_wrong.empty()) first_wrong = what;
  };
  RunThreads(kThreads, [&](int thread) {
    for (int round = 0; round < kRounds; ++round) {
      // Each thread's uids and pods are its own: a reply handed to the
      // wrong caller shows as a wrong pod or previous value.
      const std::string uid = "t" + std::to_string(thread) + "r" + std::to_string(round % 7);
      const int pod = thread * 1000 + round;
      auto previous = executor->SetLinkedPod(ns, uid, "svc", pod, Ttl::Persistent());
      const std::optional<int> expected_previous =
          round < 7 ? std::nullopt : std::optional<int>(thread * 1000 + round - 7);
      if (!previous.ok()) {
        report(previous.status().ToString());
      } else if (*previous != expected_previous) {
        report(uid + ": previous " + std::to_string(previous->value_or(-1)));
      }
      auto read = executor->GetLinkedPod(ns, uid, "svc");
      if (!read.ok()) {
        report(read.status().ToString());
      } else if (*read != pod) {
        report(uid + ": read " + std::to_string(read->value_or(-1)));
      }
    }
  });
  EXPECT_EQ(wrong.load(), 0) << "first: " << first_wrong;
  EXPECT_EQ(OtherClients(raw), 1) << "all callers shared one connection";
}

TEST(SharedConnectionsTest, APipelineLargerThanTheSocketBuffersGoesThrough) {
  auto server = RedisServer::Start();
  auto executor = OpenOrDie({.redis_url = server->url(),
                             .command_timeout = std::chrono::milliseconds(20000),
                             .pool_size = 1});
  const std::string ns = testing::UniqueNamespace();
  // About 16 MB of commands in one call: the kernel takes a few MB at a
  // time, so the send blocks and the I/O thread finishes it.
  constexpr int kLinks = 50000;
  const std::string padding(300, 'x');
  std::vector<UidPod> links;
  for (int i = 0; i < kLinks; ++i) links.push_back({padding + std::to_string(i), i % 97});
  std::atomic<bool> batch_done{false};
  std::atomic<int> small_calls_failed{0};
  std::thread small_calls([&] {
    // Single calls on the same connection while the batch is being sent.
    for (int i = 0; !batch_done.load() || i < 10; ++i) {
      if (!executor->SetLinkedPod(ns, "small" + std::to_string(i), "svc", 1, Ttl::Persistent())
               .ok()) {
        ++small_calls_failed;
      }
    }
  });
  auto results = executor->SetLinkedPods(ns, "svc", links, Ttl::Persistent());
  batch_done = true;
  small_calls.join();
  ASSERT_OK(results);
  ASSERT_EQ(results->size(), links.size());
  for (const auto& result : *results) ASSERT_OK(result.status);
  EXPECT_EQ(small_calls_failed.load(), 0);

  std::vector<std::string> uids;
  for (const UidPod& link : links) uids.push_back(link.uid);
  ASSERT_OK_AND_ASSIGN(PodUids by_pod, executor->BatchGetLinkedPod(ns, uids, "svc"));
  std::map<std::string, int> pod_of;
  for (const auto& [pod, pod_uids] : by_pod) {
    for (const std::string& uid : pod_uids) pod_of[uid] = pod;
  }
  ASSERT_EQ(pod_of.size(), links.size());
  for (const UidPod& link : links) ASSERT_EQ(pod_of[link.uid], link.pod) << link.uid;
}

TEST(SharedConnectionsTest, ASilentServerFailsEveryWaitingCallThenTheConnectionIsReplaced) {
  auto server = RedisServer::Start();
  RawRedis raw(server->url());
  const auto timeout = std::chrono::milliseconds(300);
  auto executor =
      OpenOrDie({.redis_url = server->url(), .command_timeout = timeout, .pool_size = 1});
  const std::string ns = testing::UniqueNamespace();
  ASSERT_OK(executor->GetLinkedPod(ns, "u", "svc"));

  ASSERT_EQ(raw.Command({"CLIENT", "PAUSE", "1200", "ALL"}).str, "OK");
  constexpr int kThreads = 8;
  std::vector<absl::Status> statuses(kThreads);
  RunThreads(kThreads, [&](int thread) {
    statuses[thread] =
        executor->SetLinkedPod(ns, "u" + std::to_string(thread), "svc", 1, Ttl::Persistent())
            .status();
  });
  // Each fails at its deadline (DEADLINE_EXCEEDED), or a little before it
  // when the connection is failed for silence first: its first request has
  // waited a command timeout by then (UNAVAILABLE). The calls written may
  // have run; those held back (two writes await replies at most) were not
  // sent, and say so.
  int written = 0;
  std::vector<int> not_sent;
  for (int thread = 0; thread < kThreads; ++thread) {
    const absl::Status& status = statuses[thread];
    EXPECT_TRUE(status.code() == absl::StatusCode::kDeadlineExceeded ||
                status.code() == absl::StatusCode::kUnavailable)
        << status;
    if (MessageHas(status, "may or may not have run")) {
      ++written;
    } else {
      EXPECT_TRUE(MessageHas(status, "nothing was sent")) << status;
      not_sent.push_back(thread);
    }
  }
  EXPECT_GE(written, 1);

  std::this_thread::sleep_for(std::chrono::milliseconds(1300));  // the pause ends
  for (int thread : not_sent) {
    ASSERT_OK_AND_ASSIGN(auto pod, executor->GetLinkedPod(ns, "u" + std::to_string(thread), "svc"));
    EXPECT_EQ(pod, std::nullopt) << "a call that said nothing was sent ran: u" << thread;
  }
  ASSERT_OK(executor->SetLinkedPod(ns, "after", "svc", 3, Ttl::Persistent()));
  ASSERT_OK_AND_ASSIGN(auto pod, executor->GetLinkedPod(ns, "after", "svc"));
  EXPECT_EQ(pod, 3);
  EXPECT_EQ(OtherClients(raw), 1) << "the timed-out connection was closed, one new one open";
}

TEST(SharedConnectionsTest, AConnectionClosedUnderWaitingCallsFailsThemAtOnce) {
  auto server = RedisServer::Start();
  RawRedis pauser(server->url());
  RawRedis killer(server->url());
  const auto timeout = std::chrono::milliseconds(5000);
  auto executor =
      OpenOrDie({.redis_url = server->url(), .command_timeout = timeout, .pool_size = 1});
  const std::string ns = testing::UniqueNamespace();
  ASSERT_OK(executor->GetLinkedPod(ns, "u", "svc"));

  // Writes wait while the pause lasts; the kill closes the connection under
  // them, long before the command timeout.
  ASSERT_EQ(pauser.Command({"CLIENT", "PAUSE", "3000", "WRITE"}).str, "OK");
  absl::Status status;
  const auto start = std::chrono::steady_clock::now();
  std::thread writer(
      [&] { status = executor->SetLinkedPod(ns, "u", "svc", 1, Ttl::Persistent()).status(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  killer.Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  writer.join();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(MessageHas(status, "may or may not have run")) << status;
  EXPECT_LT(elapsed, std::chrono::milliseconds(3000)) << "failed when closed, not at the timeout";
  ASSERT_EQ(RawRedis(server->url()).Command({"CLIENT", "UNPAUSE"}).str, "OK");

  ASSERT_OK(executor->SetLinkedPod(ns, "u", "svc", 2, Ttl::Persistent()));
  ASSERT_OK_AND_ASSIGN(auto pod, executor->GetLinkedPod(ns, "u", "svc"));
  EXPECT_EQ(pod, 2);
}

TEST(SharedConnectionsTest, ManyCallersAfterARestartOpenOneConnection) {
  auto server = RedisServer::Start();
  auto executor = OpenOrDie({.redis_url = server->url(), .pool_size = 1});
  const std::string ns = testing::UniqueNamespace();
  ASSERT_OK(executor->SetLinkedPod(ns, "u", "svc", 1, Ttl::Persistent()));
  server->Kill();
  server->Restart();

  // Every caller finds the connection lost at once: one of them opens the
  // new one, the others wait for it and use it.
  constexpr int kThreads = 16;
  std::vector<absl::Status> statuses(kThreads);
  RunThreads(kThreads, [&](int thread) {
    statuses[thread] =
        executor->SetLinkedPod(ns, "u" + std::to_string(thread), "svc", 2, Ttl::Persistent())
            .status();
  });
  for (const absl::Status& status : statuses) EXPECT_OK(status);
  RawRedis raw(server->url());
  EXPECT_EQ(OtherClients(raw), 1);
}

TEST(SharedConnectionsTest, AWaitForReplicasHoldsBackNoOtherCall) {
  // No replica: WAIT 1 waits the whole replica_ack_timeout, on the server.
  auto server = RedisServer::Start();
  auto executor = OpenOrDie({.redis_url = server->url(),
                             .command_timeout = std::chrono::milliseconds(4000),
                             .pool_size = 1,
                             .replica_ack_timeout = std::chrono::milliseconds(1500)});
  const std::string ns = testing::UniqueNamespace();
  ASSERT_OK(executor->SetLinkedPod(ns, "other", "svc", 1, Ttl::Seconds(600)));

  std::atomic<bool> persistent_write_returned{false};
  absl::Status persistent_status;
  std::thread persistent_writer([&] {
    persistent_status = executor->SetLinkedPod(ns, "u", "svc", 1, Ttl::Persistent()).status();
    persistent_write_returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // its WAIT is on the server
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK_AND_ASSIGN(auto pod, executor->GetLinkedPod(ns, "other", "svc"));
    ASSERT_EQ(pod, 1);
  }
  EXPECT_FALSE(persistent_write_returned.load()) << "the reads waited for the WAIT of another call";
  persistent_writer.join();
  EXPECT_EQ(persistent_status.code(), absl::StatusCode::kUnavailable) << persistent_status;
}

}  // namespace
}  // namespace sfroute
