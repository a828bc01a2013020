// What an attacker (or a careless writer sharing the Redis) tried, and what
// the library must do: no partial writes from a failing script, wrong-type
// keys reported rather than read as absent, bounded messages, exact error
// codes for refused rights and missing databases, no password in any
// message. The tests with data run on every deployment (deployment.h).
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "deployment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "raw_redis.h"
#include "redis_server.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace sfroute {
namespace {

using testing::DeploymentParamName;
using testing::Deployments;
using testing::DeploymentTest;
using ::testing::HasSubstr;
using testing::MessageHas;
using testing::OpenOrDie;
using testing::RawRedis;
using testing::RawReply;
using testing::RedisServer;

// Log lines an executor sent to its sink.
class LogCapture {
 public:
  LogSink Sink() {
    return [this](LogLevel level, std::string_view message) {
      absl::MutexLock lock(&mutex_);
      lines_.emplace_back(level, std::string(message));
    };
  }
  std::vector<std::pair<LogLevel, std::string>> Lines() {
    absl::MutexLock lock(&mutex_);
    return lines_;
  }
  bool WarnedAbout(std::string_view text) {
    for (const auto& [level, line] : Lines()) {
      if (level == LogLevel::kWarning && line.find(text) != std::string::npos) return true;
    }
    return false;
  }

