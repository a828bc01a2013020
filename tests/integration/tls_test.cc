// TLS (SPEC.md §9) against real redis-servers on loopback ports, with
// certificates the test makes (tls_certs.h): every operation over rediss://
// and rediss-cluster:// (keys checked over the servers' plain ports: Debian's
// hiredis has no TLS), each TLS failure's message and how soon it comes, the
// verification modes, tls_sni, client certificates, many threads on one TLS
// connection, and the CLI.
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "deployment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "raw_redis.h"
#include "redis_cluster.h"
#include "redis_server.h"
#include "sfroute/sfroute.h"
#include "spec_keys.h"
#include "status_matchers.h"
#include "tls_certs.h"

namespace {

using ::sfroute::Executor;
using ::sfroute::Options;
using ::sfroute::PodIndex;
using ::sfroute::Ttl;
using ::sfroute::testing::OpenRawStore;
using ::sfroute::testing::RawRedis;
using ::sfroute::testing::RawStore;
using ::sfroute::testing::RedisCluster;
using ::sfroute::testing::RedisServer;
using ::sfroute::testing::TlsCerts;
using ::sfroute::testing::UniqueNamespace;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::Pair;

constexpr milliseconds kConnectTimeout{600};

const std::shared_ptr<const TlsCerts>& Certs() {
  static const std::shared_ptr<const TlsCerts> certs = TlsCerts::Make();
  return certs;
}

// A redis-server with a plain port (the harness's, for raw checks) and a
// TLS port serving certificate `cert`.
struct TlsServer {
  int tls_port = 0;
  std::unique_ptr<RedisServer> server;
};

TlsServer StartTlsServer(const std::string& cert = "server", bool require_client_cert = false) {
  TlsServer started;
  started.tls_port = sfroute::testing::FreeLoopbackPort();
  started.server =
      RedisServer::Start(Certs()->ServerArgs(started.tls_port, cert, require_client_cert));
  return started;
}

// The server most tests share: certificate for localhost, no client cert.
const TlsServer& SharedTlsServer() {
  static const TlsServer server = StartTlsServer();
  return server;
}

std::string Url(int port, const std::string& query, const std::string& host = "localhost") {
  return "rediss://" + host + ":" + std::to_string(port) + (query.empty() ? "" : "?" + query);
}
std::string TrustTestCa() { return "tls_ca=" + Certs()->Cert("ca"); }

absl::StatusOr<std::unique_ptr<Executor>> Open(const std::string& url) {
  Options options;
  options.redis_url = url;
  options.connect_timeout = kConnectTimeout;
  return Executor::Open(options);
}

// What the first call through `url` gets, and how long it took.
struct FirstCall {
  absl::Status status;
  milliseconds took{0};
};
FirstCall CallThrough(const std::string& url) {
  auto executor = Open(url);
  if (!executor.ok()) return {executor.status(), milliseconds(0)};
  const auto start = steady_clock::now();
  absl::Status status = (*executor)->GetLinkedPod("n", "u", "scene").status();
  return {status, std::chrono::duration_cast<milliseconds>(steady_clock::now() - start)};
}

// An UNAVAILABLE within the connect timeout (plus room for a loaded
// machine), naming the node and containing every one of `parts`.
void ExpectRefused(const std::string& url, int port, const std::vector<std::string>& parts) {
  const FirstCall call = CallThrough(url);
  SCOPED_TRACE(url);
  EXPECT_EQ(call.status.code(), absl::StatusCode::kUnavailable) << call.status;
  EXPECT_LE(call.took, kConnectTimeout + milliseconds(400)) << call.status;
  const std::string message(call.status.message());
  EXPECT_THAT(message, HasSubstr(":" + std::to_string(port)));
  for (const std::string& part : parts) EXPECT_THAT(message, HasSubstr(part));
}

MATCHER_P(IsOkAndHolds, inner, "") {
  if (!arg.ok()) {
    *result_listener << "status " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(inner, *arg, result_listener);
}

class TlsTest : public ::testing::Test, public sfroute::testing::SpecKeys {
 protected:
  void SetUp() override { ns_ = UniqueNamespace(); }

  // Every operation of the API once through `ex`, each result checked, and
  // what it stored checked from outside through `raw`.
  void EveryOperation(Executor& ex, RawStore& raw) {
    const std::int64_t now_ms = std::chrono::duration_cast<milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    const std::string fresh = std::to_string(now_ms);
    // States.
    ASSERT_OK(ex.SetServiceState(ns_, "scene", 0, "5-" + fresh));
    ASSERT_OK(ex.SetServiceStates(ns_, {{"scene", {{1, "3-" + fresh}}}, {"match", {{0, "1-1"}}}}));
    EXPECT_EQ(raw.HGetAll(StateKey("scene")),
              (std::map<std::string, std::string>{{"0", "5-" + fresh}, {"1", "3-" + fresh}}));
    ASSERT_OK_AND_ASSIGN(auto scene, ex.GetServiceState(ns_, "scene"));
    EXPECT_THAT(scene, ElementsAre(Pair(0, "5-" + fresh), Pair(1, "3-" + fresh)));
    ASSERT_OK_AND_ASSIGN(auto states, ex.GetServiceStates(ns_, {"scene", "match"}));
    EXPECT_EQ(states.size(), 2u);
    EXPECT_THAT(states["match"], ElementsAre(Pair(0, "1-1")));
    ASSERT_OK(ex.SetWorkloadState(ns_, "scene", "open"));
    EXPECT_EQ(raw.Get(WorkloadKey("scene")), "open");
    EXPECT_THAT(ex.GetWorkloadState(ns_, "scene"), IsOkAndHolds(Optional(std::string("open"))));
    ASSERT_OK_AND_ASSIGN(auto workloads, ex.GetWorkloadStates(ns_, {"scene", "match"}));
    EXPECT_THAT(workloads, ElementsAre(Pair("scene", "open")));

    // Links.
    EXPECT_THAT(ex.SetLinkedPod(ns_, "u1", "scene", 2, Ttl::Persistent()),
                IsOkAndHolds(std::optional<PodIndex>()));
    EXPECT_EQ(raw.Get(LinkKey("u1", "scene")), "2");
    EXPECT_EQ(raw.Ttl(LinkKey("u1", "scene")), -1);
    EXPECT_EQ(raw.HGetAll(LinksHashKey("u1")),
              (std::map<std::string, std::string>{{"scene", "2"}}));
    ASSERT_OK_AND_ASSIGN(auto tried, ex.TrySetLinkedPod(ns_, "u1", "scene", 3, Ttl::Persistent()));
    EXPECT_FALSE(tried.applied);
    EXPECT_EQ(tried.pod, 2);
    EXPECT_THAT(ex.SetLinkedPodIfAbsent(ns_, "u2", "scene", 4, Ttl::Seconds(60)), IsOkAndHolds(4));
    const long long ttl = raw.Ttl(LinkKey("u2", "scene"));
    EXPECT_TRUE(ttl > 0 && ttl <= 60) << ttl;
    ASSERT_OK_AND_ASSIGN(auto writes,
                         ex.SetLinkedPods(ns_, "scene", {{"u3", 5}, {"u4", 0}}, Ttl::Persistent()));
    ASSERT_EQ(writes.size(), 2u);
    EXPECT_OK(writes[0].status);
    EXPECT_OK(writes[1].status);
    EXPECT_EQ(raw.Get(LinkKey("u4", "scene")), "0");
    EXPECT_THAT(ex.GetLinkedPod(ns_, "u3", "scene"), IsOkAndHolds(Optional(5)));
    EXPECT_THAT(ex.GetLinkedPodIfPersist(ns_, "u2", "scene"),
                IsOkAndHolds(std::optional<PodIndex>()));
    ASSERT_OK_AND_ASSIGN(auto by_pod,
                         ex.BatchGetLinkedPod(ns_, {"u1", "u3", "u4", "none"}, "scene"));
    EXPECT_THAT(by_pod, ElementsAre(Pair(0, ElementsAre("u4")), Pair(2, ElementsAre("u1")),
                                    Pair(5, ElementsAre("u3"))));
    EXPECT_THAT(ex.GetLinkService(ns_, "u1"), IsOkAndHolds(ElementsAre(Pair("scene", 2))));
    // Pod 1 has the smaller weight (3 < 5); both are fresh.
    EXPECT_THAT(ex.ComputeLinkedPodIfAbsent(ns_, "u5", "scene", Ttl::Seconds(60), now_ms - 60000),
                IsOkAndHolds(Optional(1)));
    EXPECT_EQ(raw.Get(LinkKey("u5", "scene")), "1");
    EXPECT_THAT(ex.MoveLinkedPod(ns_, "u1", "scene", 2, 6), IsOkAndHolds(true));
    EXPECT_EQ(raw.Get(LinkKey("u1", "scene")), "6");
    ASSERT_OK_AND_ASSIGN(auto moved,
                         ex.MoveTemporaryLinkedPod(ns_, "u2", "scene", 4, 7, Ttl::Seconds(60)));
    EXPECT_TRUE(moved.moved);
    EXPECT_THAT(moved.pod, Optional(7));
    EXPECT_THAT(ex.RemoveLinkedPod(ns_, "u3", "scene", 0), IsOkAndHolds(true));
    EXPECT_FALSE(raw.Exists(LinkKey("u3", "scene")));
    EXPECT_THAT(ex.RemoveLinkedPodWithId(ns_, "u4", "scene", 0, 0), IsOkAndHolds(true));
    EXPECT_FALSE(raw.Exists(LinkKey("u4", "scene")));
    std::map<std::string, PodIndex> scanned;
    ASSERT_OK(ex.ScanLinks(ns_, "scene", std::nullopt, 100, [&](const auto& links) {
      for (const auto& link : links) scanned[link.uid] = link.pod;
      return true;
    }));
    EXPECT_THAT(scanned, ElementsAre(Pair("u1", 6), Pair("u2", 7), Pair("u5", 1)));
    absl::Notification done;
    absl::StatusOr<std::optional<PodIndex>> async_pod;
    ex.GetLinkedPodAsync(ns_, "u1", "scene", [&](absl::StatusOr<std::optional<PodIndex>> pod) {
      async_pod = std::move(pod);
      done.Notify();
    });
    done.WaitForNotification();
    EXPECT_THAT(async_pod, IsOkAndHolds(Optional(6)));

    for (const std::string& key : raw.Keys(NamespacePattern())) raw.Command({"DEL", key});
  }
};

TEST_F(TlsTest, EveryOperationOnStandalone) {
  const TlsServer& tls = SharedTlsServer();
  auto executor = Open(Url(tls.tls_port, TrustTestCa()));
  ASSERT_OK(executor);
  RawRedis raw(tls.server->url());
  EveryOperation(**executor, raw);
}

TEST_F(TlsTest, EveryOperationOnCluster) {
  // Redis 7.0 announces the TLS ports in CLUSTER SLOTS (and MOVED) to TLS
  // clients: the executor follows them; raw access goes to the plain ones.
  auto cluster = RedisCluster::Start({.primaries = 3, .replicas_per_primary = 0, .tls = Certs()});
  // Seeds by IP: every node's certificate is checked against 127.0.0.1.
  auto executor = Open(cluster->tls_url() + "?" + TrustTestCa());
  ASSERT_OK(executor);
  auto raw = OpenRawStore(cluster->url());
  EveryOperation(**executor, *raw);
  // The links landed on several primaries (so several TLS connections).
  std::vector<std::string> uids;
  for (int i = 0; i < 60; ++i) uids.push_back("spread-" + std::to_string(i));
  std::vector<sfroute::UidPod> links;
  for (const auto& uid : uids) links.push_back({uid, 1});
  ASSERT_OK_AND_ASSIGN(auto writes,
                       (*executor)->SetLinkedPods(ns_, "scene", links, Ttl::Seconds(60)));
  for (const auto& write : writes) EXPECT_OK(write.status);
  std::map<int, int> per_primary;
  for (const auto& uid : uids)
    ++per_primary[cluster->PrimaryOfSlot(
        static_cast<int>(raw->Command({"CLUSTER", "KEYSLOT", LinkKey(uid, "scene")}).integer))];
  EXPECT_EQ(per_primary.size(), 3u);
  ASSERT_OK_AND_ASSIGN(auto pods, (*executor)->BatchGetLinkedPod(ns_, uids, "scene"));
  EXPECT_EQ(pods[1].size(), uids.size());
}

// Large replies (several TLS records per read) and many threads writing and
// reading one TLS connection at once.
TEST_F(TlsTest, ManyThreadsAndLargeRepliesOnOneConnection) {
  const TlsServer& tls = SharedTlsServer();
  auto executor = Open(Url(tls.tls_port, TrustTestCa()));
  ASSERT_OK(executor);
  Executor& ex = **executor;
  sfroute::PodStates big;
  for (PodIndex pod = 0; pod < 40; ++pod) big[pod] = std::string(4000, 'a' + pod % 26);
  ASSERT_OK(ex.SetServiceStates(ns_, {{"scene", big}}));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        const std::string uid = "t" + std::to_string(t) + "-" + std::to_string(i % 10);
        if (!ex.SetLinkedPod(ns_, uid, "scene", i, Ttl::Persistent()).ok()) ++failures;
        auto pod = ex.GetLinkedPod(ns_, uid, "scene");
        if (!pod.ok() || *pod != std::optional<PodIndex>(i)) ++failures;
        if (i % 25 == 0) {
          auto states = ex.GetServiceState(ns_, "scene");
          if (!states.ok() || *states != big) ++failures;
        }
      }
    });
  }
  // And async calls beside them: 2000 in flight at once.
  constexpr int kAsync = 2000;
  std::atomic<int> async_done{0};
  std::atomic<int> async_failures{0};
  absl::Notification all_done;
  for (int i = 0; i < kAsync; ++i) {
    ex.SetLinkedPodAsync(ns_, "a" + std::to_string(i), "scene", i, Ttl::Seconds(60),
                         [&](absl::StatusOr<std::optional<PodIndex>> previous) {
                           if (!previous.ok()) ++async_failures;
                           if (++async_done == kAsync) all_done.Notify();
                         });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(async_failures.load(), 0);
  RawRedis raw(tls.server->url());
  EXPECT_EQ(raw.Get(LinkKey("t3-9", "scene")), "149");
  EXPECT_EQ(raw.Get(LinkKey("a1999", "scene")), "1999");
  for (const std::string& key : raw.Keys(NamespacePattern())) raw.Command({"DEL", key});
}

