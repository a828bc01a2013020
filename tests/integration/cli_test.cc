// End-to-end tests of the sfroute CLI (SPEC.md §5): the built binary runs as
// a child process against a real redis-server; its stdout, stderr and exit
// code are checked, and the keys it wrote are read back with a plain hiredis
// client.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "raw_redis.h"
#include "redis_cluster.h"
#include "redis_server.h"
#include "sfroute/sfroute.h"
#include "spec_keys.h"

// cli_test sees tools/sfroute/cli.h when it links sfroute_cli_lib.
#if __has_include("cli.h")
#include <iostream>
#include <sstream>

#include "cli.h"
#include "observability.h"
#define SFROUTE_CLI_IN_PROCESS 1
#endif

extern char** environ;

namespace sfroute::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A temp file the child writes one stream to; files (rather than pipes)
// cannot fill up and block the child while the parent waits.
class CaptureFile {
 public:
  CaptureFile() {
    char path[] = "/tmp/sfroute-cli-test-XXXXXX";
    fd_ = mkstemp(path);
    if (fd_ >= 0) unlink(path);
  }
  ~CaptureFile() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }
  std::string Read() const {
    std::string text;
    char buffer[4096];
    ssize_t n;
    for (off_t offset = 0; (n = pread(fd_, buffer, sizeof(buffer), offset)) > 0; offset += n) {
      text.append(buffer, n);
    }
    return text;
  }

 private:
  int fd_ = -1;
};

// The environment of the child: ours without $SFROUTE_REDIS (which the
// machine running the tests might set), plus `sfroute_redis` when given.
std::vector<std::string> ChildEnvironment(const std::optional<std::string>& sfroute_redis) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view variable = *entry;
    if (variable.starts_with("SFROUTE_REDIS=") || variable.starts_with("SFROUTE_CLUSTER=")) {
      continue;
    }
    env.emplace_back(*entry);
  }
  if (sfroute_redis.has_value()) env.push_back("SFROUTE_REDIS=" + *sfroute_redis);
  return env;
}

std::vector<char*> NullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Runs the CLI with exactly `args` (no --redis added).
CliResult RunCliRaw(std::vector<std::string> args,
                    const std::optional<std::string>& sfroute_redis = {}) {
  args.insert(args.begin(), SFROUTE_CLI_PATH);
  std::vector<std::string> env = ChildEnvironment(sfroute_redis);
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<char*> argv = NullTerminated(args);
  std::vector<char*> envp = NullTerminated(env);
  CaptureFile out, err;
  CliResult result;
  if (out.fd() < 0 || err.fd() < 0) {
    ADD_FAILURE() << "cannot create capture files";
    return result;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out.fd(), STDOUT_FILENO);
    dup2(err.fd(), STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
    ADD_FAILURE() << "the CLI did not run to an exit (status " << status << ")";
    return result;
  }
  result.exit_code = WEXITSTATUS(status);
  result.out = out.Read();
  result.err = err.Read();
  return result;
}

// Checks a failed run: nothing on stdout, one JSON error line on stderr with
// `code` and a message containing `message_part`, and exit code `exit_code`.
void ExpectError(const CliResult& result, int exit_code, const std::string& code,
                 const std::string& message_part) {
  EXPECT_EQ(result.exit_code, exit_code) << result.err;
  EXPECT_EQ(result.out, "");
  ASSERT_FALSE(result.err.empty());
  EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << result.err;
  nlohmann::json error = nlohmann::json::parse(result.err, nullptr, false);
  ASSERT_FALSE(error.is_discarded()) << result.err;
  ASSERT_TRUE(error.contains("error")) << result.err;
  EXPECT_EQ(error["error"].value("code", ""), code) << result.err;
  EXPECT_THAT(error["error"].value("message", ""), HasSubstr(message_part));
}

void ExpectUsageError(const CliResult& result, const std::string& message_part) {
  ExpectError(result, 2, "INVALID_ARGUMENT", message_part);
}

class CliTest : public ::testing::Test, public SpecKeys {
 protected:
  CliTest() { ns_ = UniqueNamespace(); }

  // Runs the CLI against the shared server.
  CliResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--redis", url_});
    return RunCliRaw(std::move(args));
  }

  // Runs a command that must succeed and print exactly `expected_json`.
  void ExpectOutput(std::vector<std::string> args, const std::string& expected_json) {
    CliResult result = Run(std::move(args));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, expected_json + "\n");
    EXPECT_EQ(result.err, "");
  }

  void SetLink(const std::string& uid, const std::string& svc, int pod, int ttl) {
    ExpectSuccess({"link", "set", "--ns", ns_, "--uid", uid, "--svc", svc, "--pod",
                   std::to_string(pod), "--ttl", std::to_string(ttl)});
  }

  void SetState(const std::string& svc, int pod, const std::string& state) {
    ExpectOutput(
        {"state", "set", "--ns", ns_, "--svc", svc, "--pod", std::to_string(pod), "--state", state},
        R"({"ok":true})");
  }

  void ExpectSuccess(std::vector<std::string> args) {
    CliResult result = Run(std::move(args));
    EXPECT_EQ(result.exit_code, 0) << result.err;
  }

  // Every key of this test's namespace.
  std::vector<std::string> NamespaceKeys() { return raw_.Keys(NamespacePattern()); }

  const std::string url_ = SharedRedisUrl();
  RawRedis raw_{url_};
};

// --- state ------------------------------------------------------------------

TEST_F(CliTest, StateSetWritesTheHashField) {
  SetState("scene", 3, "S3");
  EXPECT_EQ(raw_.HGetAll(StateKey("scene")), (std::map<std::string, std::string>{{"3", "S3"}}));
}

TEST_F(CliTest, StateGetListsPodsInNumericOrder) {
  SetState("scene", 10, "S10");
  SetState("scene", 0, "S0");
  SetState("scene", 3, "S3");
  ExpectOutput({"state", "get", "--ns", ns_, "--svc", "scene"},
               R"({"pods":{"0":"S0","3":"S3","10":"S10"}})");
}

TEST_F(CliTest, StateGetOfServiceWithoutStatesIsEmpty) {
  ExpectOutput({"state", "get", "--ns", ns_, "--svc", "nothing"}, R"({"pods":{}})");
}

// --- workload
// -----------------------------------------------------------------

TEST_F(CliTest, WorkloadSetWritesStringWithoutTtl) {
  ExpectOutput({"workload", "set", "--ns", ns_, "--svc", "chat", "--state", "busy"},
               R"({"ok":true})");
  EXPECT_EQ(raw_.Get(WorkloadKey("chat")), "busy");
  EXPECT_EQ(raw_.Ttl(WorkloadKey("chat")), -1);
}

TEST_F(CliTest, WorkloadGetLeavesOutServicesWithoutState) {
  ExpectSuccess({"workload", "set", "--ns", ns_, "--svc", "b", "--state", "B"});
  ExpectSuccess({"workload", "set", "--ns", ns_, "--svc", "a", "--state", "A"});
  ExpectOutput({"workload", "get", "--ns", ns_, "--svc", "b", "--svc", "missing", "--svc", "a"},
               R"({"states":{"a":"A","b":"B"}})");
}

// --- link set / try-set / set-if-absent -------------------------------------

TEST_F(CliTest, LinkSetPersistentWritesKeyAndHashField) {
  ExpectOutput(
      {"link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--pod", "3", "--ttl", "-1"},
      R"({"previous":null})");
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "3");
  EXPECT_EQ(raw_.Ttl(LinkKey("u1", "scene")), -1);
  EXPECT_EQ(raw_.HGetAll(LinksHashKey("u1")), (std::map<std::string, std::string>{{"scene", "3"}}));
}

TEST_F(CliTest, LinkSetTemporaryReportsPreviousAndLeavesHash) {
  SetLink("u1", "scene", 3, -1);
  // "--ttl=N" must work too: it is the other way to pass a negative number.
  ExpectOutput(
      {"link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--pod", "5", "--ttl=100"},
      R"({"previous":3})");
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "5");
  EXPECT_GT(raw_.Ttl(LinkKey("u1", "scene")), 0);
  EXPECT_THAT(raw_.HGetAll(LinksHashKey("u1")), IsEmpty());
}

TEST_F(CliTest, LinkTrySetReportsAppliedPodAndPrevious) {
  const std::vector<std::string> base = {"link",  "try-set", "--ns",  ns_,
                                         "--uid", "u1",      "--svc", "scene"};
  auto with = [&base](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  ExpectOutput(with({"--pod", "6", "--ttl", "60"}), R"({"applied":true,"pod":6,"previous":null})");
  // A temporary link does not block another pod.
  ExpectOutput(with({"--pod", "7", "--ttl", "-1"}), R"({"applied":true,"pod":7,"previous":6})");
  // A persistent link to another pod does.
  ExpectOutput(with({"--pod", "8", "--ttl", "-1"}), R"({"applied":false,"pod":7,"previous":7})");
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "7");
}

TEST_F(CliTest, LinkSetIfAbsentKeepsTheFirstPod) {
  const std::vector<std::string> args = {"link", "set-if-absent", "--ns", ns_, "--uid",
                                         "u1",   "--svc",         "scene"};
  std::vector<std::string> first = args, second = args;
  first.insert(first.end(), {"--pod", "7", "--ttl", "-1"});
  second.insert(second.end(), {"--pod", "9", "--ttl", "-1"});
  ExpectOutput(first, R"({"pod":7})");
  ExpectOutput(second, R"({"pod":7})");
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "7");
}

// --- link get / batch-get / services ----------------------------------------

TEST_F(CliTest, LinkGetTellsPodZeroFromNoLink) {
  const std::vector<std::string> get = {"link",  "get", "--ns",  ns_,
                                        "--uid", "u1",  "--svc", "scene"};
  std::vector<std::string> get_persistent = get;
  get_persistent.push_back("--if-persistent");
  ExpectOutput(get, R"({"pod":null})");
  SetLink("u1", "scene", 0, 100);
  ExpectOutput(get, R"({"pod":0})");
  ExpectOutput(get_persistent, R"({"pod":null})");
  SetLink("u1", "scene", 0, -1);
  ExpectOutput(get_persistent, R"({"pod":0})");
}

TEST_F(CliTest, LinkBatchGetGroupsUidsByPodInInputOrder) {
  SetLink("u1", "scene", 10, -1);
  SetLink("u2", "scene", 9, 100);
  SetLink("u3", "scene", 10, 100);
  ExpectOutput({"link", "batch-get", "--ns", ns_, "--svc", "scene", "--uid", "u3", "--uid",
                "nobody", "--uid", "u1", "--uid", "u2"},
               R"({"pods":{"9":["u2"],"10":["u3","u1"]}})");
}