 private:
  absl::Mutex mutex_;
  std::vector<std::pair<LogLevel, std::string>> lines_ ABSL_GUARDED_BY(mutex_);
};

class HardeningTest : public DeploymentTest {
 protected:
  // The raw state of a uid's two link keys, to compare before and after.
  struct LinkKeys {
    std::string link_type, links_type;
    std::optional<std::string> link;
    long long link_ttl;
    // The TTL counts down while the test runs: a second either way is the
    // same TTL.
    bool operator==(const LinkKeys& other) const {
      return link_type == other.link_type && links_type == other.links_type && link == other.link &&
             std::abs(link_ttl - other.link_ttl) <= 1;
    }
  };
  LinkKeys Snapshot(const std::string& uid, const std::string& svc) {
    return {raw().Type(LinkKey(uid, svc)), raw().Type(LinksHashKey(uid)),
            raw().Type(LinkKey(uid, svc)) == "string" ? raw().Get(LinkKey(uid, svc)) : std::nullopt,
            raw().Ttl(LinkKey(uid, svc))};
  }
};

// The links hash of a uid holds a string: every link write that would touch
// it fails with DATA_LOSS, and the link key is left exactly as it was —
// a script's earlier writes are not rolled back when a later one fails.
TEST_P(HardeningTest, LinkWritesFailBeforeTheirFirstWriteWhenTheLinksHashHasAnotherType) {
  ASSERT_EQ(raw().Command({"SET", LinksHashKey("u1"), "not a hash"}).str, "OK");
  ASSERT_EQ(raw().Command({"SET", LinkKey("u1", "scene"), "4", "EX", "100"}).str, "OK");
  const LinkKeys before = Snapshot("u1", "scene");

  for (Ttl ttl : {Ttl::Persistent(), Ttl::Seconds(60)}) {
    SCOPED_TRACE(ttl.seconds());
    auto set = ex().SetLinkedPod(ns_, "u1", "scene", 7, ttl);
    EXPECT_STATUS_CODE(set, DATA_LOSS);
    EXPECT_TRUE(MessageHas(set.status(), LinksHashKey("u1"))) << set.status();
    EXPECT_STATUS_CODE(ex().TrySetLinkedPod(ns_, "u1", "scene", 7, ttl), DATA_LOSS);
    EXPECT_EQ(Snapshot("u1", "scene"), before);
    ASSERT_OK_AND_ASSIGN(auto batch, ex().SetLinkedPods(ns_, "scene", {{"u1", 7}}, ttl));
    ASSERT_EQ(batch.size(), 1u);
    EXPECT_STATUS_CODE(batch[0].status, DATA_LOSS);
    EXPECT_EQ(Snapshot("u1", "scene"), before);
  }
  // Set-if-absent on a uid with no link would write: the same.
  EXPECT_STATUS_CODE(ex().SetLinkedPodIfAbsent(ns_, "u1", "other", 7, Ttl::Persistent()),
                     DATA_LOSS);
  EXPECT_FALSE(raw().Exists(LinkKey("u1", "other")));
  for (std::int64_t keep : {0, 30}) {
    EXPECT_STATUS_CODE(ex().RemoveLinkedPod(ns_, "u1", "scene", keep), DATA_LOSS);
    EXPECT_STATUS_CODE(ex().RemoveLinkedPodWithId(ns_, "u1", "scene", keep, 4), DATA_LOSS);
    EXPECT_EQ(Snapshot("u1", "scene"), before);
  }
  // Calls that would not write anything still answer.
  ASSERT_OK_AND_ASSIGN(PodIndex linked,
                       ex().SetLinkedPodIfAbsent(ns_, "u1", "scene", 7, Ttl::Persistent()));
  EXPECT_EQ(linked, 4);
  ASSERT_OK_AND_ASSIGN(bool removed, ex().RemoveLinkedPodWithId(ns_, "u1", "scene", 0, 9));
  EXPECT_FALSE(removed);
}

TEST_P(HardeningTest, BatchGetWarnsAboutALinkKeyOfAnotherType) {
  LogCapture log;
  Options options = ExecutorOptions();
  options.log_sink = log.Sink();
  auto executor = OpenOrDie(options);
  ASSERT_OK(executor->SetLinkedPod(ns_, "u1", "scene", 3, Ttl::Persistent()));
  ASSERT_EQ(raw().Command({"HSET", LinkKey("u2", "scene"), "f", "v"}).integer, 1);
  ASSERT_OK_AND_ASSIGN(PodUids pods, executor->BatchGetLinkedPod(ns_, {"u1", "u2"}, "scene"));
  EXPECT_EQ(pods, (PodUids{{3, {"u1"}}}));
  EXPECT_TRUE(log.WarnedAbout(LinkKey("u2", "scene")));
  // The single read says what it is.
  EXPECT_STATUS_CODE(executor->GetLinkedPod(ns_, "u2", "scene"), DATA_LOSS);
}

TEST_P(HardeningTest, WorkloadStateOfAnotherTypeIsDataLossAndABatchWarns) {
  LogCapture log;
  Options options = ExecutorOptions();
  options.log_sink = log.Sink();
  auto executor = OpenOrDie(options);
  ASSERT_OK(executor->SetWorkloadState(ns_, "chat", "up"));
  ASSERT_EQ(raw().Command({"HSET", WorkloadKey("scene"), "f", "v"}).integer, 1);
  auto state = executor->GetWorkloadState(ns_, "scene");
  EXPECT_STATUS_CODE(state, DATA_LOSS);
  EXPECT_TRUE(MessageHas(state.status(), WorkloadKey("scene"))) << state.status();
  ASSERT_OK_AND_ASSIGN(WorkloadStates states, executor->GetWorkloadStates(ns_, {"chat", "scene"}));
  EXPECT_EQ(states, (WorkloadStates{{"chat", "up"}}));
  EXPECT_TRUE(log.WarnedAbout(WorkloadKey("scene")));
}

// A 2 MB corrupt value gives a message of a few hundred bytes, not 2 MB.
TEST_P(HardeningTest, MessagesQuoteOnlyAShortPrefixOfAValue) {
  LogCapture log;
  Options options = ExecutorOptions();
  options.log_sink = log.Sink();
  auto executor = OpenOrDie(options);
  const std::string huge(2 << 20, 'x');
  ASSERT_EQ(raw().Command({"SET", LinkKey("u1", "scene"), huge}).str, "OK");
  auto pod = executor->GetLinkedPod(ns_, "u1", "scene");
  EXPECT_STATUS_CODE(pod, DATA_LOSS);
  EXPECT_LT(pod.status().message().size(), 512u);
  EXPECT_TRUE(MessageHas(pod.status(), "2097152 bytes")) << pod.status();
  EXPECT_STATUS_CODE(executor->GetLinkedPodIfPersist(ns_, "u1", "scene"), DATA_LOSS);
  EXPECT_STATUS_CODE(executor->SetLinkedPodIfAbsent(ns_, "u1", "scene", 1, Ttl::Seconds(5)),
                     DATA_LOSS);
  ASSERT_OK(executor->BatchGetLinkedPod(ns_, {"u1"}, "scene"));
  ASSERT_OK(executor->SetLinkedPod(ns_, "u1", "scene", 1, Ttl::Seconds(5)));  // overwrites it
  ASSERT_EQ(raw().Command({"HSET", LinksHashKey("u2"), "scene", huge}).integer, 1);
  ASSERT_OK(executor->GetLinkService(ns_, "u2"));
  ASSERT_EQ(raw().Command({"HSET", LinksHashKey("u3"), huge, "1"}).integer, 1);
  ASSERT_OK(executor->GetLinkService(ns_, "u3"));
  const auto lines = log.Lines();
  EXPECT_GE(lines.size(), 3u);
  for (const auto& [level, line] : lines) EXPECT_LT(line.size(), 1024u) << line.substr(0, 200);
}

INSTANTIATE_TEST_SUITE_P(, HardeningTest, ::testing::ValuesIn(Deployments()),
                         DeploymentParamName());

// --- Rights: an ACL user that may not run one of a script's writes ---------

class AclTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::SharedRedisUrl();
    raw_ = std::make_unique<RawRedis>(url_);
    ns_ = testing::UniqueNamespace();
  }
  // A user allowed everything on the namespace's keys but `denied`.
  std::unique_ptr<Executor> OpenAs(const std::string& user, const std::string& denied) {
    const std::string password = "pw-" + user;
    const RawReply set = raw_->Command({"ACL", "SETUSER", user, "reset", "on", ">" + password,
                                        "~sf:{" + ns_ + ":*", "+@all", "-" + denied});
    EXPECT_EQ(set.str, "OK") << set.str;
    users_.push_back(user);
    Options options;
    options.redis_url = "redis://" + user + ":" + password + "@" + url_.substr(8);
    return OpenOrDie(options);
  }
  void TearDown() override {
    for (const std::string& user : users_) raw_->Command({"ACL", "DELUSER", user});
  }
  std::string Key(const std::string& uid, const std::string& svc = "") {
    return "sf:{" + ns_ + ":lk:" + uid + "}" + svc;
  }

  std::string url_, ns_;
  std::unique_ptr<RawRedis> raw_;
  std::vector<std::string> users_;
};

