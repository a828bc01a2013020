// Metrics, audit records and the connection layers' log lines (SPEC.md §7):
// the exposition parses with a real Prometheus text parser (Debian's
// python3-prometheus-client) and its counts are the calls made, errors
// included; the histogram is cumulative and agrees with the counter; one
// audit record per link mutation with its outcome, under 16 threads; the
// layers below the executor log what happens, at most once a second per
// kind and node; no uid and no password where they do not belong.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "deployment.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
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
using ::testing::HasSubstr;
using ::testing::Not;
using testing::OpenOrDie;
using testing::RawRedis;
using testing::RedisServer;

// One sample of the exposition, as the Python parser read it.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses `text` with prometheus_client's text_string_to_metric_families;
// fails the test when it does not parse.
std::vector<Sample> Parse(const std::string& text) {
  char path[] = "/tmp/sfroute-metrics-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  {
    std::ofstream file(path);
    file << text;
  }
  close(fd);
  const std::string command =
      std::string("/usr/bin/python3 -c '") +  // Debian's, with its package
      "import json, sys\n"
      "from prometheus_client.parser import text_string_to_metric_families\n"
      "out = []\n"
      "for family in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
      "  for s in family.samples:\n"
      "    out.append([s.name, s.labels, s.value])\n"
      "print(json.dumps(out))' " +
      path + " 2>&1";
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << output;
  }
  unlink(path);
  std::vector<Sample> samples;
  const auto json = nlohmann::json::parse(output, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(json.is_array()) << "the exposition did not parse: " << output.substr(0, 500);
  if (!json.is_array()) return samples;
  for (const auto& item : json) {
    Sample sample{item[0].get<std::string>(), {}, item[2].get<double>()};
    for (auto& [key, value] : item[1].items()) sample.labels[key] = value.get<std::string>();
    samples.push_back(std::move(sample));
  }
  return samples;
}

// The value of `name` with exactly `labels`; -1 when there is none.
double Value(const std::vector<Sample>& samples, const std::string& name,
             const std::map<std::string, std::string>& labels) {
  for (const Sample& sample : samples) {
    if (sample.name == name && sample.labels == labels) return sample.value;
  }
  return -1;
}

double Calls(const std::vector<Sample>& samples, const std::string& operation,
             const std::string& code) {
  return Value(samples, "sfroute_operations_total", {{"operation", operation}, {"code", code}});
}

// Log lines an executor sent to its sink.
class LogCapture {
 public:
  LogSink Sink() {
    return [this](LogLevel, std::string_view message) {
      absl::MutexLock lock(&mutex_);
      lines_.emplace_back(message);
    };
  }
  std::vector<std::string> Lines() {
    absl::MutexLock lock(&mutex_);
    return lines_;
  }
  int Count(std::string_view text) {
    int count = 0;
    for (const std::string& line : Lines()) count += line.find(text) != std::string::npos;
    return count;
  }

 private:
  absl::Mutex mutex_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mutex_);
};

class ObservabilityTest : public DeploymentTest {};

TEST_P(ObservabilityTest, TheExpositionParsesAndCountsEveryCallByCode) {
  auto executor = OpenOrDie(ExecutorOptions());  // counts start at 0
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(executor->SetLinkedPod(ns_, "u" + std::to_string(i), "scene", i, Ttl::Persistent()));
  }
  for (int i = 0; i < 7; ++i) ASSERT_OK(executor->GetLinkedPod(ns_, "u1", "scene"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_STATUS_CODE(executor->GetLinkedPod(ns_, "bad{uid}", "scene"), INVALID_ARGUMENT);
  }
  ASSERT_EQ(raw().Command({"SET", LinkKey("corrupt", "scene"), "x"}).str, "OK");
  EXPECT_STATUS_CODE(executor->GetLinkedPod(ns_, "corrupt", "scene"), DATA_LOSS);
  std::atomic<int> async_done{0};
  for (int i = 0; i < 4; ++i) {
    executor->BatchGetLinkedPodAsync(ns_, {"u1", "u2"}, "scene",
                                     [&](absl::StatusOr<PodUids>) { ++async_done; });
  }
  while (async_done.load() < 4) std::this_thread::sleep_for(milliseconds(1));
  std::this_thread::sleep_for(milliseconds(20));  // the last callback has returned

  const std::vector<Sample> samples = Parse(executor->MetricsText());
  EXPECT_EQ(Calls(samples, "SetLinkedPod", "OK"), 5);
  EXPECT_EQ(Calls(samples, "GetLinkedPod", "OK"), 7);
  EXPECT_EQ(Calls(samples, "GetLinkedPod", "INVALID_ARGUMENT"), 3);
  EXPECT_EQ(Calls(samples, "GetLinkedPod", "DATA_LOSS"), 1);
  EXPECT_EQ(Calls(samples, "BatchGetLinkedPod", "OK"), 4);
  EXPECT_EQ(Calls(samples, "TrySetLinkedPod", "OK"), 0);  // every operation is there
  EXPECT_EQ(Value(samples, "sfroute_calls_in_flight", {}), 0);

  // The histogram: cumulative buckets, +Inf = _count = the calls counted.
  for (const std::string operation : {"SetLinkedPod", "GetLinkedPod", "BatchGetLinkedPod"}) {
    SCOPED_TRACE(operation);
    double calls = 0;
    for (const Sample& sample : samples) {
      if (sample.name == "sfroute_operations_total" && sample.labels.at("operation") == operation) {
        calls += sample.value;
      }
    }
    double last = 0;
    int buckets = 0;
    for (const Sample& sample : samples) {
      if (sample.name != "sfroute_operation_duration_seconds_bucket" ||
          sample.labels.at("operation") != operation) {
        continue;
      }
      EXPECT_GE(sample.value, last) << "le=" << sample.labels.at("le");
      last = sample.value;
      ++buckets;
    }
    EXPECT_EQ(buckets, 18);  // 50 µs ... 10 s, and +Inf
    EXPECT_EQ(last, calls);
    EXPECT_EQ(
        Value(samples, "sfroute_operation_duration_seconds_count", {{"operation", operation}}),
        calls);
    EXPECT_GT(Value(samples, "sfroute_operation_duration_seconds_sum", {{"operation", operation}}),
              0);
  }
  // No uid in any label.
  EXPECT_THAT(executor->MetricsText(), Not(HasSubstr("corrupt")));
  EXPECT_THAT(executor->MetricsText(), Not(HasSubstr("u1")));
}