TEST_F(CliTest, LinkServicesListsOnlyPersistentLinks) {
  SetLink("u1", "scene", 3, -1);
  SetLink("u1", "chat", 0, -1);
  SetLink("u1", "match", 2, 100);
  ExpectOutput({"link", "services", "--ns", ns_, "--uid", "u1"},
               R"({"services":{"chat":0,"scene":3}})");
}

// --- link remove
// ----------------------------------------------------------------

TEST_F(CliTest, LinkRemoveDeletesKeyAndHashField) {
  const std::vector<std::string> remove = {"link",  "remove", "--ns",  ns_,
                                           "--uid", "u1",     "--svc", "scene"};
  ExpectOutput(remove, R"({"removed":false})");
  SetLink("u1", "scene", 3, -1);
  ExpectOutput(remove, R"({"removed":true})");
  EXPECT_FALSE(raw_.Exists(LinkKey("u1", "scene")));
  EXPECT_FALSE(raw_.Exists(LinksHashKey("u1")));
}

TEST_F(CliTest, LinkRemoveWithKeepLeavesATemporaryLink) {
  SetLink("u1", "scene", 3, -1);
  ExpectOutput({"link", "remove", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--keep", "100"},
               R"({"removed":true})");
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "3");
  const long long ttl = raw_.Ttl(LinkKey("u1", "scene"));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 100);
  EXPECT_FALSE(raw_.Exists(LinksHashKey("u1")));
}

TEST_F(CliTest, LinkRemoveIfPodRemovesOnlyThatPod) {
  SetLink("u1", "scene", 3, -1);
  const std::vector<std::string> remove = {"link", "remove", "--ns",  ns_,       "--uid",
                                           "u1",   "--svc",  "scene", "--if-pod"};
  std::vector<std::string> other_pod = remove, same_pod = remove;
  other_pod.push_back("4");
  same_pod.push_back("3");
  ExpectOutput(other_pod, R"({"removed":false})");
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "3");
  ExpectOutput(same_pod, R"({"removed":true})");
  EXPECT_FALSE(raw_.Exists(LinkKey("u1", "scene")));
}

// --- link compute
// ---------------------------------------------------------------

TEST_F(CliTest, LinkComputePicksTheLeastLoadedQualifyingPod) {
  SetState("scene", 0, "5-200");
  SetState("scene", 1, "2-150");
  SetState("scene", 2, "1-50");  // lightest, but below the threshold
  SetState("scene", 3, "draining");
  ExpectOutput({"link", "compute", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--ttl", "-1",
                "--threshold", "100"},
               R"({"pod":1})");
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "1");
  EXPECT_EQ(raw_.Ttl(LinkKey("u1", "scene")), -1);
}

TEST_F(CliTest, LinkComputeWithoutCandidatesPrintsNull) {
  SetState("scene", 0, "1-50");
  ExpectOutput({"link", "compute", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--ttl", "-1",
                "--threshold", "100"},
               R"({"pod":null})");
  EXPECT_FALSE(raw_.Exists(LinkKey("u1", "scene")));
}

// --- pods / route / report (SPEC.md §10) -------------------------------------

// Wall-clock milliseconds, as reports are stamped.
std::int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The JSON object a successful run printed (one line, nothing on stderr).
nlohmann::json ParsedOutput(const CliResult& result) {
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  nlohmann::json parsed = nlohmann::json::parse(result.out, nullptr, false);
  EXPECT_TRUE(parsed.is_object()) << result.out;
  return parsed.is_object() ? parsed : nlohmann::json::object();
}

TEST_F(CliTest, PodsShowsLoadAndAgeOfReportsAndWhetherEachPodIsLive) {
  const std::string fresh = "3-" + std::to_string(UnixMs() - 120);
  const std::string stale = "4-" + std::to_string(UnixMs() - 60000);
  SetState("scene", 5, stale);
  SetState("scene", 2, "x");
  SetState("scene", 0, fresh);
  CliResult run = Run({"pods", "--ns", ns_, "--svc", "scene"});
  // The shape of SPEC.md §10, in pod order; "x" has no load and no age.
  EXPECT_THAT(run.out, ::testing::StartsWith(R"({"pods":{"0":{"state":")" + fresh +
                                             R"(","load":3,"age_ms":)"));
  EXPECT_THAT(run.out, HasSubstr(R"(,"live":true},"2":{"state":"x","live":false},"5":{)"));
  nlohmann::json pods = ParsedOutput(run)["pods"];
  ASSERT_EQ(pods.size(), 3u) << run.out;
  EXPECT_EQ(pods["0"]["load"], 3);
  EXPECT_GE(pods["0"]["age_ms"].get<std::int64_t>(), 120);
  EXPECT_LT(pods["0"]["age_ms"].get<std::int64_t>(), 15000);  // the default freshness
  EXPECT_EQ(pods["0"]["live"], true);
  EXPECT_EQ(pods["2"], (nlohmann::json{{"state", "x"}, {"live", false}}));
  EXPECT_EQ(pods["5"]["state"], stale);
  EXPECT_EQ(pods["5"]["load"], 4);
  EXPECT_GE(pods["5"]["age_ms"].get<std::int64_t>(), 60000);
  EXPECT_EQ(pods["5"]["live"], false);

  // --freshness-ms moves the line between live and not.
  nlohmann::json lenient =
      ParsedOutput(Run({"pods", "--ns", ns_, "--svc", "scene", "--freshness-ms", "600000"}));
  EXPECT_EQ(lenient["pods"]["5"]["live"], true);
  EXPECT_EQ(lenient["pods"]["2"]["live"], false);
  nlohmann::json strict =
      ParsedOutput(Run({"pods", "--ns", ns_, "--svc", "scene", "--freshness-ms", "100"}));
  EXPECT_EQ(strict["pods"]["0"]["live"], false);
  EXPECT_EQ(strict["pods"]["0"]["load"], 3);  // still a report, only older than asked

  ExpectOutput({"pods", "--ns", ns_, "--svc", "nothing"}, R"({"pods":{}})");
}

TEST_F(CliTest, ReportWritesLoadAndUnixMsThatPodsShowsLive) {
  const std::int64_t before = UnixMs();
  nlohmann::json report =
      ParsedOutput(Run({"report", "--ns", ns_, "--svc", "scene", "--pod", "4", "--load", "7"}));
  const std::int64_t after = UnixMs();
  const std::string state = report.value("state", "");
  ASSERT_THAT(state, ::testing::MatchesRegex("^7-[0-9]+$"));
  const std::int64_t stamped = std::stoll(state.substr(2));
  EXPECT_GE(stamped, before);
  EXPECT_LE(stamped, after);
  EXPECT_EQ(raw_.HGetAll(StateKey("scene")), (std::map<std::string, std::string>{{"4", state}}));

  nlohmann::json pods = ParsedOutput(Run({"pods", "--ns", ns_, "--svc", "scene"}))["pods"];
  EXPECT_EQ(pods["4"]["state"], state);
  EXPECT_EQ(pods["4"]["load"], 7);
  EXPECT_EQ(pods["4"]["live"], true);

  // Pod 0 is a real pod, load 0 a real load.
  nlohmann::json zero =
      ParsedOutput(Run({"report", "--ns", ns_, "--svc", "scene", "--pod", "0", "--load", "0"}));
  EXPECT_THAT(zero.value("state", ""), ::testing::MatchesRegex("^0-[0-9]+$"));
  EXPECT_EQ(raw_.HGetAll(StateKey("scene")).at("0"), zero.value("state", ""));
}

TEST_F(CliTest, RoutePlacesANewUidOnTheLeastLoadedLivePodThenFindsItLinked) {
  ExpectSuccess({"report", "--ns", ns_, "--svc", "scene", "--pod", "1", "--load", "5"});
  ExpectSuccess({"report", "--ns", ns_, "--svc", "scene", "--pod", "2", "--load", "0"});
  SetState("scene", 0, "x");                                      // not a report
  SetState("scene", 3, "0-" + std::to_string(UnixMs() - 60000));  // too old
  ExpectOutput({"route", "--ns", ns_, "--svc", "scene", "--uid", "u1"},
               R"({"pod":2,"placed":true})");
  // A temporary link, the routers' default 300 s.
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "2");
  EXPECT_GT(raw_.Ttl(LinkKey("u1", "scene")), 0);
  EXPECT_LE(raw_.Ttl(LinkKey("u1", "scene")), 300);
  EXPECT_FALSE(raw_.Exists(LinksHashKey("u1")));
  // Linked now: the same pod, not placed by this call.
  ExpectOutput({"route", "--ns", ns_, "--svc", "scene", "--uid", "u1"},
               R"({"pod":2,"placed":false})");

  ExpectOutput({"route", "--ns", ns_, "--svc", "scene", "--uid", "u2", "--link-ttl", "60"},
               R"({"pod":2,"placed":true})");
  EXPECT_LE(raw_.Ttl(LinkKey("u2", "scene")), 60);
  EXPECT_GT(raw_.Ttl(LinkKey("u2", "scene")), 0);

  // A temporary link to a pod that is not live moves to a live one.
  SetLink("u3", "scene", 3, 100);
  ExpectOutput({"route", "--ns", ns_, "--svc", "scene", "--uid", "u3"},
               R"({"pod":2,"placed":true})");
  EXPECT_EQ(raw_.Get(LinkKey("u3", "scene")), "2");
  // --freshness-ms: pod 3's report is live when an hour counts as fresh,
  // and a link to it stays.
  SetLink("u4", "scene", 3, 100);
  ExpectOutput({"route", "--ns", ns_, "--svc", "scene", "--uid", "u4", "--freshness-ms", "3600000"},
               R"({"pod":3,"placed":false})");
}

TEST_F(CliTest, RouteWithoutALivePodIsUnavailable) {
  ExpectError(Run({"route", "--ns", ns_, "--svc", "scene", "--uid", "u1"}), 3, "UNAVAILABLE",
              "no live pod");
  SetState("scene", 0, "x");
  SetState("scene", 1, "1-" + std::to_string(UnixMs() - 60000));
  ExpectError(Run({"route", "--ns", ns_, "--svc", "scene", "--uid", "u1"}), 3, "UNAVAILABLE",
              "no live pod");
  EXPECT_FALSE(raw_.Exists(LinkKey("u1", "scene")));

  // A persistent link to a pod that is not live is never moved.
  ExpectSuccess({"report", "--ns", ns_, "--svc", "scene", "--pod", "2", "--load", "0"});
  SetLink("u2", "scene", 1, -1);
  ExpectError(Run({"route", "--ns", ns_, "--svc", "scene", "--uid", "u2"}), 3, "UNAVAILABLE",
              "pod 1");
  EXPECT_EQ(raw_.Get(LinkKey("u2", "scene")), "1");
  EXPECT_EQ(raw_.Ttl(LinkKey("u2", "scene")), -1);
}