TEST_F(TlsTest, ConnectionKilledByTheServerIsReplaced) {
  const TlsServer& tls = SharedTlsServer();
  auto executor = Open(Url(tls.tls_port, TrustTestCa()));
  ASSERT_OK(executor);
  ASSERT_OK((*executor)->SetLinkedPod(ns_, "u", "scene", 1, Ttl::Persistent()));
  RawRedis raw(tls.server->url());
  ASSERT_GE(raw.Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}).integer, 1);
  // The first call may find the connection dead; a later one gets a new one.
  absl::StatusOr<std::optional<PodIndex>> pod;
  for (int i = 0; i < 3; ++i) {
    pod = (*executor)->GetLinkedPod(ns_, "u", "scene");
    if (pod.ok()) break;
  }
  EXPECT_THAT(pod, IsOkAndHolds(Optional(1)));
  raw.Command({"DEL", LinkKey("u", "scene"), LinksHashKey("u")});
}

TEST(TlsFailureTest, TlsToAPlainPort) {
  const TlsServer& tls = SharedTlsServer();
  // Redis waits for the end of a line that the ClientHello may never have;
  // when it has one, it answers -ERR: either way, a plain port.
  ExpectRefused(Url(tls.server->port(), TrustTestCa()), tls.server->port(),
                {"TLS", "use redis://"});
}

