// Client CPU per call (issue 5): what sfroute itself costs around one round
// trip — validation, keys, argument vectors, RESP encoding of the commands,
// RESP parsing of the replies, reply checks — measured with Google Benchmark
// against in-process backends, so no network, system call or server time is
// counted.
//
// CannedBackend encodes what the executor sends as the connection would and
// parses canned reply bytes like Redis's: the figures are sfroute's own
// overhead. canned_cluster does the same under the real cluster backend
// (three canned primaries): the figures add what routing by slot costs. MemoryBackend runs the real
// scripts in embedded Lua: the figures add the cost of an in-process "server".
//
// Router/CachedRoute: a route a gateway's Router answers from its cache (no
// Redis call: the redis_calls counter shows 0), on 1, 2 and 50 threads
// sharing one router.
#include <benchmark/benchmark.h>

#include <charconv>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "cluster/cluster_backend.h"
#include "executor_factory.h"
#include "redis/resp.h"
#include "reply.h"
#include "sfroute/reporter.h"
#include "sfroute/router.h"
#include "sfroute/sfroute.h"

namespace sfroute {
namespace {

using internal::Reply;

// Answers like Redis would to what the executor sends, without doing work:
// encodes the commands as a connection would and parses the reply bytes
// Redis would send back. Not thread-safe (the benchmarks call from one
// thread).
class CannedServer {
 public:
  // What a connection does with commands: encodes them, then reads the
  // replies to the bytes it wrote.
  absl::StatusOr<std::vector<Reply>> Execute(const std::vector<internal::Command>& commands) {
    wire_.clear();
    for (const auto& command : commands) internal::AppendCommand(command, wire_);
    return Answer(wire_, commands.size());
  }

  // The replies to `count` commands encoded in `wire`: what Redis would
  // send back for them, parsed.
  absl::StatusOr<std::vector<Reply>> Answer(std::string_view wire, std::size_t count) {
    if (!Respond(wire, count)) return absl::InternalError("canned: malformed command");
    parser_.Feed(answers_.data(), answers_.size());
    std::vector<Reply> replies;
    replies.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      auto complete = parser_.Next(replies);
      if (!complete.ok()) return complete.status();
      if (!*complete) return absl::InternalError("a canned answer is cut short");
    }
    return replies;
  }

 private:
  // The server's side: reads the commands and puts the bytes Redis would
  // send back in answers_ (scripts/instructions.sh leaves it out of the
  // client's count; so it is never inlined).
  [[gnu::noinline]] bool Respond(std::string_view wire, std::size_t count) {
    answers_.clear();
    for (std::size_t i = 0; i < count; ++i) {
      std::size_t arguments = 0;
      std::string_view name;
      if (!Next(wire, arguments, name)) return false;
      answers_.append(AnswerTo(name, arguments - 1));
    }
    return true;
  }

  // Reads one command off the front of `wire`: its number of arguments
  // and its name (the server's side of the protocol, without the work).
  static bool Next(std::string_view& wire, std::size_t& arguments, std::string_view& name) {
    auto number = [&wire](char kind, std::size_t& value) {
      if (wire.empty() || wire[0] != kind) return false;
      const auto [end, error] = std::from_chars(wire.data() + 1, wire.data() + wire.size(), value);
      if (error != std::errc() || wire.end() - end < 2) return false;
      wire.remove_prefix(end - wire.data() + 2);  // the number and its CRLF
      return true;
    };
    if (!number('*', arguments) || arguments == 0) return false;
    for (std::size_t i = 0; i < arguments; ++i) {
      std::size_t size = 0;
      if (!number('$', size) || wire.size() < size + 2) return false;
      if (i == 0) name = wire.substr(0, size);
      wire.remove_prefix(size + 2);
    }
    return true;
  }

  // The bytes Redis would send back (the server's side: built once).
  std::string_view AnswerTo(std::string_view name, std::size_t keys) {
    if (name == "GET") return "$1\r\n7\r\n";
    if (name == "MGET") {
      std::string& answer = mget_answers_[keys];
      if (answer.empty()) {
        answer = "*" + std::to_string(keys) + "\r\n";
        for (std::size_t i = 0; i < keys; ++i) answer += "$1\r\n7\r\n";
      }
      return answer;
    }
    if (name == "CLUSTER") {
      // Three primaries, 127.0.0.1:7000-7002, a third of the slots each.
      return "*3\r\n"
             "*3\r\n:0\r\n:5460\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n"
             "*3\r\n:5461\r\n:10922\r\n*2\r\n$9\r\n127.0.0.1\r\n:7001\r\n"
             "*3\r\n:10923\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:7002\r\n";
    }
    return "*2\r\n:1\r\n$1\r\n6\r\n";  // EVALSHA set_link: {applied, previous}
  }