TEST_F(CliTest, RoutingCommandsRefuseBadInputNamingTheField) {
  const std::vector<std::string> report = {"report", "--ns", ns_, "--svc", "scene"};
  const std::vector<std::string> route = {"route", "--ns", ns_, "--svc", "scene"};
  const std::vector<std::string> pods = {"pods", "--ns", ns_, "--svc", "scene"};
  auto with = [](std::vector<std::string> front, const std::vector<std::string>& back) {
    front.insert(front.end(), back.begin(), back.end());
    return front;
  };
  const std::vector<std::pair<std::vector<std::string>, std::string>> usage = {
      {with(report, {"--pod", "1", "--load", "-1"}), "--load"},
      {with(report, {"--pod", "1", "--load", "x"}), "--load"},
      {with(report, {"--pod", "1"}), "--load"},
      {with(report, {"--load", "1"}), "--pod"},
      {with(report, {"--pod", "-1", "--load", "1"}), "--pod"},
      {with(report, {"--pod", "1", "--load", "1", "--state", "s"}), "--state"},
      {with(route, {"--uid", "u1", "--link-ttl", "0"}), "--link-ttl"},
      {with(route, {"--uid", "u1", "--link-ttl", "-1"}), "--link-ttl"},  // persistent: never
      {with(route, {"--uid", "u1", "--link-ttl", "-5"}), "--link-ttl"},
      {with(route, {"--uid", "u1", "--link-ttl", "3153600001"}), "--link-ttl"},
      {with(route, {"--uid", "u1", "--freshness-ms", "0"}), "--freshness-ms"},
      {route, "--uid"},
      {with(route, {"--uid", "u1", "--pod", "1"}), "--pod"},
      {with(pods, {"--freshness-ms", "-1"}), "--freshness-ms"},
      {with(pods, {"--uid", "u1"}), "--uid"},
  };
  for (const auto& [args, field] : usage) {
    SCOPED_TRACE(::testing::PrintToString(args));
    ExpectUsageError(Run(args), field);
  }
  // The library's own checks: INVALID_ARGUMENT naming the field, exit 2.
  ExpectUsageError(Run(with(route, {"--uid", "a}b"})), "uid");
  for (const std::vector<std::string>& args : {with(pods, {}), with(route, {"--uid", "u1"}),
                                               with(report, {"--pod", "1", "--load", "1"})}) {
    std::vector<std::string> bad_ns = args;
    bad_ns[2] = "bad:ns";
    SCOPED_TRACE(::testing::PrintToString(bad_ns));
    ExpectUsageError(Run(bad_ns), "ns");
  }
  ExpectUsageError(Run({"pods", "--ns", ns_, "--svc", "a{b"}), "svc");
  EXPECT_THAT(NamespaceKeys(), IsEmpty());
}

TEST_F(CliTest, BenchRouteRoutesEveryUidOnceThenAnswersFromTheCache) {
  CliResult run = Run({"bench", "--operation", "route", "--seconds", "0.5", "--callers", "2",
                       "--keyspace", "40", "--ns", ns_});
  nlohmann::json report = ParsedOutput(run);
  EXPECT_EQ(report.value("operation", ""), "route");
  EXPECT_EQ(report.value("errors", -1), 0) << run.out;
  const std::int64_t calls = report.value("calls", std::int64_t{0});
  EXPECT_GT(calls, 0);
  ASSERT_TRUE(report.contains("router")) << run.out;
  const nlohmann::json& router = report["router"];
  EXPECT_EQ(router.value("live_pods", 0), 16);
  // Every uid was routed before the run and its pod stayed live: each
  // timed route was a cache hit, and none called Redis.
  EXPECT_EQ(router.value("cache_hits", std::int64_t{-1}), calls) << run.out;
  EXPECT_EQ(router.value("redis_calls", -1), 0);
  EXPECT_EQ(router.value("placed", -1), 0);
  EXPECT_EQ(router.value("errors", -1), 0);
  EXPECT_GT(router.value("pre_route_seconds", 0.0), 0.0);
  // The pre-routing placed every uid, with a temporary link, on pods 0-15.
  for (int i = 0; i < 40; ++i) {
    const std::string uid = "u" + std::to_string(i);
    const std::optional<std::string> pod = raw_.Get(LinkKey(uid, "scene"));
    ASSERT_TRUE(pod.has_value()) << uid;
    EXPECT_THAT(std::stoi(*pod), ::testing::AllOf(::testing::Ge(0), ::testing::Lt(16))) << uid;
    EXPECT_GT(raw_.Ttl(LinkKey(uid, "scene")), 0) << uid;
  }
  EXPECT_EQ(raw_.HGetAll(StateKey("scene")).size(), 16u);

  // A Router has no async form.
  ExpectUsageError(
      Run({"bench", "--operation", "route", "--async", "--seconds", "0.1", "--ns", ns_}), "async");
}

// --- errors
// -----------------------------------------------------------------------

TEST_F(CliTest, InvalidUidIsInvalidArgumentNamingUid) {
  CliResult result = Run(
      {"link", "set", "--ns", ns_, "--uid", "a}b", "--svc", "scene", "--pod", "1", "--ttl", "-1"});
  ExpectUsageError(result, "uid");
  EXPECT_THAT(NamespaceKeys(), IsEmpty());
}

TEST_F(CliTest, ZeroTtlIsInvalidArgumentNamingTtl) {
  CliResult result = Run(
      {"link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--pod", "1", "--ttl", "0"});
  ExpectUsageError(result, "ttl");
  EXPECT_THAT(NamespaceKeys(), IsEmpty());
}

TEST_F(CliTest, MissingRequiredOptionIsUsageError) {
  ExpectUsageError(Run({"link", "get", "--ns", ns_, "--svc", "scene"}), "--uid");
  ExpectUsageError(Run({"link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--pod", "1"}),
                   "--ttl");
}