TEST(TlsFailureTest, PlainToATlsPort) {
  const TlsServer& tls = SharedTlsServer();
  ExpectRefused("redis://127.0.0.1:" + std::to_string(tls.tls_port), tls.tls_port,
                {"use rediss://"});
}

TEST(TlsFailureTest, UntrustedCa) {
  const TlsServer& tls = SharedTlsServer();
  ExpectRefused(
      Url(tls.tls_port, "tls_ca=" + Certs()->Cert("other-ca")), tls.tls_port,
      {"not signed by a trusted CA", "sfroute-test-ca", "set tls_ca", Certs()->Cert("other-ca")});
  // The system's store (no tls_ca) does not have the test CA either.
  ExpectRefused(Url(tls.tls_port, ""), tls.tls_port,
                {"not signed by a trusted CA", "system's CA store"});
}

TEST(TlsFailureTest, WrongHostName) {
  TlsServer wrong = StartTlsServer("wrong");
  ExpectRefused(Url(wrong.tls_port, TrustTestCa()), wrong.tls_port,
                {"not for localhost", "wrong.example", "tls_sni", "tls_verify=ca"});
  // An IP is checked against the certificate's IP addresses.
  ExpectRefused(Url(wrong.tls_port, TrustTestCa(), "127.0.0.1"), wrong.tls_port,
                {"not for 127.0.0.1"});
}