TEST_F(AclTest, AWriteTheUserMayNotRunFailsTheScriptBeforeItWritesAnything) {
  ASSERT_EQ(raw_->Command({"SET", Key("u1", "scene"), "4"}).str, "OK");
  ASSERT_EQ(raw_->Command({"HSET", Key("u1"), "scene", "4"}).integer, 1);
  struct Case {
    std::string denied;
    Ttl ttl;
  };
  for (const Case& c : {Case{"hset", Ttl::Persistent()}, Case{"hdel", Ttl::Seconds(60)},
                        Case{"set", Ttl::Persistent()}, Case{"set", Ttl::Seconds(60)}}) {
    SCOPED_TRACE(c.denied + " " + std::to_string(c.ttl.seconds()));
    auto executor = OpenAs(testing::UniqueNamespace().substr(0, 40) + c.denied, c.denied);
    auto set = executor->SetLinkedPod(ns_, "u1", "scene", 7, c.ttl);
    EXPECT_STATUS_CODE(set, PERMISSION_DENIED);
    // Same pod: a try-set that would apply (and maybe change persistence).
    EXPECT_STATUS_CODE(executor->TrySetLinkedPod(ns_, "u1", "scene", 4, c.ttl), PERMISSION_DENIED);
    EXPECT_EQ(raw_->Get(Key("u1", "scene")), "4");
    EXPECT_EQ(raw_->Ttl(Key("u1", "scene")), -1);
    EXPECT_EQ(raw_->HGetAll(Key("u1")), (std::map<std::string, std::string>{{"scene", "4"}}));
  }
  for (const std::string denied : {"hdel", "del", "expire"}) {
    SCOPED_TRACE(denied);
    auto executor = OpenAs(testing::UniqueNamespace().substr(0, 40) + denied, denied);
    for (std::int64_t keep : {0, 30}) {
      // keep 0 deletes (DEL), keep > 0 leaves a grace period (EXPIRE).
      if (denied == (keep > 0 ? "del" : "expire")) continue;
      EXPECT_STATUS_CODE(executor->RemoveLinkedPod(ns_, "u1", "scene", keep), PERMISSION_DENIED);
      EXPECT_EQ(raw_->Get(Key("u1", "scene")), "4");
      EXPECT_EQ(raw_->Ttl(Key("u1", "scene")), -1);
      EXPECT_EQ(raw_->HGetAll(Key("u1")).size(), 1u);
    }
  }
}