TEST_F(CliTest, MalformedOrOutOfRangeNumbersAreUsageErrors) {
  const std::vector<std::string> set = {"link",  "set", "--ns",  ns_,
                                        "--uid", "u1",  "--svc", "scene"};
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--pod", "abc", "--ttl", "-1"}, "--pod"},
      {{"--pod", "3x", "--ttl", "-1"}, "--pod"},
      {{"--pod", "-1", "--ttl", "-1"}, "--pod"},
      {{"--pod", "2147483648", "--ttl", "-1"}, "--pod"},
      {{"--pod", "0x10", "--ttl", "-1"}, "--pod"},
      {{"--pod", "1", "--ttl", "1.5"}, "--ttl"},
      {{"--pod", "1", "--ttl", "99999999999999999999"}, "--ttl"},
      {{"--pod", "1", "--pod", "2", "--ttl", "-1"}, "--pod"},
  };
  for (const auto& [extra, option] : cases) {
    std::vector<std::string> args = set;
    args.insert(args.end(), extra.begin(), extra.end());
    SCOPED_TRACE(::testing::PrintToString(extra));
    ExpectUsageError(Run(args), option);
  }
  ExpectUsageError(
      Run({"link", "remove", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--keep", "soon"}),
      "--keep");
  ExpectUsageError(RunCliRaw({"--redis", url_, "--timeout-ms", "0", "link", "get", "--ns", ns_,
                              "--uid", "u1", "--svc", "scene"}),
                   "--timeout-ms");
  EXPECT_THAT(NamespaceKeys(), IsEmpty());
}

// Every integer the CLI takes is a canonical decimal: the same number has
// one spelling, as in the wire format (SPEC.md §1).
TEST_F(CliTest, IntegersMustBeCanonicalDecimalsEverywhere) {
  const std::vector<std::string> bad = {"010", "00", "-0", "-01", "+1", " 1", "1 ", "0x1", ""};
  // Each command line with the integer option last, its value left out.
  const std::string unreachable = "redis://127.0.0.1:1";
  const std::vector<std::pair<std::vector<std::string>, std::string>> options = {
      {{"--redis", url_, "link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--ttl", "-1",
        "--pod"},
       "--pod"},
      {{"--redis", url_, "link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--pod", "1",
        "--ttl"},
       "--ttl"},
      {{"--redis", url_, "state", "set", "--ns", ns_, "--svc", "scene", "--state", "s", "--pod"},
       "--pod"},
      {{"--redis", url_, "link", "remove", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--keep"},
       "--keep"},
      {{"--redis", url_, "link", "remove", "--ns", ns_, "--uid", "u1", "--svc", "scene",
        "--if-pod"},
       "--if-pod"},
      {{"--redis", url_, "link", "compute", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--ttl",
        "-1", "--threshold"},
       "--threshold"},
      {{"--redis", url_, "link", "get", "--ns", ns_, "--uid", "u1", "--svc", "scene",
        "--timeout-ms"},
       "--timeout-ms"},
      {{"--redis", url_, "report", "--ns", ns_, "--svc", "scene", "--pod", "1", "--load"},
       "--load"},
      {{"--redis", url_, "report", "--ns", ns_, "--svc", "scene", "--load", "1", "--pod"}, "--pod"},
      {{"--redis", url_, "route", "--ns", ns_, "--svc", "scene", "--uid", "u1", "--link-ttl"},
       "--link-ttl"},
      {{"--redis", url_, "route", "--ns", ns_, "--svc", "scene", "--uid", "u1", "--freshness-ms"},
       "--freshness-ms"},
      {{"--redis", url_, "pods", "--ns", ns_, "--svc", "scene", "--freshness-ms"},
       "--freshness-ms"},
  };
  std::vector<std::pair<std::vector<std::string>, std::string>> all = options;
  // demo and bench against a server that is not there: a value read wrongly
  // would fail with UNAVAILABLE (exit 3) instead of the usage error.
  for (const std::string& name :
       {"--players", "--services", "--pods", "--threads", "--seed", "--link-ttl", "--grace",
        "--fresh-ms", "--heartbeat-ms", "--disconnect-pct", "--reconnect-pct", "--use-pct"}) {
    all.push_back({{"--redis", unreachable, "demo", "--players", "2", "--grace", "1", name}, name});
  }
  for (const std::string& name :
       {"--callers", "--operations", "--keyspace", "--batch", "--connections"}) {
    all.push_back({{"--redis", unreachable, "bench", "--operation", "set", "--operations", "1",
                    "--keyspace", "1", name},
                   name});
  }
  for (const auto& [args, option] : all) {
    for (const std::string& value : bad) {
      std::vector<std::string> with_value = args;
      with_value.push_back(value);
      SCOPED_TRACE(::testing::PrintToString(with_value));
      ExpectUsageError(RunCliRaw(with_value), option);
    }
  }
  // The pod of --link uid=pod too.
  for (const std::string& value : bad) {
    SCOPED_TRACE(value);
    ExpectUsageError(Run({"link", "set-many", "--ns", ns_, "--svc", "scene", "--link",
                          "u1=" + value, "--ttl", "-1"}),
                     "--link");
  }
  // Flags take no number either.
  ExpectUsageError(
      Run({"link", "get", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--if-persistent=010"}),
      "if-persistent");
  ExpectUsageError(RunCliRaw({"--redis", unreachable, "demo", "--players", "2", "--json=1"}),
                   "json");
  ExpectUsageError(RunCliRaw({"--redis", unreachable, "demo", "--players", "2", "--keep-data=0"}),
                   "keep-data");
  EXPECT_THAT(NamespaceKeys(), IsEmpty());

  // Canonical spellings are taken: 0, -1, 17.
  ExpectOutput(
      {"link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--pod", "0", "--ttl", "-1"},
      R"({"previous":null})");
  ExpectOutput(
      {"link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--pod", "17", "--ttl", "17"},
      R"({"previous":0})");
  ExpectOutput({"link", "remove", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--keep", "-1",
                "--if-pod", "17"},
               R"({"removed":true})");
  ExpectOutput({"link", "remove", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--keep", "0"},
               R"({"removed":false})");
  ExpectOutput({"link", "set-many", "--ns", ns_, "--svc", "scene", "--link", "u2=0", "--link",
                "u3=17", "--ttl", "-1"},
               R"({"results":[{"uid":"u2","previous":null},{"uid":"u3","previous":null}]})");
  ExpectOutput({"link", "compute", "--ns", ns_, "--uid", "u4", "--svc", "scene", "--ttl", "-1",
                "--threshold", "-1"},
               R"({"pod":null})");
}

// bench --seconds is the CLI's one floating-point option: finite, from
// 0.001 to 86400, written as plain decimals.
TEST(CliBenchTest, SecondsMustBeAFiniteDecimalInRange) {
  // `get` fills its keyspace first, so a value let through fails at once on
  // the missing server (exit 3) instead of being reported as a usage error.
  const std::vector<std::string> bench = {"--redis", "redis://127.0.0.1:1", "bench", "--operation",
                                          "get",     "--keyspace",          "1",     "--seconds"};
  for (const std::string value :
       {"nan", "NaN",    "inf",   "-inf", "infinity", "-1",      "0",      "-0",
        "0.0", "0.0001", "1e300", "1e3",  "86401",    "86400.5", "1e-300", "0x1",
        "+1",  " 1",     "1 ",    "05",   ".5",       "5.",      "1,5",    ""}) {
    std::vector<std::string> args = bench;
    args.push_back(value);
    SCOPED_TRACE(value);
    ExpectUsageError(RunCliRaw(args), "--seconds");
  }
  // In range, a run of that length.
  for (const std::string value : {"0.05", "0.001", "1"}) {
    SCOPED_TRACE(value);
    std::vector<std::string> args = {"--redis", "memory://", "bench", "--operation",
                                     "set",     "--callers", "1",     "--keyspace",
                                     "5",       "--seconds", value};
    CliResult run = RunCliRaw(args);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    nlohmann::json report = nlohmann::json::parse(run.out, nullptr, false);
    ASSERT_TRUE(report.is_object()) << run.out;
    EXPECT_GE(report.value("seconds", 0.0), std::stod(value));
  }
}

// --- UTF-8 ------------------------------------------------------------------

// Byte strings that are not UTF-8: a stray continuation byte, a lone 0xFF, a
// truncated sequence, an overlong '/', a surrogate, a code point past
// U+10FFFF.
const std::vector<std::string> kNotUtf8 = {"a\x80",    "\xff",          "ok\xc3",
                                           "\xc0\xaf", "x\xed\xa0\x80", "\xf4\x90\x80\x80"};

// The CLI takes only UTF-8 (its output is JSON, which can carry nothing
// else): every string option is checked before anything is sent.
TEST_F(CliTest, InvalidUtf8InAnyStringOptionIsAUsageError) {
  const std::string unreachable = "redis://127.0.0.1:1";
  for (const std::string& bad : kNotUtf8) {
    SCOPED_TRACE(::testing::PrintToString(bad));
    // {arguments, the option the error must name}
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"link", "set", "--ns", ns_, "--uid", "u" + bad, "--svc", "scene", "--pod", "1", "--ttl",
          "-1"},
         "--uid"},
        {{"link", "get", "--ns", ns_, "--uid", bad, "--svc", "scene"}, "--uid"},
        {{"link", "batch-get", "--ns", ns_, "--svc", "scene", "--uid", "u1", "--uid", bad},
         "--uid"},
        {{"link", "set", "--ns", ns_ + bad, "--uid", "u1", "--svc", "scene", "--pod", "1", "--ttl",
          "-1"},
         "--ns"},
        {{"link", "set", "--ns", ns_, "--uid", "u1", "--svc", bad, "--pod", "1", "--ttl", "-1"},
         "--svc"},
        {{"state", "set", "--ns", ns_, "--svc", "scene", "--pod", "1", "--state", "s" + bad},
         "--state"},
        {{"workload", "set", "--ns", ns_, "--svc", "scene", "--state", bad}, "--state"},
        {{"workload", "get", "--ns", ns_, "--svc", "a", "--svc", bad}, "--svc"},
        {{"link", "set-many", "--ns", ns_, "--svc", "scene", "--link", "u1=1", "--link",
          "u" + bad + "=2", "--ttl", "-1"},
         "--link"},
        {{"link", "remove", "--ns", ns_, "--uid", bad, "--svc", "scene"}, "--uid"},
        {{"link", "services", "--ns", ns_, "--uid", bad}, "--uid"},
        {{"link", "compute", "--ns", ns_, "--uid", bad, "--svc", "scene", "--ttl", "-1",
          "--threshold", "0"},
         "--uid"},
    };
    for (const auto& [args, option] : cases) {
      SCOPED_TRACE(::testing::PrintToString(args));
      CliResult result = Run(args);
      ExpectUsageError(result, option);
      EXPECT_THAT(result.err, HasSubstr("UTF-8"));
    }
    // demo, bench and the URLs, where a value let through would fail on
    // the missing server (exit 3) instead.
    ExpectUsageError(RunCliRaw({"--redis", unreachable, "demo", "--players", "2", "--ns", bad}),
                     "--ns");
    ExpectUsageError(RunCliRaw({"--redis", unreachable, "bench", "--operation", "set",
                                "--operations", "1", "--svc", bad}),
                     "--svc");
    ExpectUsageError(RunCliRaw({"--redis", unreachable, "bench", "--operation", "set",
                                "--operations", "1", "--ns", bad}),
                     "--ns");
    ExpectUsageError(RunCliRaw({"--redis", unreachable, "bench", "--operation", "set" + bad,
                                "--operations", "1"}),
                     "--operation");
    ExpectUsageError(RunCliRaw({"--redis", "redis://:pw" + bad + "@127.0.0.1:1", "link", "get",
                                "--ns", ns_, "--uid", "u1", "--svc", "scene"}),
                     "--redis");
    ExpectUsageError(RunCliRaw({"--cluster", "127.0.0.1:1" + bad, "link", "get", "--ns", ns_,
                                "--uid", "u1", "--svc", "scene"}),
                     "--cluster");
    ExpectUsageError(RunCliRaw({"link", "get", "--ns", ns_, "--uid", "u1", "--svc", "scene"},
                               "redis://:pw" + bad + "@127.0.0.1:1"),
                     "--redis");
  }
  EXPECT_THAT(NamespaceKeys(), IsEmpty());
}

TEST_F(CliTest, Utf8RoundTripsThroughTheCli) {
  const std::string uid = "joueur-\xc3\xa9-\xe7\x8e\xa9\xe5\xae\xb6-\xf0\x9f\x98\x80";  // é 玩家 😀
  const std::string state = "\xe7\x8a\xb6\xe6\x80\x81-\xf0\x9f\x98\x80";  // 状态-😀
  SetLink(uid, "scene", 3, -1);
  EXPECT_EQ(raw_.Get(LinkKey(uid, "scene")), "3");
  ExpectOutput({"link", "batch-get", "--ns", ns_, "--svc", "scene", "--uid", uid},
               "{\"pods\":{\"3\":[\"" + uid + "\"]}}");
  SetState("scene", 0, state);
  ExpectOutput({"state", "get", "--ns", ns_, "--svc", "scene"},
               "{\"pods\":{\"0\":\"" + state + "\"}}");
  ExpectOutput({"workload", "set", "--ns", ns_, "--svc", "scene", "--state", state},
               R"({"ok":true})");
  ExpectOutput({"workload", "get", "--ns", ns_, "--svc", "scene"},
               "{\"states\":{\"scene\":\"" + state + "\"}}");
}

// Another client may store bytes that are not UTF-8: the CLI still prints
// them (U+FFFD for each bad sequence) and warns once per value on stderr,
// naming the key and quoting at most a short prefix.
TEST_F(CliTest, StoredValuesThatAreNotUtf8AreShownWithAWarning) {
  const std::string replacement = "\xef\xbf\xbd";  // U+FFFD
  const std::string long_tail(100000, 'z');
  raw_.Command({"HSET", StateKey("scene"), "3", "ok-\xff-" + long_tail, "4", "fine"});
  raw_.Command({"SET", WorkloadKey("chat"), "busy\xc3"});
  raw_.Command({"HSET", LinksHashKey("u1"), "sc\xffne", "5"});
  raw_.Command({"SET", LinkKey("u1", "sc\xffne"), "5"});

  // One line on stderr per bad value, in the log format; never the value.
  auto expect_warning = [&](const CliResult& result, const std::string& key) {
    EXPECT_EQ(result.exit_code, 0) << result.err;
    ASSERT_FALSE(result.err.empty());
    EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << result.err;
    EXPECT_LT(result.err.size(), 400u) << result.err;
    nlohmann::json line = nlohmann::json::parse(result.err, nullptr, false);
    ASSERT_TRUE(line.is_object()) << result.err;
    EXPECT_EQ(line["log"].value("level", ""), "WARNING");
    const std::string message = line["log"].value("message", "");
    EXPECT_THAT(message, HasSubstr(key));
    EXPECT_THAT(message, HasSubstr("not valid UTF-8"));
    EXPECT_THAT(message, Not(HasSubstr("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")));
  };

  CliResult states = Run({"state", "get", "--ns", ns_, "--svc", "scene"});
  EXPECT_EQ(states.out,
            "{\"pods\":{\"3\":\"ok-" + replacement + "-" + long_tail + "\",\"4\":\"fine\"}}\n");
  expect_warning(states, StateKey("scene"));

  CliResult workload = Run({"workload", "get", "--ns", ns_, "--svc", "chat"});
  EXPECT_EQ(workload.out, "{\"states\":{\"chat\":\"busy" + replacement + "\"}}\n");
  expect_warning(workload, WorkloadKey("chat"));

  CliResult services = Run({"link", "services", "--ns", ns_, "--uid", "u1"});
  EXPECT_EQ(services.out, "{\"services\":{\"sc" + replacement + "ne\":5}}\n");
  expect_warning(services, LinksHashKey("u1"));
}

TEST_F(CliTest, NegativeKeepBelowMinusOneIsInvalidArgument) {
  SetLink("u1", "scene", 3, -1);
  ExpectError(Run({"link", "remove", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--keep", "-2"}),
              2, "INVALID_ARGUMENT", "keep");
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "3");
}

TEST_F(CliTest, UnknownOrMissingCommandIsUsageError) {
  ExpectUsageError(Run({"link", "frob"}), "frob");
  ExpectUsageError(Run({"frob"}), "frob");
  ExpectUsageError(Run({"link"}), "command");
  ExpectUsageError(Run({}), "command");
  ExpectUsageError(Run({"link", "services", "--ns", ns_, "--uid", "u1", "extra"}), "extra");
  ExpectUsageError(Run({"link", "services", "--ns", ns_, "--uid", "u1", "--bogus"}), "--bogus");
}

TEST_F(CliTest, HelpGoesToStdoutWithExitZero) {
  CliResult top = RunCliRaw({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, HasSubstr("link"));
  EXPECT_THAT(top.out, HasSubstr("--redis"));
  EXPECT_EQ(top.err, "");
  CliResult command = RunCliRaw({"link", "set", "--help"});
  EXPECT_EQ(command.exit_code, 0);
  EXPECT_THAT(command.out, HasSubstr("--ttl"));
  EXPECT_EQ(command.err, "");
}

TEST_F(CliTest, CorruptStoredPodIsDataLossWithExitOne) {
  raw_.Command({"SET", LinkKey("u1", "scene"), "abc"});
  ExpectError(Run({"link", "get", "--ns", ns_, "--uid", "u1", "--svc", "scene"}), 1, "DATA_LOSS",
              LinkKey("u1", "scene"));
}

// --- connection
// ---------------------------------------------------------------------

TEST(CliConnectionTest, UnreachableServerIsUnavailable) {
  // Port 1 on loopback: nothing listens there, the connection is refused.
  ExpectError(RunCliRaw({"--redis", "redis://127.0.0.1:1", "link", "get", "--ns", "n", "--uid",
                         "u1", "--svc", "scene"}),
              3, "UNAVAILABLE", "");
}

TEST(CliConnectionTest, SilentServerIsDeadlineExceeded) {
  // A socket that listens but never answers: the kernel accepts the
  // connection, so the command is sent and its reply never comes.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 8), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string url = "redis://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  ExpectError(RunCliRaw({"--redis", url, "--timeout-ms", "200", "link", "get", "--ns", "n", "--uid",
                         "u1", "--svc", "scene"}),
              3, "DEADLINE_EXCEEDED", "");
  close(listener);
}

TEST(CliConnectionTest, PasswordIsUsedAndNeverPrinted) {
  const std::string password = "s3cret";
  // The password is set after start: RedisServer::Start waits for a plain
  // PING reply, which a server started with --requirepass never gives.
  auto server = RedisServer::Start();
  RawRedis(server->url()).Command({"CONFIG", "SET", "requirepass", password});
  const std::string host_port = "127.0.0.1:" + std::to_string(server->port());
  const std::vector<std::string> get = {"link",  "get", "--ns",  "n",
                                        "--uid", "u1",  "--svc", "scene"};
  auto run_with = [&get](const std::string& url, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--redis", url};
    args.insert(args.end(), get.begin(), get.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCliRaw(args);
  };
  std::vector<CliResult> runs;
  runs.push_back(run_with("redis://" + host_port));
  ExpectError(runs.back(), 4, "PERMISSION_DENIED", "");
  runs.push_back(run_with("redis://:wr0ng@" + host_port));
  ExpectError(runs.back(), 4, "PERMISSION_DENIED", "");
  runs.push_back(run_with("redis://:" + password + "@" + host_port));
  EXPECT_EQ(runs.back().exit_code, 0) << runs.back().err;
  EXPECT_EQ(runs.back().out, "{\"pod\":null}\n");
  // A URL that lands among the arguments is quoted back by the usage error.
  runs.push_back(run_with("redis://" + host_port, {"redis://:" + password + "@" + host_port}));
  ExpectUsageError(runs.back(), "not expected");
  // An unreachable server with a password in the URL.
  runs.push_back(RunCliRaw({"--redis", "redis://user:" + password + "@127.0.0.1:1", "link", "get",
                            "--ns", "n", "--uid", "u1", "--svc", "scene"}));
  EXPECT_EQ(runs.back().exit_code, 3);
  for (const CliResult& run : runs) {
    EXPECT_THAT(run.out, Not(HasSubstr(password)));
    EXPECT_THAT(run.err, Not(HasSubstr(password)));
    EXPECT_THAT(run.err, Not(HasSubstr("wr0ng")));
  }
}

// --- passwords ----------------------------------------------------------------

// Every command and every error path, against a server that wants a password
// full of the characters that ended the old text-scanning redaction: ',',
// ' ', '"', '\'', '@' and ':'. The password is given raw (the parser takes
// the last '@' and the first ':') and percent-encoded, in --redis, in
// --redis=, in $SFROUTE_REDIS and in --cluster. No run may print any part
// of it.
class CliPasswordTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    password_ = GetParam();
    server_ = RedisServer::Start({"--requirepass", password_});
    host_port_ = "127.0.0.1:" + std::to_string(server_->port());
    ns_ = UniqueNamespace();
  }

  // Each run is checked here: no fragment of the right or the wrong
  // password (the alphanumeric runs, at least 4 long) on stdout or stderr.
  CliResult Checked(std::vector<std::string> args, const std::optional<std::string>& env = {}) {
    CliResult result = RunCliRaw(args, env);
    for (const std::string& secret : {password_, WrongPassword()}) {
      for (const std::string& fragment : Fragments(secret)) {
        for (const std::string* stream : {&result.out, &result.err}) {
          const std::size_t at = stream->find(fragment);
          EXPECT_EQ(at, std::string::npos)
              << "\"" << fragment << "\" printed by " << ::testing::PrintToString(args) << ": ..."
              << stream->substr(at < 200 ? 0 : at - 200, 400) << "...";
        }
      }
    }
    ++runs_;
    return result;
  }

  static std::vector<std::string> Fragments(const std::string& secret) {
    std::vector<std::string> fragments;
    std::string run;
    for (char c : secret + " ") {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        run += c;
        continue;
      }
      if (run.size() >= 4) fragments.push_back(run);
      run.clear();
    }
    return fragments;
  }

  static std::string PercentEncoded(const std::string& text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        out += c;
      } else {
        out += '%';
        out += kHex[static_cast<unsigned char>(c) >> 4];
        out += kHex[static_cast<unsigned char>(c) & 0xF];
      }
    }
    return out;
  }

  std::string WrongPassword() const { return "Wr0ngPassw0rd" + password_; }

  // The URLs that carry `password` to host:port, raw and encoded.
  static std::vector<std::string> Urls(const std::string& password, const std::string& host_port) {
    return {"redis://:" + password + "@" + host_port,
            "redis://default:" + password + "@" + host_port + "/0",
            "redis://:" + PercentEncoded(password) + "@" + host_port,
            "redis://default:" + PercentEncoded(password) + "@" + host_port};
  }

  // One command line per CLI command (docs/cli.md), demo and bench aside;
  // the value after --ns is the namespace.
  std::vector<std::vector<std::string>> Commands(const std::string& ns) const {
    return {
        {"state", "set", "--ns", ns, "--svc", "scene", "--pod", "1", "--state", "2-100"},
        {"state", "get", "--ns", ns, "--svc", "scene"},
        {"workload", "set", "--ns", ns, "--svc", "scene", "--state", "busy"},
        {"workload", "get", "--ns", ns, "--svc", "scene", "--svc", "chat"},
        {"link", "set", "--ns", ns, "--uid", "u1", "--svc", "scene", "--pod", "1", "--ttl", "-1"},
        {"link", "try-set", "--ns", ns, "--uid", "u1", "--svc", "scene", "--pod", "2", "--ttl",
         "60"},
        {"link", "set-if-absent", "--ns", ns, "--uid", "u2", "--svc", "scene", "--pod", "2",
         "--ttl", "-1"},
        {"link", "get", "--ns", ns, "--uid", "u1", "--svc", "scene"},
        {"link", "get", "--ns", ns, "--uid", "u1", "--svc", "scene", "--if-persistent"},
        {"link", "batch-get", "--ns", ns, "--svc", "scene", "--uid", "u1", "--uid", "u2"},
        {"link", "services", "--ns", ns, "--uid", "u1"},
        {"link", "set-many", "--ns", ns, "--svc", "scene", "--link", "u3=1", "--link", "u4=2",
         "--ttl", "-1"},
        {"link", "compute", "--ns", ns, "--uid", "u5", "--svc", "scene", "--ttl", "-1",
         "--threshold", "0"},
        {"link", "remove", "--ns", ns, "--uid", "u1", "--svc", "scene", "--keep", "10"},
        {"link", "remove", "--ns", ns, "--uid", "u2", "--svc", "scene", "--if-pod", "2"},
        // report first: route needs a live pod.
        {"report", "--ns", ns, "--svc", "scene", "--pod", "1", "--load", "2"},
        {"pods", "--ns", ns, "--svc", "scene"},
        {"route", "--ns", ns, "--svc", "scene", "--uid", "u6"},
    };
  }

  // demo and bench, as small as they go.
  std::vector<std::vector<std::string>> LoadCommands(const std::string& ns) const {
    return {{"demo", "--players", "20", "--services", "1", "--pods", "2", "--threads", "1",
             "--grace", "1", "--ns", ns, "--json"},
            {"bench", "--operation", "get", "--operations", "20", "--callers", "2", "--keyspace",
             "5", "--ns", ns}};
  }

  static std::vector<std::string> With(std::vector<std::string> front,
                                       const std::vector<std::string>& back) {
    front.insert(front.end(), back.begin(), back.end());
    return front;
  }

  std::string password_;
  std::unique_ptr<RedisServer> server_;
  std::string host_port_;
  std::string ns_;
  int runs_ = 0;
};