TEST(TlsFailureTest, ExpiredCertificate) {
  TlsServer expired = StartTlsServer("expired");
  ExpectRefused(Url(expired.tls_port, TrustTestCa()), expired.tls_port, {"expired", "2020"});
  // tls_verify=ca checks the chain, dates included.
  ExpectRefused(Url(expired.tls_port, TrustTestCa() + "&tls_verify=ca"), expired.tls_port,
                {"expired"});
}

TEST(TlsFailureTest, ServerRequiresAClientCertificate) {
  // TLS 1.3: the client's handshake is done before the server checks the
  // client's certificate; its alert comes with the log-in's reply.
  TlsServer strict = StartTlsServer("server", /*require_client_cert=*/true);
  ExpectRefused(Url(strict.tls_port, TrustTestCa()), strict.tls_port,
                {"requires a client certificate", "tls_cert and tls_key"});
  // TLS 1.2: during the handshake.
  TlsServer strict12 = [] {
    TlsServer started;
    started.tls_port = sfroute::testing::FreeLoopbackPort();
    auto args = Certs()->ServerArgs(started.tls_port, "server", true);
    args.insert(args.end(), {"--tls-protocols", "TLSv1.2"});
    started.server = RedisServer::Start(args);
    return started;
  }();
  ExpectRefused(Url(strict12.tls_port, TrustTestCa()), strict12.tls_port,
                {"client certificate", "tls_cert and tls_key"});
}