TEST_P(ObservabilityTest, EveryLinkMutationIsAuditedOnceWithItsOutcome) {
  struct Audit {
    absl::Mutex mutex;
    std::vector<AuditRecord> records;
  };
  auto audit = std::make_shared<Audit>();
  Options options = ExecutorOptions();
  options.audit_sink = [audit](const AuditRecord& record) {
    absl::MutexLock lock(&audit->mutex);
    audit->records.push_back(record);
  };
  auto executor = OpenOrDie(options);
  ASSERT_OK(executor->SetServiceState(ns_, "match", 2, "1-100"));  // not a link: not audited
  constexpr int kThreads = 16;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string uid = "u" + std::to_string(t);
      EXPECT_OK(executor->SetLinkedPod(ns_, uid, "scene", 1, Ttl::Persistent()));
      EXPECT_OK(executor->TrySetLinkedPod(ns_, uid, "scene", 3, Ttl::Seconds(60)));
      EXPECT_OK(executor->SetLinkedPodIfAbsent(ns_, uid, "chat", 4, Ttl::Seconds(60)));
      EXPECT_OK(executor->RemoveLinkedPodWithId(ns_, uid, "chat", 0, 9));
      EXPECT_OK(executor->RemoveLinkedPod(ns_, uid, "chat", 30));
      EXPECT_OK(executor->ComputeLinkedPodIfAbsent(ns_, uid, "match", Ttl::Seconds(60), 0));
      EXPECT_OK(executor->SetLinkedPods(ns_, "batch", {{uid + "a", 5}, {uid + "b", 6}},
                                        Ttl::Persistent()));
      // Failed ones are audited too.
      EXPECT_STATUS_CODE(executor->SetLinkedPod(ns_, uid, "scene", -1, Ttl::Persistent()),
                         INVALID_ARGUMENT);
    });
  }
  for (auto& thread : threads) thread.join();

  absl::MutexLock lock(&audit->mutex);
  std::map<std::string, int> per_operation;
  for (const AuditRecord& record : audit->records) per_operation[std::string(record.operation)]++;
  EXPECT_EQ(per_operation, (std::map<std::string, int>{{"ComputeLinkedPodIfAbsent", kThreads},
                                                       {"RemoveLinkedPod", kThreads},
                                                       {"RemoveLinkedPodWithId", kThreads},
                                                       {"SetLinkedPod", 2 * kThreads},
                                                       {"SetLinkedPodIfAbsent", kThreads},
                                                       {"SetLinkedPods", 2 * kThreads},
                                                       {"TrySetLinkedPod", kThreads}}));
  for (const AuditRecord& record : audit->records) {
    SCOPED_TRACE(std::string(record.operation) + " " + record.uid);
    EXPECT_EQ(record.ns, ns_);
    EXPECT_GT(record.time.time_since_epoch().count(), 0);
    if (record.operation == "SetLinkedPod" && record.code == absl::StatusCode::kOk) {
      EXPECT_EQ(record.pod, 1);
      EXPECT_EQ(record.ttl, -1);
      EXPECT_TRUE(record.has_previous);
      EXPECT_EQ(record.previous, std::nullopt);
      EXPECT_EQ(record.pod_after, 1);
    } else if (record.operation == "SetLinkedPod") {
      EXPECT_EQ(record.code, absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(record.message, HasSubstr("pod"));
      EXPECT_FALSE(record.pod_after.has_value());
    } else if (record.operation == "TrySetLinkedPod") {
      // A different pod holds a persistent link: not applied, it stays.
      EXPECT_EQ(record.applied, false);
      EXPECT_EQ(record.pod_after, 1);
      EXPECT_EQ(record.previous, 1);
    } else if (record.operation == "SetLinkedPodIfAbsent") {
      EXPECT_EQ(record.pod_after, 4);
    } else if (record.operation == "RemoveLinkedPodWithId") {
      EXPECT_EQ(record.pod, 9);
      EXPECT_EQ(record.removed, false);
    } else if (record.operation == "RemoveLinkedPod") {
      EXPECT_EQ(record.ttl, 30);
      EXPECT_EQ(record.removed, true);
    } else if (record.operation == "ComputeLinkedPodIfAbsent") {
      EXPECT_EQ(record.pod_after, 2);
    } else if (record.operation == "SetLinkedPods") {
      EXPECT_EQ(record.svc, "batch");
      EXPECT_EQ(record.pod, record.uid.back() == 'a' ? 5 : 6);
      EXPECT_EQ(record.code, absl::StatusCode::kOk);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(, ObservabilityTest, ::testing::ValuesIn(Deployments()),
                         DeploymentParamName());

// --- Redis only: faults, reloads, the connection layers' log --------------

TEST(ObservabilityFaultsTest, FaultsAreCountedByCodeAndNodeAndLoggedAtMostOnceASecond) {
  auto server = RedisServer::Start();
  LogCapture log;
  Options options{
      .redis_url = server->url(), .command_timeout = milliseconds(200), .log_sink = log.Sink()};
  auto executor = OpenOrDie(options);
  ASSERT_OK(executor->GetLinkedPod("ns", "u", "svc"));
  server->Freeze();
  EXPECT_STATUS_CODE(executor->GetLinkedPod("ns", "u", "svc"), DEADLINE_EXCEEDED);
  server->Thaw();
  server->Kill();
  for (int i = 0; i < 10; ++i) {
    EXPECT_STATUS_CODE(executor->GetLinkedPod("ns", "u", "svc"), UNAVAILABLE);
  }
  // Ten failed opens in well under a second: one line, the rest held back.
  EXPECT_EQ(log.Count("cannot open a connection"), 1);
  std::this_thread::sleep_for(milliseconds(1100));
  EXPECT_STATUS_CODE(executor->GetLinkedPod("ns", "u", "svc"), UNAVAILABLE);
  EXPECT_EQ(log.Count("cannot open a connection"), 2);
  EXPECT_EQ(log.Count("more like it since the last one"), 1);
  server->Restart();
  ASSERT_OK(executor->GetLinkedPod("ns", "u", "svc"));
  EXPECT_EQ(log.Count("connected to 127.0.0.1:" + std::to_string(server->port()) + " again"), 1);

  const std::vector<Sample> samples = Parse(executor->MetricsText());
  const std::string node = "127.0.0.1:" + std::to_string(server->port());
  EXPECT_EQ(Calls(samples, "GetLinkedPod", "OK"), 2);
  EXPECT_EQ(Calls(samples, "GetLinkedPod", "DEADLINE_EXCEEDED"), 1);
  EXPECT_EQ(Calls(samples, "GetLinkedPod", "UNAVAILABLE"), 11);
  // Each UNAVAILABLE call waited for its own connection to fail (the lost
  // one, or a new one that could not open).
  EXPECT_GE(Value(samples, "sfroute_connection_failures_total", {{"node", node}}), 11);
  EXPECT_EQ(Value(samples, "sfroute_connections_opened_total", {{"node", node}}), 2);
}

TEST(ObservabilityFaultsTest, ScriptReloadsAreCountedAndNoPasswordIsLoggedOrLabeled) {
  const std::string password = "pw,s3cr3t uid-marker";
  auto server = RedisServer::Start({"--requirepass", password});
  RawRedis raw(server->url(), "", password);
  LogCapture log;
  auto executor = OpenOrDie(
      {.redis_url = "redis://:pw%2Cs3cr3t%20uid-marker@127.0.0.1:" + std::to_string(server->port()),
       .log_sink = log.Sink()});
  ASSERT_OK(executor->SetLinkedPod("ns", "player-marker", "svc", 1, Ttl::Persistent()));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(raw.Command({"SCRIPT", "FLUSH"}).str, "OK");
    ASSERT_OK(executor->SetLinkedPod("ns", "player-marker", "svc", 2, Ttl::Persistent()));
  }
  const std::string text = executor->MetricsText();
  const std::vector<Sample> samples = Parse(text);
  // The first call met NOSCRIPT too (a fresh server), then each flush.
  EXPECT_EQ(Value(samples, "sfroute_script_reloads_total", {}), 4);
  EXPECT_GE(log.Count("NOSCRIPT"), 1);
  EXPECT_THAT(text, Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(text, Not(HasSubstr("player-marker")));
  for (const std::string& line : log.Lines()) EXPECT_THAT(line, Not(HasSubstr("s3cr3t")));
}

}  // namespace
}  // namespace sfroute