TEST_P(CliPasswordTest, EveryCommandWithTheRightPassword) {
  std::vector<std::vector<std::string>> commands = Commands(ns_);
  for (const std::string& url : Urls(password_, host_port_)) {
    SCOPED_TRACE(url);
    for (const auto& command : commands) {
      CliResult result = Checked(With({"--redis", url}, command));
      EXPECT_EQ(result.exit_code, 0) << ::testing::PrintToString(command) << result.err;
      EXPECT_THAT(result.out, Not(IsEmpty()));
    }
    // --redis=URL, and the URL from the environment.
    EXPECT_EQ(Checked(With({"--redis=" + url}, commands[1])).exit_code, 0);
    EXPECT_EQ(Checked(commands[1], url).exit_code, 0);
  }
  // The data really went to the server behind the password.
  RawRedis raw(server_->url(), "", password_);
  EXPECT_EQ(raw.Get("sf:{" + ns_ + ":lk:u3}scene"), "1");

  // demo and bench report on the run; the demo names its backend, with the
  // password hidden (and the user shown).
  const std::vector<std::string> urls = Urls(password_, host_port_);
  for (const std::string& url : {urls[1], urls[2]}) {
    SCOPED_TRACE(url);
    for (const auto& command : LoadCommands(UniqueNamespace())) {
      CliResult result = Checked(With({"--redis", url}, command));
      EXPECT_EQ(result.exit_code, 0) << ::testing::PrintToString(command) << result.err;
      nlohmann::json report = nlohmann::json::parse(result.out, nullptr, false);
      ASSERT_TRUE(report.is_object()) << result.out;
      if (command.front() == "demo") {
        EXPECT_TRUE(report.value("ok", false)) << result.out;
        const std::string user = url.starts_with("redis://default:") ? "default" : "";
        EXPECT_EQ(report.value("backend", ""),
                  "redis://" + user + ":***@" + host_port_ + (user.empty() ? "" : "/0"));
      } else {
        EXPECT_EQ(report.value("errors", -1), 0) << result.out;
      }
    }
  }
  // The demo's text report too.
  CliResult text = Checked({"--redis", urls[0], "demo", "--players", "20", "--services", "1",
                            "--pods", "2", "--threads", "1", "--grace", "1"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("redis://:***@" + host_port_));
}

TEST_P(CliPasswordTest, EveryCommandOnEveryErrorPath) {
  std::vector<std::vector<std::string>> commands = Commands(ns_);
  for (const auto& command : LoadCommands(ns_)) commands.push_back(command);
  struct Path {
    std::string what;
    std::vector<std::string> urls;
    int exit_code;
  };
  const std::vector<Path> paths = {
      {"wrong password", Urls(WrongPassword(), host_port_), 4},
      {"no password", {"redis://" + host_port_}, 4},
      {"server unreachable", Urls(password_, "127.0.0.1:1"), 3},
      {"bad port", Urls(password_, "127.0.0.1:99999"), 2},
      {"bad db", {"redis://:" + password_ + "@" + host_port_ + "/x"}, 2},
      {"bad percent-encoding", {"redis://:" + password_ + "%zz@" + host_port_}, 2},
      {"unknown scheme", {"rediss+x://:" + password_ + "@" + host_port_}, 2},
      {"cluster unreachable",
       {"redis-cluster://:" + password_ + "@127.0.0.1:1",
        "redis-cluster://:" + PercentEncoded(password_) + "@127.0.0.1:1,127.0.0.1:2"},
       3},
  };
  // A short timeout: the cluster retries its seeds until then.
  const std::vector<std::string> timeout = {"--timeout-ms", "50"};
  for (const Path& path : paths) {
    for (const std::string& url : path.urls) {
      SCOPED_TRACE(path.what + ": " + url);
      for (const auto& command : commands) {
        SCOPED_TRACE(::testing::PrintToString(command));
        CliResult result = Checked(With(With(timeout, {"--redis", url}), command));
        // Without AUTH the connection opens and each command is refused:
        // set-many reports that per link, bench counts failed calls.
        if (path.what == "no password" &&
            (command.front() == "bench" || command[1] == "set-many")) {
          EXPECT_THAT(result.out, HasSubstr("PERMISSION_DENIED"));
          continue;
        }
        EXPECT_EQ(result.exit_code, path.exit_code) << result.err;
        EXPECT_THAT(result.err, Not(IsEmpty()));
      }
      // The same through the environment and --redis=.
      EXPECT_EQ(Checked(With(timeout, commands[1]), url).exit_code, path.exit_code);
      EXPECT_EQ(Checked(With(timeout, With({"--redis=" + url}, commands[1]))).exit_code,
                path.exit_code);
    }
  }
  // --cluster with seed nodes only, the password before them.
  for (const std::string& seeds : {":" + password_ + "@127.0.0.1:1",
                                   "default:" + PercentEncoded(password_) + "@127.0.0.1:1"}) {
    SCOPED_TRACE(seeds);
    for (const auto& command : commands) {
      EXPECT_EQ(Checked(With(With(timeout, {"--cluster", seeds}), command)).exit_code, 3);
    }
  }
}

// Validation and usage errors: the library's and the command line's,
// including command lines that quote the URL back (a URL where a number or
// a command was expected, or among unexpected arguments).
TEST_P(CliPasswordTest, ValidationAndUsageErrors) {
  for (const std::string& url : Urls(password_, host_port_)) {
    SCOPED_TRACE(url);
    for (auto command : Commands(ns_)) {
      // The library refuses the namespace: INVALID_ARGUMENT, exit 2.
      *(std::find(command.begin(), command.end(), "--ns") + 1) = "bad:ns";
      SCOPED_TRACE(::testing::PrintToString(command));
      CliResult result = Checked(With({"--redis", url}, command));
      ExpectUsageError(result, "ns");
    }
    ExpectUsageError(Checked({"--redis", url, "demo", "--players", "0"}), "--players");
    ExpectUsageError(Checked({"--redis", url, "bench", "--operation", "frob"}), "--operation");
    const std::vector<std::string> get = {"link",  "get", "--ns",  ns_,
                                          "--uid", "u1",  "--svc", "scene"};
    // The URL where something else was expected.
    const std::vector<std::vector<std::string>> misplaced = {
        With(With({"--redis", server_->url()}, get), {url}),
        With({"--redis", server_->url()}, With(get, {"--redis=" + url})),
        {"--redis", server_->url(), url},
        {"--redis", server_->url(), "link", url},
        {"--redis", url, "--redis", url, "link", "get"},
        {"--redis", server_->url(), "link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene",
         "--ttl", "-1", "--pod", url},
        {"--redis", server_->url(), "link", "set-many", "--ns", ns_, "--svc", "scene", "--ttl",
         "-1", "--link", url},
        With({"--redis", server_->url()}, With(get, {"--if-persistent=" + url})),
        {"--redis", server_->url(), "--timeout-ms", url, "link", "get"},
        {"--redis", "memory://", "bench", "--operation", "get", "--seconds", url},
        {"--redis", "memory://", "demo", "--players", url},
        {"--redis", "memory://", "demo", "--seed=" + url},
        {"--cluster", url.substr(url.find("://") + 3), "link", url},
    };
    for (const auto& args : misplaced) {
      SCOPED_TRACE(::testing::PrintToString(args));
      CliResult result = Checked(args);
      EXPECT_EQ(result.exit_code, 2) << result.err;
    }
  }
  EXPECT_GT(runs_, 0);
}

INSTANTIATE_TEST_SUITE_P(Passwords, CliPasswordTest,
                         ::testing::Values("k1ttEn,b4nAna pL0m\"qU1nce'gR4pe@m3lon:l1me",
                                           "\" ,'@:0celotX:@' ,\"zEbra9"));

TEST_F(CliTest, EnvironmentSuppliesTheUrlWhenRedisOptionIsAbsent) {
  CliResult set = RunCliRaw(
      {"link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene", "--pod", "4", "--ttl", "-1"},
      url_);
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "{\"previous\":null}\n");
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "4");
}

