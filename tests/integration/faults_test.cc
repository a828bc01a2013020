// Faults of the server and of the data: NOSCRIPT, restarts, a server that
// stops answering, corrupt values, missing rights (SPEC.md §3).
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "deployment.h"
#include "gtest/gtest.h"
#include "raw_redis.h"
#include "redis_server.h"
#include "scripts.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace sfroute {
namespace {

using testing::MessageHas;
using testing::OpenOrDie;
using testing::RawRedis;
using testing::RedisServer;

TEST(FaultsTest, ScriptFlushBetweenCallsIsInvisibleToTheCaller) {
  auto server = RedisServer::Start();  // SCRIPT FLUSH would disturb other tests
  RawRedis raw(server->url());
  auto executor = OpenOrDie({.redis_url = server->url()});
  const std::string ns = testing::UniqueNamespace();
  ASSERT_OK(executor->SetLinkedPod(ns, "u", "svc", 1, Ttl::Persistent()));

  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(raw.Command({"SCRIPT", "FLUSH"}).str, "OK");
    ASSERT_OK_AND_ASSIGN(TrySetResult result,
                         executor->TrySetLinkedPod(ns, "u", "svc", 1, Ttl::Persistent()));
    EXPECT_TRUE(result.applied);
    ASSERT_EQ(raw.Command({"SCRIPT", "FLUSH"}).str, "OK");
    ASSERT_OK_AND_ASSIGN(auto persistent, executor->GetLinkedPodIfPersist(ns, "u", "svc"));
    EXPECT_EQ(persistent, 1);
  }
  ASSERT_EQ(raw.Command({"SCRIPT", "FLUSH"}).str, "OK");
  ASSERT_OK_AND_ASSIGN(auto batch,
                       executor->SetLinkedPods(ns, "svc", {{"a", 1}, {"b", 2}}, Ttl::Persistent()));
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_OK(batch[0].status);
  EXPECT_OK(batch[1].status);
  EXPECT_EQ(raw.Get("sf:{" + ns + ":lk:b}svc"), "2");
  ASSERT_EQ(raw.Command({"SCRIPT", "FLUSH"}).str, "OK");
  ASSERT_OK_AND_ASSIGN(bool removed, executor->RemoveLinkedPod(ns, "u", "svc", 0));
  EXPECT_TRUE(removed);
  EXPECT_FALSE(raw.Exists("sf:{" + ns + ":lk:u}svc"));
  // The script that ran last is loaded again for the next EVALSHA.
  const auto exists = raw.Command({"SCRIPT", "EXISTS", internal::GetScript("remove_link").sha1});
  ASSERT_EQ(exists.elements.size(), 1u);
  EXPECT_EQ(exists.elements[0].integer, 1);
}

TEST(FaultsTest, ServerRestartIsUnavailableThenRecoversWithTheSameExecutor) {
  auto server = RedisServer::Start();
  auto executor = OpenOrDie({.redis_url = server->url()});
  const std::string ns = testing::UniqueNamespace();
  ASSERT_OK(executor->SetLinkedPod(ns, "u", "svc", 4, Ttl::Persistent()));

  server->Kill();
  EXPECT_STATUS_CODE(executor->GetLinkedPod(ns, "u", "svc"), UNAVAILABLE);
  auto failed = executor->SetLinkedPod(ns, "u", "svc", 5, Ttl::Persistent());
  EXPECT_STATUS_CODE(failed, UNAVAILABLE);
  EXPECT_TRUE(MessageHas(failed.status(), "SetLinkedPod(sf:{" + ns + ":lk:u}svc)"))
      << failed.status();

  server->Restart();  // an empty server: it was started without persistence
  // The pooled connections died with the old process; the first call works.
  ASSERT_OK_AND_ASSIGN(auto previous, executor->SetLinkedPod(ns, "u", "svc", 6, Ttl::Persistent()));
  EXPECT_EQ(previous, std::nullopt);
  ASSERT_OK_AND_ASSIGN(auto pod, executor->GetLinkedPod(ns, "u", "svc"));
  EXPECT_EQ(pod, 6);
}

TEST(FaultsTest, UnreachableServerIsUnavailable) {
  auto executor = OpenOrDie({.redis_url = "redis://127.0.0.1:1"});
  auto result = executor->GetLinkedPod("ns", "u", "svc");
  EXPECT_STATUS_CODE(result, UNAVAILABLE);
  EXPECT_TRUE(MessageHas(result.status(), "127.0.0.1:1")) << result.status();
}

TEST(FaultsTest, ServerThatStopsAnsweringGivesDeadlineExceeded) {
  auto server = RedisServer::Start();  // CLIENT PAUSE stops every client
  RawRedis raw(server->url());
  const auto timeout = std::chrono::milliseconds(300);
  auto executor = OpenOrDie({.redis_url = server->url(), .command_timeout = timeout});
  const std::string ns = testing::UniqueNamespace();
  ASSERT_OK(executor->GetLinkedPod(ns, "u", "svc"));  // a pooled connection exists

  ASSERT_EQ(raw.Command({"CLIENT", "PAUSE", "1500", "ALL"}).str, "OK");
  const auto start = std::chrono::steady_clock::now();
  auto result = executor->GetLinkedPod(ns, "u", "svc");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_STATUS_CODE(result, DEADLINE_EXCEEDED);
  EXPECT_GE(elapsed, timeout - std::chrono::milliseconds(50));
  EXPECT_LT(elapsed, timeout + std::chrono::milliseconds(500));

  std::this_thread::sleep_for(std::chrono::milliseconds(1600));  // the pause ends
  ASSERT_OK_AND_ASSIGN(auto previous, executor->SetLinkedPod(ns, "u", "svc", 2, Ttl::Persistent()));
  EXPECT_EQ(previous, std::nullopt);
}