TEST(TlsVerifyTest, ClientCertificateIsAccepted) {
  TlsServer strict = StartTlsServer("server", /*require_client_cert=*/true);
  auto executor = Open(Url(strict.tls_port, TrustTestCa() + "&tls_cert=" + Certs()->Cert("client") +
                                                "&tls_key=" + Certs()->Key("client")));
  ASSERT_OK(executor);
  EXPECT_OK((*executor)->SetWorkloadState("n-cert", "scene", "open"));
  EXPECT_EQ(RawRedis(strict.server->url()).Get("sf:{n-cert:workload:scene}"), "open");
}

TEST(TlsVerifyTest, VerifyCaAcceptsAnotherName) {
  TlsServer wrong = StartTlsServer("wrong");
  auto executor = Open(Url(wrong.tls_port, TrustTestCa() + "&tls_verify=ca"));
  ASSERT_OK(executor);
  EXPECT_OK((*executor)->GetLinkedPod("n", "u", "scene").status());
  // ... but not another CA.
  ExpectRefused(Url(wrong.tls_port, "tls_ca=" + Certs()->Cert("other-ca") + "&tls_verify=ca"),
                wrong.tls_port, {"not signed by a trusted CA"});
}

TEST(TlsVerifyTest, SniNamesTheCertificatesHost) {
  // Reached by IP, checked (and SNI sent) as wrong.example.
  TlsServer wrong = StartTlsServer("wrong");
  auto executor = Open(Url(wrong.tls_port, TrustTestCa() + "&tls_sni=wrong.example", "127.0.0.1"));
  ASSERT_OK(executor);
  EXPECT_OK((*executor)->GetLinkedPod("n", "u", "scene").status());
}