TEST_F(CliTest, RedisOptionOverridesTheEnvironment) {
  CliResult get =
      RunCliRaw({"--redis", url_, "link", "get", "--ns", ns_, "--uid", "u1", "--svc", "scene"},
                "redis://127.0.0.1:1");
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "{\"pod\":null}\n");
}

}  // namespace
// --- batch writes and the cluster -------------------------------------------

TEST_F(CliTest, LinkSetManyReportsEachLink) {
  SetLink("u1", "scene", 4, -1);
  ExpectOutput({"link", "set-many", "--ns", ns_, "--svc", "scene", "--link", "u1=5", "--link",
                "u2=0", "--ttl", "-1"},
               R"({"results":[{"uid":"u1","previous":4},{"uid":"u2","previous":null}]})");
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "5");
  EXPECT_EQ(raw_.HGetAll(LinksHashKey("u2")).at("scene"), "0");
  ExpectUsageError(
      Run({"link", "set-many", "--ns", ns_, "--svc", "scene", "--link", "u3", "--ttl", "-1"}),
      "--link");
  EXPECT_FALSE(raw_.Exists(LinkKey("u3", "scene")));
}

TEST_F(CliTest, ClusterOptionTalksToTheCluster) {
  const std::string url = sfroute::testing::SharedClusterUrl();
  const std::string seeds = url.substr(std::string("redis-cluster://").size());
  CliResult set = RunCliRaw({"--cluster", seeds, "link", "set", "--ns", ns_, "--uid", "c1", "--svc",
                             "scene", "--pod", "6", "--ttl", "-1"});
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "{\"previous\":null}\n");
  // Read back through the library on the cluster, not through the CLI.
  auto executor = sfroute::Executor::Open({.redis_url = url});
  ASSERT_TRUE(executor.ok()) << executor.status();
  auto pod = (*executor)->GetLinkedPod(ns_, "c1", "scene");
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(*pod, std::optional<sfroute::PodIndex>(6));
  // The standalone server was not written to.
  EXPECT_FALSE(raw_.Exists(LinkKey("c1", "scene")));
}

// --- audit log and metrics (SPEC.md §7, §10) ---------------------------------

std::vector<nlohmann::json> ReadJsonLines(const std::string& path) {
  std::ifstream file(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(file, line);) {
    lines.push_back(nlohmann::json::parse(line, nullptr, false));
    EXPECT_FALSE(lines.back().is_discarded()) << line;
  }
  return lines;
}

std::string TempPath(const std::string& name) {
  return "/tmp/sfroute-cli-test-" + std::to_string(getpid()) + "-" + name;
}