TEST(FaultsTest, CorruptStoredPodIsDataLoss) {
  RawRedis raw(testing::SharedRedisUrl());
  auto executor = OpenOrDie({.redis_url = testing::SharedRedisUrl()});
  const std::string ns = testing::UniqueNamespace();
  const std::string key = "sf:{" + ns + ":lk:u}svc";
  raw.Command({"SET", key, "abc"});

  auto get = executor->GetLinkedPod(ns, "u", "svc");
  EXPECT_STATUS_CODE(get, DATA_LOSS);
  EXPECT_TRUE(MessageHas(get.status(), key)) << get.status();
  EXPECT_STATUS_CODE(executor->GetLinkedPodIfPersist(ns, "u", "svc"), DATA_LOSS);
  // Set-if-absent and a rejected try-set keep the corrupt value: nothing written.
  EXPECT_STATUS_CODE(executor->SetLinkedPodIfAbsent(ns, "u", "svc", 1, Ttl::Persistent()),
                     DATA_LOSS);
  EXPECT_STATUS_CODE(executor->TrySetLinkedPod(ns, "u", "svc", 1, Ttl::Persistent()), DATA_LOSS);
  EXPECT_EQ(raw.Get(key), "abc");
  EXPECT_TRUE(raw.HGetAll("sf:{" + ns + ":lk:u}").empty());
  // SetLinkedPod always links: it repairs the key.
  ASSERT_OK_AND_ASSIGN(auto previous, executor->SetLinkedPod(ns, "u", "svc", 1, Ttl::Persistent()));
  EXPECT_EQ(previous, std::nullopt);
  EXPECT_EQ(raw.Get(key), "1");

  // A value of the wrong Redis type is corrupt too.
  raw.Command({"DEL", key});
  raw.Command({"HSET", key, "f", "v"});
  EXPECT_STATUS_CODE(executor->GetLinkedPod(ns, "u", "svc"), DATA_LOSS);
  EXPECT_STATUS_CODE(executor->SetLinkedPod(ns, "u", "svc", 1, Ttl::Persistent()), DATA_LOSS);
}

TEST(FaultsTest, AclUserWithoutRightsIsPermissionDenied) {
  const std::string url = testing::SharedRedisUrl();
  RawRedis raw(url);
  const std::string user = testing::UniqueNamespace();
  ASSERT_EQ(raw.Command({"ACL", "SETUSER", user, "on", ">pw-" + user, "~other:*", "+@all"}).str,
            "OK");
  const std::string host_port = url.substr(std::string("redis://").size());
  auto executor = OpenOrDie({.redis_url = "redis://" + user + ":pw-" + user + "@" + host_port});
  const std::string ns = testing::UniqueNamespace();
  EXPECT_STATUS_CODE(executor->GetLinkedPod(ns, "u", "svc"), PERMISSION_DENIED);
  EXPECT_STATUS_CODE(executor->SetLinkedPod(ns, "u", "svc", 1, Ttl::Persistent()),
                     PERMISSION_DENIED);
  EXPECT_STATUS_CODE(executor->SetServiceState(ns, "svc", 1, "1-1"), PERMISSION_DENIED);
  EXPECT_FALSE(raw.Exists("sf:{" + ns + ":lk:u}svc"));
  raw.Command({"ACL", "DELUSER", user});
}

TEST(FaultsTest, PasswordsAreCheckedAndNeverShown) {
  auto server = RedisServer::Start({"--requirepass", "s3cret-pw"});
  const std::string host_port = server->url().substr(std::string("redis://").size());

  auto no_password = OpenOrDie({.redis_url = server->url()});
  EXPECT_STATUS_CODE(no_password->GetLinkedPod("ns", "u", "svc"), PERMISSION_DENIED);

  auto wrong = OpenOrDie({.redis_url = "redis://:wrong-pw@" + host_port});
  auto result = wrong->GetLinkedPod("ns", "u", "svc");
  EXPECT_STATUS_CODE(result, PERMISSION_DENIED);
  EXPECT_FALSE(MessageHas(result.status(), "wrong-pw")) << result.status();

  auto right = OpenOrDie({.redis_url = "redis://:s3cret-pw@" + host_port + "/2"});
  ASSERT_OK(right->SetLinkedPod("ns", "u", "svc", 9, Ttl::Persistent()));
  RawRedis raw(server->url(), "", "s3cret-pw");
  raw.Command({"SELECT", "2"});
  EXPECT_EQ(raw.Get("sf:{ns:lk:u}svc"), "9");  // written to db 2
}

TEST(FaultsTest, InvalidOptionsAreRejectedAtOpen) {
  EXPECT_STATUS_CODE(Executor::Open({.redis_url = "http://x"}), INVALID_ARGUMENT);
  EXPECT_STATUS_CODE(Executor::Open({.pool_size = 0}), INVALID_ARGUMENT);
  EXPECT_STATUS_CODE(Executor::Open({.command_timeout = std::chrono::milliseconds(0)}),
                     INVALID_ARGUMENT);
}

}  // namespace
}  // namespace sfroute