// Refused by the ACL at the top (EVALSHA itself) or inside a script: both
// are PERMISSION_DENIED, never INTERNAL.
TEST_F(AclTest, RefusalsArePermissionDeniedWhereverTheyHappen) {
  auto no_scripts = OpenAs(testing::UniqueNamespace().substr(0, 40) + "s", "evalsha");
  EXPECT_STATUS_CODE(no_scripts->SetLinkedPod(ns_, "u", "scene", 1, Ttl::Persistent()),
                     PERMISSION_DENIED);
  auto no_get = OpenAs(testing::UniqueNamespace().substr(0, 40) + "g", "get");
  // GET inside get_link_if_persist.lua: "ERR The user executing the script
  // can't run this command" on Redis 7.0.
  auto in_script = no_get->GetLinkedPodIfPersist(ns_, "u", "scene");
  EXPECT_STATUS_CODE(in_script, PERMISSION_DENIED);
  EXPECT_STATUS_CODE(no_get->GetLinkedPod(ns_, "u", "scene"), PERMISSION_DENIED);
}

// --- Connections ----------------------------------------------------------

TEST(DatabaseTest, ADatabaseTheServerDoesNotHaveIsNamedInTheError) {
  auto server = RedisServer::Start({"--databases", "4"});
  auto executor = OpenOrDie({.redis_url = server->url() + "/99"});
  auto pod = executor->GetLinkedPod("ns", "u", "svc");
  EXPECT_STATUS_CODE(pod, INVALID_ARGUMENT);
  EXPECT_TRUE(MessageHas(pod.status(), "db 99")) << pod.status();
  auto in_range = OpenOrDie({.redis_url = server->url() + "/3"});
  EXPECT_OK(in_range->GetLinkedPod("ns", "u", "svc"));
}

// Passwords with the characters that used to end a redaction (',', space,
// quotes) appear in no message: wrong password, unreachable server, bad URL.
TEST(SecretsTest, NoPasswordInAnyMessage) {
  const std::string secret = "s3cr3t";
  auto server = RedisServer::Start({"--requirepass", "right"});
  const std::string host_port = server->url().substr(8);
  for (const std::string& password :
       {"ab," + secret, "ab " + secret, "ab\"" + secret, "ab'" + secret, "ab%2C" + secret}) {
    SCOPED_TRACE(password);
    LogCapture log;
    for (const std::string& url :
         {"redis://:" + password + "@" + host_port,
          "redis://u:" + password + "@" + host_port + "/1", "redis://:" + password + "@127.0.0.1:1",
          "redis://:" + password + "@" + host_port + "/x",
          "redis-cluster://:" + password + "@" + host_port + ",127.0.0.1:1"}) {
      Options options{.redis_url = url, .log_sink = log.Sink()};
      options.connect_timeout = options.command_timeout = std::chrono::milliseconds(300);
      auto executor = Executor::Open(options);
      if (!executor.ok()) {
        EXPECT_FALSE(MessageHas(executor.status(), secret)) << executor.status();
        continue;
      }
      auto result = (*executor)->SetLinkedPod("ns", "u", "svc", 1, Ttl::Persistent());
      EXPECT_FALSE(result.ok());
      EXPECT_FALSE(MessageHas(result.status(), secret)) << result.status();
      EXPECT_FALSE(MessageHas((*executor)->GetLinkedPod("ns", "u", "svc").status(), secret));
    }
    for (const auto& [level, line] : log.Lines()) EXPECT_EQ(line.find(secret), std::string::npos);
  }
}

}  // namespace
}  // namespace sfroute