TEST_F(CliTest, AuditLogHasOneLinePerLinkMutationWithItsOutcome) {
  const std::string path = TempPath("audit.log");
  unlink(path.c_str());
  ExpectSuccess({"--audit-log", path, "link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene",
                 "--pod", "3", "--ttl", "-1"});
  ExpectSuccess({"--audit-log", path, "link", "try-set", "--ns", ns_, "--uid", "u1", "--svc",
                 "scene", "--pod", "4", "--ttl", "60"});
  ExpectSuccess({"--audit-log", path, "link", "get", "--ns", ns_, "--uid", "u1", "--svc", "scene"});
  ExpectSuccess(
      {"--audit-log", path, "link", "remove", "--ns", ns_, "--uid", "u1", "--svc", "scene"});
  CliResult refused = Run({"--audit-log", path, "link", "set", "--ns", ns_, "--uid", "bad}uid",
                           "--svc", "scene", "--pod", "1", "--ttl", "-1"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;

  const std::vector<nlohmann::json> lines = ReadJsonLines(path);
  unlink(path.c_str());
  ASSERT_EQ(lines.size(), 4u);  // the read is no mutation
  EXPECT_THAT(lines[0].value("time", ""),
              ::testing::MatchesRegex("20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:"
                                      "[0-6][0-9]\\.[0-9][0-9][0-9]Z"));
  EXPECT_EQ(lines[0]["operation"], "SetLinkedPod");
  EXPECT_EQ(lines[0]["ns"], ns_);
  EXPECT_EQ(lines[0]["uid"], "u1");
  EXPECT_EQ(lines[0]["svc"], "scene");
  EXPECT_EQ(lines[0]["pod"], 3);
  EXPECT_EQ(lines[0]["ttl"], -1);
  EXPECT_EQ(lines[0]["code"], "OK");
  EXPECT_TRUE(lines[0]["previous"].is_null());
  EXPECT_GE(lines[0].value("duration_us", -1), 0);
  EXPECT_EQ(lines[1]["operation"], "TrySetLinkedPod");
  EXPECT_EQ(lines[1]["applied"], false);  // a persistent link to another pod stays
  EXPECT_EQ(lines[1]["previous"], 3);
  EXPECT_EQ(lines[2]["operation"], "RemoveLinkedPod");
  EXPECT_EQ(lines[2]["removed"], true);
  EXPECT_EQ(lines[3]["operation"], "SetLinkedPod");  // failed ones too
  EXPECT_EQ(lines[3]["code"], "INVALID_ARGUMENT");
  EXPECT_THAT(lines[3].value("message", ""), HasSubstr("uid"));
}

TEST_F(CliTest, AnAuditLogThatCannotBeWrittenFailsTheCommand) {
  CliResult result = Run({"--audit-log", "/dev/full", "link", "set", "--ns", ns_, "--uid", "u1",
                          "--svc", "scene", "--pod", "3", "--ttl", "-1"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("audit log /dev/full"));
  EXPECT_EQ(result.out, "{\"previous\":null}\n");  // the link was written: it says so
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "3");
}

// A free loopback port (the kernel's pick, let go for the child to take).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(address.sin_port);
}

// GET http://127.0.0.1:port/path: the whole response, or "" when nobody
// answers.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request =
        "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[8192];
      for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) response.append(buffer, n);
    }
  }
  close(fd);
  return response;
}