  internal::ReplyParser parser_;  // long-lived, as on a connection
  std::string wire_;              // kept, as a connection's buffer
  std::string answers_;
  std::map<std::size_t, std::string> mget_answers_;  // by key count
};

// A standalone Redis that answers at once.
class CannedBackend : public internal::Backend {
 public:
  void Send(const internal::Batch& batch, std::shared_ptr<internal::CallControl>,
            internal::BatchDone done) override {
    std::move(done)(server_.Execute(batch.commands));
  }
  void Shutdown(const absl::Status&) override {}

 private:
  CannedServer server_;
};

// One node of a Redis Cluster that answers at once, under the real
// cluster backend (slot map, routing, plans, merges).
class CannedNode : public internal::NodeSender {
 public:
  void SendWire(const internal::WireBatch& batch, std::shared_ptr<internal::CallControl> call,
                internal::BatchDone done) override {
    internal::GiveReplies(batch.checked, call, std::move(done),
                          server_.Answer(batch.bytes, batch.commands));
  }
  void Sweep(internal::SteadyClock::time_point) override {}
  void Shutdown(const absl::Status&) override {}

 private:
  CannedServer server_;
};

std::vector<std::string> Uids(int count) {
  std::vector<std::string> uids;
  for (int i = 0; i < count; ++i) uids.push_back("player-" + std::to_string(100000 + i));
  return uids;
}

std::unique_ptr<Executor> OpenMemory() {
  auto executor = Executor::Open({.redis_url = "memory://"});
  return executor.ok() ? *std::move(executor) : nullptr;
}

std::unique_ptr<Executor> OpenCanned() {
  auto loop = internal::EventLoop::Start();
  if (!loop.ok()) return nullptr;
  return internal::ExecutorFactory::Make(internal::ExecutorFactory::NewEvents(Options{}),
                                         std::make_shared<CannedBackend>(), *std::move(loop),
                                         Options{});
}

std::unique_ptr<Executor> OpenCannedCluster() {
  auto loop = internal::EventLoop::Start();
  if (!loop.ok()) return nullptr;
  auto backend = std::make_shared<internal::ClusterBackend>(
      std::vector<internal::HostPort>{{"127.0.0.1", 7000}}, internal::ConnectionOptions{}, 1, *loop,
      [](internal::ConnectionOptions) { return std::make_shared<CannedNode>(); });
  return internal::ExecutorFactory::Make(internal::ExecutorFactory::NewEvents(Options{}),
                                         std::move(backend), *std::move(loop), Options{});
}

// One call about one uid; the uid changes every time, as in a game server.
using OneUidCall = void (*)(Executor& executor, const std::string& uid);

void SetLinkedPod(Executor& executor, const std::string& uid) {
  benchmark::DoNotOptimize(executor.SetLinkedPod("bench", uid, "scene", 7, Ttl::Persistent()));
}

void TrySetLinkedPod(Executor& executor, const std::string& uid) {
  benchmark::DoNotOptimize(executor.TrySetLinkedPod("bench", uid, "scene", 7, Ttl::Seconds(300)));
}

void GetLinkedPod(Executor& executor, const std::string& uid) {
  benchmark::DoNotOptimize(executor.GetLinkedPod("bench", uid, "scene"));
}

// Opens the executor and makes one call no case measures, so what a first
// call costs once (a cluster's slot map loaded, a thread's first buffers)
// is paid before the timing starts, once per run of a case, and stays out
// of every case's figures (scripts/instructions.sh takes the difference of
// two runs, which pay it alike).
std::unique_ptr<Executor> OpenWarm(std::unique_ptr<Executor> (*open)()) {
  auto executor = open();
  executor->GetWorkloadState("bench", "scene").IgnoreError();
  return executor;
}

void BM_OneUid(benchmark::State& state, std::unique_ptr<Executor> (*open)(), OneUidCall call) {
  auto executor = OpenWarm(open);
  const auto uids = Uids(1024);
  std::size_t i = 0;
  for (auto _ : state) call(*executor, uids[i++ & 1023]);
}

void BM_BatchGetLinkedPod100(benchmark::State& state, std::unique_ptr<Executor> (*open)()) {
  auto executor = OpenWarm(open);
  const auto uids = Uids(100);
  for (auto _ : state) {
    auto result = executor->BatchGetLinkedPod("bench", uids, "scene");
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}

void BM_SetLinkedPods100(benchmark::State& state, std::unique_ptr<Executor> (*open)()) {
  auto executor = OpenWarm(open);
  std::vector<UidPod> links;
  for (const auto& uid : Uids(100)) links.push_back({uid, 7});
  for (auto _ : state) {
    auto result = executor->SetLinkedPods("bench", "scene", links, Ttl::Persistent());
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}

// One router shared by every thread, its 1024 uids routed (so cached) before
// the timing starts.
struct CachedRoutes {
  std::unique_ptr<Executor> executor;
  std::unique_ptr<Router> router;
  std::vector<std::string> uids;
  std::uint64_t redis_calls_before = 0;
};
CachedRoutes* cached_routes = nullptr;

void BM_CachedRoute(benchmark::State& state) {
  if (state.thread_index() == 0) {
    cached_routes = new CachedRoutes{.executor = OpenMemory(), .uids = Uids(1024)};
    Executor& executor = *cached_routes->executor;
    for (PodIndex pod = 0; pod < 6; ++pod) {
      executor.SetServiceState("bench", "scene", pod, LoadState(0, UnixClock()->Now()))
          .IgnoreError();
    }
    auto router = Router::Open(executor, {.ns = "bench",
                                          .svc = "scene",
                                          .freshness = std::chrono::hours(1),
                                          .cache_ttl = std::chrono::hours(1)});
    if (!router.ok()) {
      state.SkipWithError(router.status().ToString().c_str());
      return;
    }
    cached_routes->router = *std::move(router);
    for (const auto& uid : cached_routes->uids) cached_routes->router->Route(uid).IgnoreError();
    cached_routes->redis_calls_before = cached_routes->router->stats().redis_calls;
  }
  // Google Benchmark starts every thread's loop together, after this setup.
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 97;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cached_routes->router->Route(cached_routes->uids[i++ & 1023]));
  }
  if (state.thread_index() == 0) {
    state.counters["redis_calls"] = static_cast<double>(cached_routes->router->stats().redis_calls -
                                                        cached_routes->redis_calls_before);
  }
}
// Called once, after every thread is done.
void DeleteCachedRoutes(const benchmark::State&) {
  delete cached_routes;
  cached_routes = nullptr;
}

// The cases of every backend, named "<case>/<backend>" ("BM_OneUid/
// GetLinkedPod / canned_cluster"). SFROUTE_BENCH_CALLS=N runs each for N
// calls instead of for a time: scripts/instructions.sh counts the
// instructions of two runs of known lengths, both past the first calls
// (glibc's heap settles over the first hundred or so batch calls), so that
// its figure does not depend on how long a run the machine's load made.
void RegisterCallCases() {
  const char* const calls = std::getenv("SFROUTE_BENCH_CALLS");
  const auto fixed = [calls](benchmark::internal::Benchmark* benchmark) {
    if (calls != nullptr) benchmark->Iterations(std::strtoll(calls, nullptr, 10));
  };
  const struct {
    std::string name;
    std::unique_ptr<Executor> (*open)();
  } backends[] = {
      {"canned", OpenCanned}, {"canned_cluster", OpenCannedCluster}, {"memory", OpenMemory}};
  const struct {
    std::string name;
    OneUidCall call;
  } one_uid_calls[] = {{"SetLinkedPod", SetLinkedPod},
                       {"TrySetLinkedPod", TrySetLinkedPod},
                       {"GetLinkedPod", GetLinkedPod}};
  for (const auto& backend : backends) {
    for (const auto& call : one_uid_calls) {
      const std::string name = "BM_OneUid/" + call.name + " / " + backend.name;
      fixed(benchmark::RegisterBenchmark(name.c_str(), BM_OneUid, backend.open, call.call));
    }
    fixed(benchmark::RegisterBenchmark(("BM_BatchGetLinkedPod100/" + backend.name).c_str(),
                                       BM_BatchGetLinkedPod100, backend.open));
    fixed(benchmark::RegisterBenchmark(("BM_SetLinkedPods100/" + backend.name).c_str(),
                                       BM_SetLinkedPods100, backend.open));
  }
}

BENCHMARK(BM_CachedRoute)
    ->Name("Router/CachedRoute")
    ->Threads(1)
    ->Threads(2)
    ->Threads(50)
    ->UseRealTime()
    ->Teardown(DeleteCachedRoutes);

}  // namespace
}  // namespace sfroute

int main(int argc, char** argv) {
  sfroute::RegisterCallCases();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
