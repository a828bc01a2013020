// SPEC.md §9, Sentinel: every operation through redis-sentinel://, the
// sentinel credentials apart from the data nodes', sentinels that are down
// or know no such master, failovers under load (SENTINEL FAILOVER, a
// killed primary), the periodic check that takes a read-only client off a
// demoted master, and the CLI; and rediss-sentinel:// against a second
// deployment whose sentinels and data nodes speak TLS. One deployment (a primary, a replica, three
// sentinels) serves every test: failovers take seconds, and each test
// starts from whichever node is the master then.
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "deployment.h"
#include "failover_load.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keys.h"
#include "raw_redis.h"
#include "redis_sentinel.h"
#include "redis_server.h"
#include "sentinel/sentinel_backend.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"
#include "tls_certs.h"

namespace sfroute {
namespace {

using internal::LinkKey;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::AsyncLanes;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::OpenOrDie;
using testing::RedisSentinel;
using testing::RedisServer;
using testing::TlsCerts;
using testing::UniqueNamespace;
using testing::WriteLoad;

MATCHER_P(IsOkAndHolds, expected, "") {
  if (!arg.ok()) {
    *result_listener << arg.status();
    return false;
  }
  return *arg == expected;
}

RedisSentinel& Sentinel() {
  static std::unique_ptr<RedisSentinel> deployment = RedisSentinel::Start();
  return *deployment;
}

long long MillisSince(steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count();
}

std::uint64_t Counter(const MetricsSnapshot& metrics, const std::string& name) {
  for (const auto& row : metrics.labeled) {
    if (row.name == name) return row.value;
  }
  return 0;
}

// The log lines of an executor.
struct Log {
  std::mutex mutex;
  std::vector<std::string> lines;
  LogSink Sink() {
    return [this](LogLevel, std::string_view line) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.emplace_back(line);
    };
  }
  bool Has(const std::string& part) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& line : lines) {
      if (line.find(part) != std::string::npos) return true;
    }
    return false;
  }
};

void ExpectNoPassword(const absl::Status& status) {
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr(RedisSentinel::kDataPassword)));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr(RedisSentinel::kSentinelPassword)));
}

// The URL with its sentinels replaced by `sentinels` ("host:port,...").
std::string WithSentinels(const std::string& sentinels, const std::string& master = "mymaster",
                          const std::string& query = std::string("?sentinel_password=") +
                                                     RedisSentinel::kSentinelPassword) {
  return std::string("redis-sentinel://:") + RedisSentinel::kDataPassword + "@" + sentinels + "/" +
         master + query;
}

std::string AllSentinels() {
  std::string joined;
  for (const auto& address : Sentinel().sentinel_addresses()) {
    joined += (joined.empty() ? "" : ",") + address;
  }
  return joined;
}