TEST(TlsVerifyTest, VerifyNoneAcceptsAnything) {
  TlsServer expired = StartTlsServer("expired");
  TlsServer wrong = StartTlsServer("wrong");
  for (int port : {expired.tls_port, wrong.tls_port}) {
    auto executor = Open(Url(port, "tls_verify=none"));
    ASSERT_OK(executor);
    EXPECT_OK((*executor)->GetLinkedPod("n", "u", "scene").status()) << port;
  }
}

TEST(TlsOptionsTest, FilesThatCannotBeUsedAreInvalidArguments) {
  const TlsServer& tls = SharedTlsServer();
  auto expect_invalid = [&](const std::string& query, const std::vector<std::string>& parts) {
    auto executor = Open(Url(tls.tls_port, query));
    SCOPED_TRACE(query);
    ASSERT_FALSE(executor.ok());
    EXPECT_EQ(executor.status().code(), absl::StatusCode::kInvalidArgument) << executor.status();
    for (const auto& part : parts) EXPECT_THAT(executor.status().message(), HasSubstr(part));
  };
  const std::string missing = Certs()->dir() + "/missing.pem";
  expect_invalid("tls_ca=" + missing, {"tls_ca", missing, "No such file"});
  expect_invalid("tls_ca=" + Certs()->Key("ca"), {"tls_ca", Certs()->Key("ca")});
  expect_invalid("tls_cert=" + missing + "&tls_key=" + Certs()->Key("client"),
                 {"tls_cert", missing});
  expect_invalid("tls_cert=" + Certs()->Cert("client") + "&tls_key=" + missing,
                 {"tls_key", missing});
  expect_invalid("tls_cert=" + Certs()->Cert("client") + "&tls_key=" + Certs()->Key("server"),
                 {"tls_key", "is not the key of tls_cert"});
  expect_invalid("tls_cert=" + Certs()->Cert("client"), {"tls_cert", "tls_key"});
  // The same through Options::tls.
  Options options;
  options.redis_url = Url(tls.tls_port, "");
  options.tls.ca_file = missing;
  auto executor = Executor::Open(options);
  EXPECT_EQ(executor.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(executor.status().message(), HasSubstr("tls_ca"));
}

#ifdef SFROUTE_CLI_PATH
// Runs the CLI with `--redis <url> <args>`: its exit code and its output.
std::pair<int, std::string> RunCli(const std::string& url, const std::string& args) {
  const std::string command =
      std::string(SFROUTE_CLI_PATH) + " --redis '" + url + "' " + args + " 2>&1";
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string out;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The CLI's --redis takes a rediss:// URL as it is.
TEST_F(TlsTest, CliSetsAndGetsALinkOverTls) {
  const TlsServer& tls = SharedTlsServer();
  const std::string url = Url(tls.tls_port, TrustTestCa());
  const std::string link = "--ns " + ns_ + " --uid u1 --svc scene";
  auto set = RunCli(url, "link set " + link + " --pod 4 --ttl -1");
  EXPECT_EQ(set.first, 0) << set.second;
  auto get = RunCli(url, "link get " + link);
  EXPECT_EQ(get.first, 0) << get.second;
  EXPECT_THAT(get.second, HasSubstr("{\"pod\":4}"));
  RawRedis raw(tls.server->url());
  EXPECT_EQ(raw.Get(LinkKey("u1", "scene")), "4");
  // A TLS failure: exit code 3 (Redis unreachable) and the message.
  auto refused =
      RunCli(Url(tls.tls_port, "tls_ca=" + Certs()->Cert("other-ca")), "link get " + link);
  EXPECT_EQ(refused.first, 3) << refused.second;
  EXPECT_THAT(refused.second, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(refused.second, HasSubstr("not signed by a trusted CA"));
  raw.Command({"DEL", LinkKey("u1", "scene"), LinksHashKey("u1")});
}
#endif

}  // namespace
