// Client CPU per call (issue 5): what sfroute itself costs around one round
// trip — validation, keys, argument vectors, RESP encoding of the commands,
// RESP parsing of the replies, reply checks — measured with Google Benchmark
// against in-process backends, so no network, system call or server time is
// counted.
//
// CannedBackend encodes what the executor sends as the connection would and
// parses canned reply bytes like Redis's: the figures are sfroute's own
// overhead. MemoryBackend runs the real scripts in embedded Lua: the figures
// add the cost of an in-process "server".
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "executor_factory.h"
#include "redis/resp.h"
#include "reply.h"
#include "sfroute/sfroute.h"

namespace sfroute {
namespace {

using internal::Reply;

// Replies like Redis would to what the executor sends, without doing work.
class CannedBackend : public internal::Backend {
 public:
  void Send(const internal::Batch& batch, std::shared_ptr<internal::CallControl>,
            internal::BatchDone done) override {
    std::move(done)(Execute(batch.commands));
  }
  void Shutdown(const absl::Status&) override {}

 private:
  absl::StatusOr<std::vector<Reply>> Execute(const std::vector<internal::Command>& commands) {
    std::string wire;
    std::string answers;
    for (const auto& command : commands) {
      internal::AppendCommand(command, wire);
      answers.append(Answer(command));
    }
    benchmark::DoNotOptimize(wire.data());
    parser_.Feed(answers.data(), answers.size());
    std::vector<Reply> replies;
    replies.reserve(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
      auto reply = parser_.Next();
      if (!reply.ok()) return reply.status();
      replies.push_back(**std::move(reply));
    }
    return replies;
  }

  // The bytes Redis would send back (the server's side: built once).
  std::string_view Answer(const internal::Command& command) {
    const std::string& name = command.args[0];
    if (name == "GET") return "$1\r\n7\r\n";
    if (name == "MGET") {
      std::string& answer = mget_answers_[command.args.size() - 1];
      if (answer.empty()) {
        answer = "*" + std::to_string(command.args.size() - 1) + "\r\n";
        for (std::size_t i = 1; i < command.args.size(); ++i) answer += "$1\r\n7\r\n";
      }
      return answer;
    }
    return "*2\r\n:1\r\n$1\r\n6\r\n";  // EVALSHA set_link: {applied, previous}
  }

  internal::ReplyParser parser_;                     // long-lived, as on a connection
  std::map<std::size_t, std::string> mget_answers_;  // by key count
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

void BM_OneUid(benchmark::State& state, std::unique_ptr<Executor> (*open)(), OneUidCall call) {
  auto executor = open();
  const auto uids = Uids(1024);
  std::size_t i = 0;
  for (auto _ : state) call(*executor, uids[i++ & 1023]);
}

void BM_BatchGetLinkedPod100(benchmark::State& state, std::unique_ptr<Executor> (*open)()) {
  auto executor = open();
  const auto uids = Uids(100);
  for (auto _ : state) {
    auto result = executor->BatchGetLinkedPod("bench", uids, "scene");
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}

void BM_SetLinkedPods100(benchmark::State& state, std::unique_ptr<Executor> (*open)()) {
  auto executor = open();
  std::vector<UidPod> links;
  for (const auto& uid : Uids(100)) links.push_back({uid, 7});
  for (auto _ : state) {
    auto result = executor->SetLinkedPods("bench", "scene", links, Ttl::Persistent());
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}

BENCHMARK_CAPTURE(BM_OneUid, SetLinkedPod / canned, OpenCanned, SetLinkedPod);
BENCHMARK_CAPTURE(BM_OneUid, TrySetLinkedPod / canned, OpenCanned, TrySetLinkedPod);
BENCHMARK_CAPTURE(BM_OneUid, GetLinkedPod / canned, OpenCanned, GetLinkedPod);
BENCHMARK_CAPTURE(BM_BatchGetLinkedPod100, canned, OpenCanned);
BENCHMARK_CAPTURE(BM_SetLinkedPods100, canned, OpenCanned);
BENCHMARK_CAPTURE(BM_OneUid, SetLinkedPod / memory, OpenMemory, SetLinkedPod);
BENCHMARK_CAPTURE(BM_OneUid, TrySetLinkedPod / memory, OpenMemory, TrySetLinkedPod);
BENCHMARK_CAPTURE(BM_OneUid, GetLinkedPod / memory, OpenMemory, GetLinkedPod);
BENCHMARK_CAPTURE(BM_BatchGetLinkedPod100, memory, OpenMemory);
BENCHMARK_CAPTURE(BM_SetLinkedPods100, memory, OpenMemory);

}  // namespace
}  // namespace sfroute

BENCHMARK_MAIN();