// Every public operation through `url` (its db 3); the keys are checked on
// the master over its plain port.
void EveryOperationGoesToTheMasterInDb3(RedisSentinel& sentinel, const std::string& url) {
  ASSERT_TRUE(sentinel.WaitSettled());
  auto executor = OpenOrDie({.redis_url = url});
  const std::string ns = UniqueNamespace();

  ASSERT_OK(executor->SetServiceState(ns, "scene", 0, "3-100"));
  ASSERT_OK(executor->SetServiceStates(ns, {{"scene", {{1, "1-100"}}}, {"chat", {{2, "x"}}}}));
  EXPECT_THAT(executor->GetServiceState(ns, "scene"),
              IsOkAndHolds(PodStates{{0, "3-100"}, {1, "1-100"}}));
  auto states = executor->GetServiceStates(ns, {"scene", "chat"});
  ASSERT_OK(states);
  EXPECT_EQ((*states)["chat"], (PodStates{{2, "x"}}));
  ASSERT_OK(executor->SetWorkloadState(ns, "scene", "busy"));
  EXPECT_THAT(executor->GetWorkloadState(ns, "scene"),
              IsOkAndHolds(std::optional<std::string>("busy")));
  EXPECT_THAT(executor->GetWorkloadStates(ns, {"scene", "none"}),
              IsOkAndHolds(WorkloadStates{{"scene", "busy"}}));

  EXPECT_THAT(executor->SetLinkedPod(ns, "u1", "scene", 0, Ttl::Persistent()),
              IsOkAndHolds(std::nullopt));
  auto tried = executor->TrySetLinkedPod(ns, "u1", "scene", 5, Ttl::Persistent());
  ASSERT_OK(tried);
  EXPECT_FALSE(tried->applied);
  EXPECT_EQ(tried->pod, 0);
  EXPECT_THAT(executor->SetLinkedPodIfAbsent(ns, "u2", "scene", 7, Ttl::Seconds(60)),
              IsOkAndHolds(7));
  EXPECT_THAT(executor->GetLinkedPod(ns, "u2", "scene"), IsOkAndHolds(std::optional<PodIndex>(7)));
  EXPECT_THAT(executor->GetLinkedPodIfPersist(ns, "u2", "scene"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(executor->BatchGetLinkedPod(ns, {"u1", "u2", "u3"}, "scene"),
              IsOkAndHolds(PodUids{{0, {"u1"}}, {7, {"u2"}}}));
  EXPECT_THAT(executor->GetLinkService(ns, "u1"), IsOkAndHolds(ServicePods{{"scene", 0}}));
  EXPECT_THAT(executor->MoveLinkedPod(ns, "u1", "scene", 0, 4), IsOkAndHolds(true));
  int scanned = 0;
  ASSERT_OK(
      executor->ScanLinks(ns, "scene", std::nullopt, 10, [&](const std::vector<LinkInfo>& links) {
        scanned += static_cast<int>(links.size());
        return true;
      }));
  EXPECT_EQ(scanned, 2);
  // Pod 1 has the smaller weight of the two live states.
  EXPECT_THAT(executor->ComputeLinkedPodIfAbsent(ns, "u4", "scene", Ttl::Seconds(60), 50),
              IsOkAndHolds(std::optional<PodIndex>(1)));
  EXPECT_THAT(executor->RemoveLinkedPodWithId(ns, "u1", "scene", 0, 3), IsOkAndHolds(false));
  EXPECT_THAT(executor->RemoveLinkedPodWithId(ns, "u1", "scene", 0, 4), IsOkAndHolds(true));
  EXPECT_THAT(executor->RemoveLinkedPod(ns, "u2", "scene", 30), IsOkAndHolds(true));

  // The keys are on the master, in db 3, as a Java or Go service reads them.
  RedisServer* master = sentinel.Master();
  ASSERT_NE(master, nullptr);
  testing::RawRedis raw(master->url(), "", RedisSentinel::kDataPassword);
  ASSERT_EQ(raw.Command({"SELECT", "3"}).str, "OK");
  EXPECT_EQ(raw.Get(LinkKey(ns, "u4", "scene")), "1");
  EXPECT_GT(raw.Ttl(LinkKey(ns, "u2", "scene")), 0);  // kept 30 s
  EXPECT_FALSE(raw.Exists(LinkKey(ns, "u1", "scene")));
  EXPECT_EQ(raw.HGetAll(internal::StateKey(ns, "scene")).size(), 2u);
  ASSERT_EQ(raw.Command({"SELECT", "0"}).str, "OK");
  EXPECT_FALSE(raw.Exists(LinkKey(ns, "u4", "scene")));
}

TEST(SentinelTest, EveryOperationGoesToTheMasterInItsDb) {
  EveryOperationGoesToTheMasterInDb3(Sentinel(), Sentinel().url(/*db=*/3));
}

TEST(SentinelTest, UnknownMasterNameIsUnavailableNamingTheSentinelsAndTheMaster) {
  Sentinel();
  auto executor = OpenOrDie({.redis_url = WithSentinels(AllSentinels(), "nosuchmaster"),
                             .command_timeout = milliseconds(300)});
  const auto start = steady_clock::now();
  auto linked = executor->GetLinkedPod(UniqueNamespace(), "u", "svc");
  EXPECT_LT(MillisSince(start), 1000);
  ASSERT_EQ(linked.status().code(), absl::StatusCode::kUnavailable) << linked.status();
  EXPECT_THAT(std::string(linked.status().message()), HasSubstr("'nosuchmaster'"));
  EXPECT_THAT(std::string(linked.status().message()), HasSubstr("knows no master"));
  for (const auto& address : Sentinel().sentinel_addresses()) {
    EXPECT_THAT(std::string(linked.status().message()), HasSubstr(address));
  }
  ExpectNoPassword(linked.status());
}

TEST(SentinelTest, SentinelsThatAreDownAreSkipped) {
  Sentinel();
  const std::string dead = "127.0.0.1:" + std::to_string(testing::FreeLoopbackPort());
  Log log;
  auto executor =
      OpenOrDie({.redis_url = WithSentinels(dead + "," + AllSentinels()), .log_sink = log.Sink()});
  const std::string ns = UniqueNamespace();
  EXPECT_OK(executor->SetLinkedPod(ns, "u", "svc", 2, Ttl::Persistent()));
  EXPECT_THAT(executor->GetLinkedPod(ns, "u", "svc"), IsOkAndHolds(std::optional<PodIndex>(2)));
  EXPECT_TRUE(log.Has("sentinel " + dead + " skipped"));
  EXPECT_TRUE(log.Has("master 'mymaster' is 127.0.0.1:"));

  // Only dead sentinels: UNAVAILABLE, naming them.
  auto none = OpenOrDie({.redis_url = WithSentinels(dead), .command_timeout = milliseconds(200)});
  auto linked = none->GetLinkedPod(ns, "u", "svc");
  EXPECT_EQ(linked.status().code(), absl::StatusCode::kUnavailable) << linked.status();
  EXPECT_THAT(std::string(linked.status().message()), HasSubstr(dead));
}

TEST(SentinelTest, SentinelCredentialsAreApartFromTheDataNodes) {
  Sentinel();
  const std::string ns = UniqueNamespace();
  // No sentinel password: every sentinel says NOAUTH.
  auto no_password = OpenOrDie({.redis_url = WithSentinels(AllSentinels(), "mymaster", "")});
  auto refused = no_password->GetLinkedPod(ns, "u", "svc");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  ExpectNoPassword(refused.status());
  // The data password given to the sentinels: refused too.
  auto crossed = OpenOrDie({.redis_url = WithSentinels(AllSentinels(), "mymaster",
                                                       std::string("?sentinel_password=") +
                                                           RedisSentinel::kDataPassword)});
  refused = crossed->GetLinkedPod(ns, "u", "svc");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  ExpectNoPassword(refused.status());
  // The sentinel password given to the master: the master refuses it.
  auto wrong_data =
      OpenOrDie({.redis_url = std::string("redis-sentinel://:") + RedisSentinel::kSentinelPassword +
                              "@" + AllSentinels() +
                              "/mymaster?sentinel_password=" + RedisSentinel::kSentinelPassword});
  refused = wrong_data->GetLinkedPod(ns, "u", "svc");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("refused to log in"));
  ExpectNoPassword(refused.status());
  // Each its own: fine.
  auto right = OpenOrDie({.redis_url = Sentinel().url()});
  EXPECT_OK(right->GetLinkedPod(ns, "u", "svc"));
}

// The CLI's exit code and output of `sfroute --redis <url> <args...>`.
struct CliRun {
  int exit_code = -1;
  std::string out;
};
CliRun RunCli(const std::string& url, const std::string& args) {
  CliRun run;
#ifdef SFROUTE_CLI_PATH
  const std::string command =
      std::string(SFROUTE_CLI_PATH) + " --redis '" + url + "' " + args + " 2>&1";
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) run.out += buffer;
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
#endif
  return run;
}