// The value of one series line (`name{labels} value`) of an exposition; -1
// when it is not there.
double SeriesValue(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

TEST_F(CliTest, BenchServesMetricsWhileItRunsAndWritesThemAtTheEnd) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string file = TempPath("metrics.txt");
  std::vector<std::string> args = {
      SFROUTE_CLI_PATH, "--redis", url_,        "bench", "--operation",    "set",
      "--callers",      "4",       "--seconds", "4",     "--metrics-port", std::to_string(port),
      "--metrics-file", file,      "--ns",      ns_};
  std::vector<std::string> env = ChildEnvironment(std::nullopt);
  std::vector<char*> argv = NullTerminated(args);
  std::vector<char*> envp = NullTerminated(env);
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  // Scraped mid-run: twice, a second apart; the count grows between them.
  // prometheus::Exposer listens before /metrics is registered on it: a
  // scrape in between gets 404 (seen once under TSan), as a scraper may at
  // start; the next one is answered.
  std::string first;
  for (int i = 0; i < 200 && first.find("200 OK") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    first = HttpGet(port, "/metrics");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string second = HttpGet(port, "/metrics");
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  const std::string ok_sets = R"(sfroute_operations_total{code="OK",operation="SetLinkedPod"})";
  EXPECT_THAT(first, HasSubstr("200 OK"));
  EXPECT_THAT(first, HasSubstr("text/plain"));
  EXPECT_GT(SeriesValue(second, ok_sets), 0) << second.substr(0, 2000);
  EXPECT_GT(SeriesValue(second, ok_sets), SeriesValue(first, ok_sets));
  std::ifstream written(file);
  const std::string text((std::istreambuf_iterator<char>(written)),
                         std::istreambuf_iterator<char>());
  unlink(file.c_str());
  const std::string ok_sets_text =
      R"(sfroute_operations_total{operation="SetLinkedPod",code="OK"})";
  EXPECT_GE(SeriesValue(text, ok_sets_text), SeriesValue(second, ok_sets));
  EXPECT_THAT(text, HasSubstr("sfroute_operation_duration_seconds_bucket"));
  // The port is let go with the run.
  EXPECT_EQ(HttpGet(port, "/metrics"), "");
}

// --- sfroute::cli::Run in this process ----------------------------------------

// --- link scan / pod evacuate (SPEC.md §11) -----------------------------------

class CliEvacuateTest : public CliTest {
 protected:
  // `count` links of "scene" on `pod` (uids <prefix>0...), even ones
  // persistent, odd ones temporary for 1000 s.
  void Links(const std::string& prefix, int count, int pod) {
    std::vector<UidPod> persistent, temporary;
    for (int i = 0; i < count; ++i) {
      (i % 2 == 0 ? persistent : temporary).push_back({prefix + std::to_string(i), pod});
    }
    ASSERT_TRUE(executor_->SetLinkedPods(ns_, "scene", persistent, Ttl::Persistent()).ok());
    ASSERT_TRUE(executor_->SetLinkedPods(ns_, "scene", temporary, Ttl::Seconds(1000)).ok());
  }

  // uid -> pod of every link of "scene", read with the library.
  std::map<std::string, PodIndex> Stored() {
    std::map<std::string, PodIndex> pods;
    EXPECT_TRUE(executor_
                    ->ScanLinks(ns_, "scene", std::nullopt, 1000,
                                [&](const std::vector<LinkInfo>& links) {
                                  for (const LinkInfo& link : links) pods[link.uid] = link.pod;
                                  return true;
                                })
                    .ok());
    return pods;
  }

  std::vector<std::string> Evacuate(std::vector<std::string> extra) {
    std::vector<std::string> args = {"pod", "evacuate", "--ns", ns_, "--svc", "scene"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // The summary line on stdout (as printed: nlohmann::json would reorder
  // the keys); every stderr line is a JSON object.
  std::string Summary(const CliResult& run) {
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::istringstream err(run.err);
    for (std::string line; std::getline(err, line);) {
      nlohmann::json progress = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(progress.is_object()) << line;  // progress, or a warning
    }
    EXPECT_TRUE(nlohmann::json::parse(run.out, nullptr, false).is_object()) << run.out;
    return run.out.empty() ? run.out : run.out.substr(0, run.out.size() - 1);
  }

  std::unique_ptr<Executor> executor_ = *Executor::Open({.redis_url = url_});
};

TEST_F(CliEvacuateTest, LinkScanPrintsOneJsonLinePerLink) {
  Links("u", 3, 2);
  SetLink("other", "scene", 5, -1);
  SetLink("u0", "chat", 2, -1);  // another service
  CliResult run = Run({"link", "scan", "--ns", ns_, "--svc", "scene"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  std::map<std::string, nlohmann::json> lines;
  std::istringstream out(run.out);
  for (std::string line; std::getline(out, line);) {
    nlohmann::json link = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(link.is_object()) << line;
    lines[link.value("uid", "")] = link;
  }
  ASSERT_EQ(lines.size(), 4u) << run.out;
  EXPECT_THAT(run.out, HasSubstr(R"({"uid":"u0","pod":2,"ttl":-1})"
                                 "\n"));
  EXPECT_THAT(run.out, HasSubstr(R"({"uid":"other","pod":5,"ttl":-1})"
                                 "\n"));
  EXPECT_EQ(lines["u1"]["pod"], 2);
  EXPECT_GT(lines["u1"]["ttl"].get<int>(), 900);
  EXPECT_LE(lines["u1"]["ttl"].get<int>(), 1000);

  ExpectOutput({"link", "scan", "--ns", ns_, "--svc", "scene", "--pod", "5"},
               R"({"uid":"other","pod":5,"ttl":-1})");
  CliResult none = Run({"link", "scan", "--ns", ns_, "--svc", "none"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "");
  ExpectUsageError(Run({"link", "scan", "--ns", ns_, "--svc", "scene", "--pod", "-1"}), "--pod");
  ExpectUsageError(Run({"link", "scan", "--ns", "a:b", "--svc", "scene"}), "ns");
}

TEST_F(CliEvacuateTest, EvacuateToOnePodMovesEveryLinkOfThePodOnce) {
  Links("a", 300, 2);
  Links("b", 50, 3);
  CliResult run = Run(Evacuate({"--pod", "2", "--to", "4"}));
  EXPECT_EQ(Summary(run), R"({"scanned":300,"moved":300,"skipped":0,"failed":0,"to":{"4":300}})");
  std::map<std::string, PodIndex> stored = Stored();
  ASSERT_EQ(stored.size(), 350u);
  for (const auto& [uid, pod] : stored) EXPECT_EQ(pod, uid[0] == 'a' ? 4 : 3) << uid;
  // Persistence and TTLs kept, the links hash in step.
  EXPECT_EQ(raw_.Ttl(LinkKey("a0", "scene")), -1);
  EXPECT_EQ(raw_.HGetAll(LinksHashKey("a0")), (std::map<std::string, std::string>{{"scene", "4"}}));
  EXPECT_GT(raw_.Ttl(LinkKey("a1", "scene")), 900);
  EXPECT_TRUE(raw_.HGetAll(LinksHashKey("a1")).empty());
  // Again: nothing left.
  EXPECT_EQ(Summary(Run(Evacuate({"--pod", "2", "--to", "4"}))),
            R"({"scanned":0,"moved":0,"skipped":0,"failed":0,"to":{}})");
  ExpectUsageError(Run(Evacuate({"--pod", "2", "--to", "2"})), "--to");
  ExpectUsageError(Run(Evacuate({"--pod", "2", "--to", "soon"})), "--to");
  ExpectUsageError(Run(Evacuate({"--pod", "2", "--rate", "0"})), "--rate");
}

TEST_F(CliEvacuateTest, EvacuateToLiveSpreadsOverTheLeastLoadedLivePods) {
  Links("a", 300, 2);
  SetState("scene", 0, "10-" + std::to_string(UnixMs()));
  SetState("scene", 1, "0-" + std::to_string(UnixMs()));
  SetState("scene", 2, "0-" + std::to_string(UnixMs()));          // the pod evacuated, still live
  SetState("scene", 3, "0-" + std::to_string(UnixMs() - 60000));  // not live
  const auto keys_before = NamespaceKeys();
  // Dry run: the plan, nothing written.
  CliResult dry = Run(Evacuate({"--pod", "2", "--to", "live", "--dry-run"}));
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.err, HasSubstr("pod 2 is live"));
  EXPECT_EQ(
      dry.out,
      R"({"dry_run":true,"scanned":300,"would_move":300,"moved":0,"skipped":0,"failed":0,"to":{"0":145,"1":155}})"
      "\n");
  EXPECT_EQ(NamespaceKeys(), keys_before);
  for (const auto& [uid, pod] : Stored()) EXPECT_EQ(pod, 2) << uid;

  CliResult run = Run(Evacuate({"--pod", "2", "--to", "live"}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Summary(run),
            R"({"scanned":300,"moved":300,"skipped":0,"failed":0,"to":{"0":145,"1":155}})");
  std::map<PodIndex, int> per_pod;
  for (const auto& [uid, pod] : Stored()) ++per_pod[pod];
  EXPECT_EQ(per_pod, (std::map<PodIndex, int>{{0, 145}, {1, 155}}));

  // No live pod but the one evacuated: nothing moves.
  const std::string lone = UniqueNamespace();
  ASSERT_TRUE(executor_->SetLinkedPod(lone, "u", "scene", 2, Ttl::Persistent()).ok());
  CliResult none = Run({"pod", "evacuate", "--ns", lone, "--svc", "scene", "--pod", "2"});
  ExpectError(none, 3, "UNAVAILABLE", "no live pod");
  EXPECT_EQ(raw_.Get("sf:{" + lone + ":lk:u}scene"), "2");
  raw_.Command({"DEL", "sf:{" + lone + ":lk:u}scene", "sf:{" + lone + ":lk:u}"});
}

TEST_F(CliEvacuateTest, RateIsHonouredAndALinkMovedMeanwhileIsSkipped) {
  Links("a", 60, 2);
  // Moves are paced at 100/s: 60 take about 0.6 s. Once they have begun
  // (the scan is over), someone else moves a link still on pod 2 (its own
  // compare-and-move, so it really was still there).
  std::string stolen;
  std::thread other([this, &stolen] {
    std::vector<std::string> uids;
    for (int i = 0; i < 60; ++i) uids.push_back("a" + std::to_string(i));
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (stolen.empty() && std::chrono::steady_clock::now() < give_up) {
      auto pods = executor_->BatchGetLinkedPod(ns_, uids, "scene");
      if (pods.ok() && pods->contains(4) && pods->contains(2)) {
        for (const std::string& uid : (*pods)[2]) {
          auto moved = executor_->MoveLinkedPod(ns_, uid, "scene", 2, 7);
          if (moved.ok() && *moved) {
            stolen = uid;
            break;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  const auto start = std::chrono::steady_clock::now();
  CliResult run = Run(Evacuate({"--pod", "2", "--to", "4", "--rate", "100"}));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  other.join();
  EXPECT_EQ(Summary(run), R"({"scanned":60,"moved":59,"skipped":1,"failed":0,"to":{"4":59}})");
  EXPECT_GE(seconds, 0.58);
  EXPECT_LT(seconds, 5.0);
  ASSERT_FALSE(stolen.empty());
  EXPECT_EQ(raw_.Get(LinkKey(stolen, "scene")), "7") << "not overwritten";
  EXPECT_THAT(run.err, HasSubstr(R"({"progress":{"phase":"move")"));
}

TEST_F(CliEvacuateTest, AnInterruptedEvacuationCompletesWhenRunAgain) {
  Links("a", 200, 2);
  // A run paced at 200 moves/s (1 s of moves), stopped with Ctrl-C (SIGINT).
  std::vector<std::string> args = {SFROUTE_CLI_PATH, "--redis", url_};
  for (const std::string& arg : Evacuate({"--pod", "2", "--to", "4", "--rate", "200"})) {
    args.push_back(arg);
  }
  std::vector<std::string> env = ChildEnvironment(std::nullopt);
  std::vector<char*> argv = NullTerminated(args);
  std::vector<char*> envp = NullTerminated(env);
  const int devnull = open("/dev/null", O_WRONLY);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  // Interrupted once moves have begun (the scan before them takes its time
  // on the shared server).
  std::vector<std::string> uids;
  for (int i = 0; i < 200; ++i) uids.push_back("a" + std::to_string(i));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    auto pods = executor_->BatchGetLinkedPod(ns_, uids, "scene");
    if (pods.ok() && pods->contains(4)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  close(devnull);
  std::map<PodIndex, int> per_pod;
  for (const auto& [uid, pod] : Stored()) ++per_pod[pod];
  ASSERT_GT(per_pod[2], 0) << "interrupted before the end";
  ASSERT_GT(per_pod[4], 0) << "some moved before the interruption";
  const int left = per_pod[2];

  nlohmann::json summary =
      nlohmann::json::parse(Summary(Run(Evacuate({"--pod", "2", "--to", "4"}))), nullptr, false);
  EXPECT_EQ(summary.value("moved", -1), left);
  EXPECT_EQ(summary.value("failed", -1), 0);
  per_pod.clear();
  for (const auto& [uid, pod] : Stored()) ++per_pod[pod];
  EXPECT_EQ(per_pod, (std::map<PodIndex, int>{{4, 200}}));
}

#ifdef SFROUTE_CLI_IN_PROCESS
namespace {

// Runs sfroute::cli::Run in this process with `args` after the program
// name, capturing what it writes to std::cout and std::cerr.
CliResult RunInProcess(std::vector<std::string> args) {
  args.insert(args.begin(), "sfroute");
  std::vector<char*> argv = NullTerminated(args);
  std::ostringstream out, err;
  std::streambuf* const saved_out = std::cout.rdbuf(out.rdbuf());
  std::streambuf* const saved_err = std::cerr.rdbuf(err.rdbuf());
  CliResult result;
  result.exit_code = sfroute::cli::Run(static_cast<int>(args.size()), argv.data());
  std::cout.rdbuf(saved_out);
  std::cerr.rdbuf(saved_err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

TEST_F(CliTest, RunInProcessCanBeCalledManyTimes) {
  const std::vector<std::string> get = {"--redis", url_,    "link", "get",   "--ns",
                                        ns_,       "--uid", "u1",   "--svc", "scene"};
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    CliResult before = RunInProcess(get);
    EXPECT_EQ(before.exit_code, 0) << before.err;
    EXPECT_EQ(before.out,
              round == 0 ? "{\"pod\":null}\n" : "{\"pod\":" + std::to_string(round) + "}\n");
    CliResult set =
        RunInProcess({"--redis", url_, "link", "set", "--ns", ns_, "--uid", "u1", "--svc", "scene",
                      "--pod", std::to_string(round + 1), "--ttl", "-1"});
    EXPECT_EQ(set.exit_code, 0) << set.err;
    // Usage errors and help between the calls leave nothing behind.
    ExpectUsageError(RunInProcess({"link", "frob"}), "frob");
    ExpectUsageError(RunInProcess({"--redis", url_, "link", "set", "--ns", ns_, "--uid", "u1",
                                   "--svc", "scene", "--pod", "x", "--ttl", "-1"}),
                     "--pod");
    CliResult help = RunInProcess({"link", "set", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_THAT(help.out, HasSubstr("--ttl"));
    CliResult bench = RunInProcess({"--redis", "memory://", "bench", "--operation", "set",
                                    "--operations", "5", "--callers", "2", "--keyspace", "3"});
    EXPECT_EQ(bench.exit_code, 0) << bench.err;
    EXPECT_THAT(bench.out, HasSubstr("\"calls\":5"));
  }
  EXPECT_EQ(raw_.Get(LinkKey("u1", "scene")), "3");
}

// Many threads writing one audit log: every record lands, one whole JSON
// line each.
TEST(CliInProcessTest, TheAuditLogKeepsEveryRecordOfSixteenThreads) {
  const std::string path = TempPath("audit-threads.log");
  unlink(path.c_str());
  {
    auto log = sfroute::cli::AuditLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status();
    Options options{.redis_url = SharedRedisUrl()};
    options.audit_sink = (*log)->Sink();
    auto executor = Executor::Open(options);
    ASSERT_TRUE(executor.ok()) << executor.status();
    const std::string ns = UniqueNamespace();
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 100; ++i) {
          const std::string uid = "u" + std::to_string(t) + "-" + std::to_string(i);
          EXPECT_TRUE((*executor)->SetLinkedPod(ns, uid, "scene", t, Ttl::Persistent()).ok());
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_TRUE((*log)->status().ok());
  }
  const std::vector<nlohmann::json> lines = ReadJsonLines(path);
  unlink(path.c_str());
  EXPECT_EQ(lines.size(), 1600u);
  std::set<std::string> uids;
  for (const nlohmann::json& line : lines) {
    if (line.is_discarded()) continue;
    const std::string uid = line.value("uid", "");
    uids.insert(uid);
    EXPECT_EQ(line["code"], "OK");
    EXPECT_EQ("u" + std::to_string(line.value("pod", -1)) + "-", uid.substr(0, uid.find('-') + 1));
  }
  EXPECT_EQ(uids.size(), 1600u);
}

TEST(CliInProcessTest, NoArgumentsAtAllIsAUsageError) {
  char* argv[] = {nullptr};
  std::ostringstream err;
  std::streambuf* const saved_err = std::cerr.rdbuf(err.rdbuf());
  const int exit_code = sfroute::cli::Run(0, argv);
  std::cerr.rdbuf(saved_err);
  EXPECT_EQ(exit_code, 2);
  EXPECT_THAT(err.str(), HasSubstr("a command is required"));
}

}  // namespace
#else
TEST(CliInProcessTest, NeedsSfrouteCliLib) {
  GTEST_SKIP() << "cli_test is not linked with sfroute_cli_lib (tools/sfroute/cli.h)";
}
#endif

}  // namespace sfroute::testing