TEST(SentinelTest, CliSetsAndGetsLinksThroughSentinel) {
#ifndef SFROUTE_CLI_PATH
  GTEST_SKIP() << "the CLI is not built";
#endif
  const std::string url = Sentinel().url();
  const std::string ns = UniqueNamespace();
  CliRun set = RunCli(url, "link set --ns " + ns + " --uid u1 --svc scene --pod 3 --ttl -1");
  EXPECT_EQ(set.exit_code, 0) << set.out;
  EXPECT_EQ(set.out, "{\"previous\":null}\n");
  CliRun get = RunCli(url, "link get --ns " + ns + " --uid u1 --svc scene");
  EXPECT_EQ(get.exit_code, 0) << get.out;
  EXPECT_EQ(get.out, "{\"pod\":3}\n");
  CliRun unknown = RunCli(WithSentinels(AllSentinels(), "nosuchmaster"),
                          "link get --ns " + ns + " --uid u1 --svc scene");
  EXPECT_EQ(unknown.exit_code, 3) << unknown.out;
  EXPECT_THAT(unknown.out, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(unknown.out, Not(HasSubstr(RedisSentinel::kDataPassword)));
  EXPECT_THAT(unknown.out, Not(HasSubstr(RedisSentinel::kSentinelPassword)));
}

// The load both failover tests put on the deployment, running from its
// construction: sync writers without and with replica_ack_timeout, and
// async lanes on the executor without.
struct FailoverLoad {
  explicit FailoverLoad(const std::string& url, LogSink log_sink = nullptr)
      : plain(OpenOrDie({.redis_url = url, .log_sink = std::move(log_sink)})),
        waiting(OpenOrDie({.redis_url = url, .replica_ack_timeout = milliseconds(300)})),
        ns(UniqueNamespace()),
        without_ack(*plain, ns, "p", [](const std::string&) { return true; }),
        with_ack(*waiting, ns, "w", [](const std::string&) { return true; }),
        lanes(*plain, ns, "a", 16) {
    without_ack.Start(2);
    with_ack.Start(2);
    lanes.Start();
    std::this_thread::sleep_for(milliseconds(300));
  }

  // Lets the load run on a little after the failover, then stops it.
  void Stop() {
    std::this_thread::sleep_for(milliseconds(300));
    without_ack.Stop();
    with_ack.Stop();
    lanes.Stop();
  }

  // Prints what each load lost and checks that writes resumed, no link
  // acknowledged with replica_ack_timeout was lost, and no call got
  // another's reply or an unexpected error.
  void ExpectNothingAcknowledgedLost(const std::string& what, long long resume_ms,
                                     long long ack_resume_ms) {
    const int lost_with_ack = with_ack.CountLost(*plain);
    const int lost_without_ack = without_ack.CountLost(*plain);
    const int lost_async = lanes.CountLost(*plain);
    std::cout << "[figures] " << what << ": lost acknowledged links: " << lost_with_ack << " of "
              << with_ack.acked() << " with replica_ack_timeout, " << lost_without_ack << " of "
              << without_ack.acked() << " without, " << lost_async << " of " << lanes.acked()
              << " async; errors " << with_ack.errors() << " / " << without_ack.errors() << " / "
              << lanes.errors() << " of " << with_ack.operations() << " / "
              << without_ack.operations() << " / " << lanes.operations() << " operations"
              << std::endl;
    EXPECT_GE(resume_ms, 0);
    EXPECT_GE(ack_resume_ms, 0);
    EXPECT_EQ(lost_with_ack, 0);
    EXPECT_EQ(lanes.mismatches(), 0);
    EXPECT_TRUE(without_ack.unexpected().empty()) << without_ack.unexpected().front();
    EXPECT_TRUE(with_ack.unexpected().empty()) << with_ack.unexpected().front();
    EXPECT_TRUE(lanes.unexpected().empty()) << lanes.unexpected().front();
  }

  std::unique_ptr<Executor> plain;
  std::unique_ptr<Executor> waiting;
  const std::string ns;
  WriteLoad without_ack;
  WriteLoad with_ack;
  AsyncLanes lanes;
};

TEST(SentinelTest, SentinelFailoverUnderLoad) {
  RedisSentinel& sentinel = Sentinel();
  ASSERT_TRUE(sentinel.WaitSettled());
  const int old_master = sentinel.Master()->port();
  const int new_master = sentinel.Replica()->port();
  Log log;
  FailoverLoad load(sentinel.url(), log.Sink());
  WriteLoad& without_ack = load.without_ack;
  WriteLoad& with_ack = load.with_ack;

  const auto start = steady_clock::now();
  ASSERT_TRUE(sentinel.StartFailover());
  ASSERT_TRUE(sentinel.WaitMaster(new_master));
  const long long failover_ms = MillisSince(start);
  without_ack.MarkEvent();
  with_ack.MarkEvent();
  // Until the old master replicates from the new one, writes that wait for
  // a replica fail. The sentinels turn it into a replica 8 s or more after
  // the switch; the test does it at once, and its clients, still connected
  // to it, see READONLY.
  ASSERT_TRUE(sentinel.MakeReplica(old_master, new_master));
  const long long resume_ms = without_ack.WaitResume(std::chrono::seconds(10));
  const long long ack_resume_ms = with_ack.WaitResume(std::chrono::seconds(10));
  load.Stop();

  std::cout << "[figures] SENTINEL FAILOVER: sentinels named the new master " << failover_ms
            << " ms after the command; writes resumed " << resume_ms << " ms after that ("
            << ack_resume_ms << " ms with replica_ack_timeout); slowest write "
            << std::max(without_ack.max_latency_ms(), with_ack.max_latency_ms()) << " ms"
            << std::endl;
  load.ExpectNothingAcknowledgedLost("SENTINEL FAILOVER", resume_ms, ack_resume_ms);

  const std::string moved = "moved from 127.0.0.1:" + std::to_string(old_master) +
                            " to 127.0.0.1:" + std::to_string(new_master);
  EXPECT_TRUE(log.Has(moved)) << moved;
  EXPECT_EQ(Counter(load.plain->Metrics(), "sfroute_sentinel_master_changes_total"), 1u);
  EXPECT_THAT(load.plain->MetricsText(), HasSubstr("sfroute_sentinel_master_changes_total 1\n"));
}

TEST(SentinelTest, KilledPrimaryUnderLoadWithAndWithoutReplicaAck) {
  RedisSentinel& sentinel = Sentinel();
  ASSERT_TRUE(sentinel.WaitSettled());
  RedisServer* victim = sentinel.Master();
  const int new_master = sentinel.Replica()->port();
  FailoverLoad load(sentinel.url());
  WriteLoad& without_ack = load.without_ack;
  WriteLoad& with_ack = load.with_ack;

  without_ack.MarkEvent();
  const auto start = steady_clock::now();
  victim->Kill();
  const long long resume_ms = without_ack.WaitResume(std::chrono::seconds(20));
  ASSERT_TRUE(sentinel.WaitMaster(new_master));
  const long long promoted_ms = MillisSince(start);
  // The new master has no replica until the old one is back as one: until
  // then every persistent write with replica_ack_timeout is refused. (The
  // sentinels would turn it into a replica themselves, 8 s or more after it
  // is back; the test does it at once.)
  with_ack.MarkEvent();
  victim->Restart();
  ASSERT_TRUE(sentinel.MakeReplica(victim->port(), new_master));
  const long long ack_resume_ms = with_ack.WaitResume(std::chrono::seconds(20));
  load.Stop();

  std::cout << "[figures] killed primary: writes resumed " << resume_ms
            << " ms after the kill (down-after-milliseconds 1000), the sentinels named the new "
            << "master after " << promoted_ms << " ms; with replica_ack_timeout writes resumed "
            << ack_resume_ms << " ms after the old primary restarted" << std::endl;
  load.ExpectNothingAcknowledgedLost("killed primary", resume_ms, ack_resume_ms);
}

// A client that only reads never sees an error from a demoted master (it
// answers reads, and the connection the sentinels closed is opened again
// at once): only the periodic check takes it to the new master.
TEST(SentinelTest, ReadOnlyClientFollowsTheMasterWithinSeconds) {
  RedisSentinel& sentinel = Sentinel();
  ASSERT_TRUE(sentinel.WaitSettled());
  auto executor = OpenOrDie({.redis_url = sentinel.url()});
  const std::string ns = UniqueNamespace();
  ASSERT_OK(executor->SetLinkedPod(ns, "u", "svc", 1, Ttl::Persistent()));
  ASSERT_THAT(executor->GetLinkedPod(ns, "u", "svc"), IsOkAndHolds(std::optional<PodIndex>(1)));
  const int old_master = sentinel.Master()->port();
  const int new_master = sentinel.Replica()->port();

  ASSERT_TRUE(sentinel.StartFailover());
  ASSERT_TRUE(sentinel.WaitMaster(new_master));
  const auto switched = steady_clock::now();
  // The old master, a replica now (its clients still connected), says pod 2
  // (a write of its own, which its master never sees); the new master says
  // pod 1.
  ASSERT_TRUE(sentinel.MakeReplica(old_master, new_master));
  ASSERT_TRUE(sentinel.Data(old_master, {"CONFIG", "SET", "replica-read-only", "no"}));
  ASSERT_TRUE(sentinel.Data(old_master, {"SET", LinkKey(ns, "u", "svc"), "2"}));
  long long followed_ms = -1;
  std::optional<PodIndex> last;
  int raced = 0;  // reads out on the old master's connection when the client moved
  while (MillisSince(switched) < 10000) {
    auto linked = executor->GetLinkedPod(ns, "u", "svc");
    // The client's move ends the calls still out on the old master's
    // connection: UNAVAILABLE, as for any lost connection (one read is out
    // at a time here, so at most one).
    if (!linked.ok() && linked.status().code() == absl::StatusCode::kUnavailable &&
        absl::StrContains(linked.status().message(), "moved")) {
      ++raced;
      continue;
    }
    ASSERT_OK(linked);
    last = *linked;
    if (*linked == std::optional<PodIndex>(1)) {
      followed_ms = MillisSince(switched);
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  for (int i = 0; i < 20 && followed_ms >= 0; ++i) {
    EXPECT_THAT(executor->GetLinkedPod(ns, "u", "svc"), IsOkAndHolds(std::optional<PodIndex>(1)));
  }
  sentinel.Data(old_master, {"CONFIG", "SET", "replica-read-only", "yes"});
  std::cout << "[figures] a read-only client read from the new master " << followed_ms
            << " ms after the sentinels named it (check period "
            << internal::SentinelBackend::kRecheckPeriod.count() << " ms)" << std::endl;
  EXPECT_LE(raced, 1);
  EXPECT_GE(followed_ms, 0) << "still reading from the demoted master: pod "
                            << (last.has_value() ? std::to_string(*last) : "none");
  EXPECT_LT(followed_ms, 5000);
}

// rediss-sentinel://: a second deployment, with TLS ports on every process.
// The sentinels are addressed as localhost, and name the data nodes by IP
// (127.0.0.1) and TLS port; every connection is checked against the URL's
// host (SPEC.md §9), which the test certificate holds.
const TlsCerts& Certs() {
  static std::unique_ptr<TlsCerts> certs = TlsCerts::Make();
  return *certs;
}

RedisSentinel& TlsSentinel() {
  static std::unique_ptr<RedisSentinel> deployment =
      RedisSentinel::Start(RedisSentinel::Config{.tls = &Certs()});
  return *deployment;
}

// The sentinels watch the data nodes over TLS (tls-replication yes), so
// they name the master's TLS port, the one a rediss-sentinel:// client needs.
TEST(SentinelTlsTest, SentinelsNameTheMastersTlsPort) {
  RedisSentinel& sentinel = TlsSentinel();
  ASSERT_TRUE(sentinel.WaitSettled());
  RedisServer* master = sentinel.Master();
  ASSERT_NE(master, nullptr);
  auto reply = sentinel.Ask(0, {"SENTINEL", "get-master-addr-by-name", "mymaster"});
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->elements.size(), 2u);
  std::cout << "[figures] over TLS, SENTINEL get-master-addr-by-name says "
            << reply->elements[0].str << ":" << reply->elements[1].str << " (plain port "
            << master->port() << ", TLS port " << sentinel.Announced(master->port()) << ")"
            << std::endl;
  EXPECT_EQ(reply->elements[0].str, "127.0.0.1");
  EXPECT_EQ(reply->elements[1].str, std::to_string(sentinel.Announced(master->port())));
  EXPECT_NE(sentinel.Announced(master->port()), master->port());
}

TEST(SentinelTlsTest, EveryOperationGoesToTheMasterOverTls) {
  RedisSentinel& sentinel = TlsSentinel();
  EveryOperationGoesToTheMasterInDb3(sentinel, sentinel.tls_url(/*db=*/3));
}

TEST(SentinelTlsTest, WrongCaIsUnavailableNamingTheTlsProblem) {
  RedisSentinel& sentinel = TlsSentinel();
  std::string url = sentinel.tls_url();
  const std::string ca = "tls_ca=";
  url = url.substr(0, url.find(ca)) + ca + Certs().Cert("other-ca");
  auto executor = OpenOrDie({.redis_url = url, .command_timeout = milliseconds(1000)});
  auto linked = executor->GetLinkedPod(UniqueNamespace(), "u", "svc");
  ASSERT_EQ(linked.status().code(), absl::StatusCode::kUnavailable) << linked.status();
  EXPECT_THAT(std::string(linked.status().message()), HasSubstr("not signed by a trusted CA"));
  EXPECT_THAT(std::string(linked.status().message()),
              HasSubstr(sentinel.sentinel_tls_addresses().front()));
  ExpectNoPassword(linked.status());
}

// The master the sentinels name is checked too, against the same name: with
// a certificate for another host on the master only, the sentinels answer
// and the master is refused, naming the problem.
TEST(SentinelTlsTest, MasterWithACertificateForAnotherNameIsUnavailableNamingIt) {
  RedisSentinel& sentinel = TlsSentinel();
  ASSERT_TRUE(sentinel.WaitSettled());
  const int master = sentinel.Master()->port();
  auto set_cert = [&](const std::string& name) {
    auto reply = sentinel.Data(master, {"CONFIG", "SET", "tls-cert-file", Certs().Cert(name),
                                        "tls-key-file", Certs().Key(name)});
    return reply.has_value() && reply->type != testing::RawReply::Type::kError;
  };
  ASSERT_TRUE(set_cert("wrong"));
  auto executor =
      OpenOrDie({.redis_url = sentinel.tls_url(), .command_timeout = milliseconds(1000)});
  auto linked = executor->GetLinkedPod(UniqueNamespace(), "u", "svc");
  ASSERT_TRUE(set_cert("server"));
  // The named master is retried as during a failover until the deadline
  // (docs/sentinel.md): UNAVAILABLE or DEADLINE_EXCEEDED, with the reason.
  EXPECT_THAT(linked.status().code(),
              ::testing::AnyOf(absl::StatusCode::kUnavailable, absl::StatusCode::kDeadlineExceeded))
      << linked.status();
  const std::string message(linked.status().message());
  EXPECT_THAT(message, HasSubstr("127.0.0.1:" + std::to_string(sentinel.Announced(master))));
  EXPECT_THAT(message, HasSubstr("the server's certificate is not for localhost"));
  ExpectNoPassword(linked.status());
  // The right certificate again: fine.
  auto right = OpenOrDie({.redis_url = sentinel.tls_url()});
  EXPECT_OK(right->GetLinkedPod(UniqueNamespace(), "u", "svc"));
}

// Each sentinel is checked against the host the URL gives it by (SPEC.md
// §9: the URL's host), not the first sentinel's: here a sentinel whose
// certificate holds 127.0.0.1 only, listed as 127.0.0.1 after a first
// sentinel listed as localhost (down). The master, announced by IP, is
// checked against the URL's first host, localhost, as before.
TEST(SentinelTlsTest, EachSentinelIsCheckedAgainstItsOwnHost) {
  RedisSentinel& sentinel = TlsSentinel();
  ASSERT_TRUE(sentinel.WaitSettled());
  const int master = sentinel.Announced(sentinel.Master()->port());
  // A sentinel of its own, watching the same master under another name
  // (the deployment's sentinels ignore its hellos), without a password.
  const int tls_port = testing::FreeLoopbackPort();
  std::ostringstream config;
  config << "sentinel monitor other 127.0.0.1 " << master << " 1\n"
         << "sentinel auth-pass other " << RedisSentinel::kDataPassword << "\n"
         << "tls-port " << tls_port << "\n"
         << "tls-cert-file " << Certs().Cert("ip-only") << "\n"
         << "tls-key-file " << Certs().Key("ip-only") << "\n"
         << "tls-ca-cert-file " << Certs().Cert("ca") << "\n"
         << "tls-auth-clients no\n"
         << "tls-replication yes\n";
  auto own = RedisServer::StartSentinel(config.str());
  const std::string dead = "localhost:" + std::to_string(testing::FreeLoopbackPort());
  const std::string url = std::string("rediss-sentinel://:") + RedisSentinel::kDataPassword + "@" +
                          dead + ",127.0.0.1:" + std::to_string(tls_port) +
                          "/other?tls_ca=" + Certs().Cert("ca");
  Log log;
  auto executor = OpenOrDie({.redis_url = url, .log_sink = log.Sink()});
  const std::string ns = UniqueNamespace();
  EXPECT_OK(executor->SetLinkedPod(ns, "u", "svc", 3, Ttl::Persistent()));
  EXPECT_THAT(executor->GetLinkedPod(ns, "u", "svc"), IsOkAndHolds(std::optional<PodIndex>(3)));
  EXPECT_TRUE(log.Has("master 'other' is 127.0.0.1:" + std::to_string(master)));

  // The same sentinel listed as localhost: its certificate is not for it.
  auto as_localhost =
      OpenOrDie({.redis_url = std::string("rediss-sentinel://:") + RedisSentinel::kDataPassword +
                              "@localhost:" + std::to_string(tls_port) +
                              "/other?tls_ca=" + Certs().Cert("ca"),
                 .command_timeout = milliseconds(1000)});
  auto refused = as_localhost->GetLinkedPod(ns, "u", "svc");
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("the server's certificate is not for localhost (it is for IP"));
}

// A sentinel that watches the master's plain port (no tls-replication)
// names that port: rediss-sentinel:// then says the port is not TLS. (The
// plain port may wait for the end of a line the ClientHello lacks: the
// handshake's wait is the connect timeout, which must end before the
// call's deadline for the reason to show; with both at their default of
// 1000 ms the call says only that its deadline passed.)
TEST(SentinelTlsTest, SentinelNamingAPlainPortGivesAPlainPortError) {
  RedisSentinel& sentinel = TlsSentinel();
  ASSERT_TRUE(sentinel.WaitSettled());
  const int plain = sentinel.Master()->port();
  const int tls_port = testing::FreeLoopbackPort();
  std::ostringstream config;
  config << "sentinel monitor plain 127.0.0.1 " << plain << " 1\n"
         << "sentinel auth-pass plain " << RedisSentinel::kDataPassword << "\n"
         << "tls-port " << tls_port << "\n"
         << "tls-cert-file " << Certs().Cert("server") << "\n"
         << "tls-key-file " << Certs().Key("server") << "\n"
         << "tls-ca-cert-file " << Certs().Cert("ca") << "\n"
         << "tls-auth-clients no\n";
  auto own = RedisServer::StartSentinel(config.str());
  auto executor =
      OpenOrDie({.redis_url = std::string("rediss-sentinel://:") + RedisSentinel::kDataPassword +
                              "@localhost:" + std::to_string(tls_port) +
                              "/plain?tls_ca=" + Certs().Cert("ca"),
                 .connect_timeout = milliseconds(300),
                 .command_timeout = milliseconds(2000)});
  auto linked = executor->GetLinkedPod(UniqueNamespace(), "u", "svc");
  // The named master is retried as during a failover until the deadline
  // (docs/sentinel.md): UNAVAILABLE or DEADLINE_EXCEEDED, with the reason.
  EXPECT_THAT(linked.status().code(),
              ::testing::AnyOf(absl::StatusCode::kUnavailable, absl::StatusCode::kDeadlineExceeded))
      << linked.status();
  const std::string message(linked.status().message());
  EXPECT_THAT(message, HasSubstr("127.0.0.1:" + std::to_string(plain)));
  EXPECT_THAT(message, ::testing::AnyOf(HasSubstr("does not speak TLS"),
                                        HasSubstr("is the port a TLS port?")));
}

TEST(SentinelTlsTest, CallsResumeOnTheNewMasterAfterAFailoverOverTls) {
  RedisSentinel& sentinel = TlsSentinel();
  ASSERT_TRUE(sentinel.WaitSettled());
  const int old_master = sentinel.Master()->port();
  const int new_master = sentinel.Replica()->port();
  Log log;
  auto executor = OpenOrDie({.redis_url = sentinel.tls_url(), .log_sink = log.Sink()});
  const std::string ns = UniqueNamespace();
  ASSERT_OK(executor->SetLinkedPod(ns, "before", "svc", 1, Ttl::Persistent()));
  // On the replica before it is promoted.
  auto acked = sentinel.Data(old_master, {"WAIT", "1", "2000"});
  ASSERT_TRUE(acked.has_value());
  ASSERT_EQ(acked->integer, 1);

  const auto start = steady_clock::now();
  ASSERT_TRUE(sentinel.StartFailover());
  ASSERT_TRUE(sentinel.WaitMaster(new_master));
  ASSERT_TRUE(sentinel.MakeReplica(old_master, new_master));
  long long resumed_ms = -1;
  while (MillisSince(start) < 20000) {
    if (executor->SetLinkedPod(ns, "after", "svc", 2, Ttl::Persistent()).ok()) {
      resumed_ms = MillisSince(start);
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::cout << "[figures] over TLS, a write succeeded " << resumed_ms
            << " ms after SENTINEL FAILOVER" << std::endl;
  ASSERT_GE(resumed_ms, 0);
  EXPECT_THAT(executor->GetLinkedPod(ns, "before", "svc"),
              IsOkAndHolds(std::optional<PodIndex>(1)));
  testing::RawRedis raw("redis://127.0.0.1:" + std::to_string(new_master), "",
                        RedisSentinel::kDataPassword);
  EXPECT_EQ(raw.Get(LinkKey(ns, "after", "svc")), "2");
  const std::string moved =
      "moved from 127.0.0.1:" + std::to_string(sentinel.Announced(old_master)) +
      " to 127.0.0.1:" + std::to_string(sentinel.Announced(new_master));
  EXPECT_TRUE(log.Has(moved)) << moved;
}

}  // namespace
}  // namespace sfroute
