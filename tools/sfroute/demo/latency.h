// Latency of every library call the demo makes, per operation.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_LATENCY_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_LATENCY_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace sfroute::demo {

enum class Op {
  kSetWorkloadState,
  kSetServiceStates,
  kSetServiceState,
  kComputeLinkedPodIfAbsent,
  kTrySetLinkedPod,
  kRemoveLinkedPod,
  kBatchGetLinkedPod,
  kGetLinkService,
  kGetServiceStates,
  kGetWorkloadStates,
};
inline constexpr int kOpCount = 10;

std::string_view OpName(Op op);

using SteadyTime = std::chrono::steady_clock::time_point;

struct OpSummary {
  Op op;
  std::int64_t calls = 0;
  double calls_per_s = 0;  // over the span from the first call to the last
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

// One per thread (it has no lock); merged when the threads are done.
class LatencyLog {
 public:
  void Record(Op op, SteadyTime start, SteadyTime end);
  // Also counts every call recorded from now on in `*calls`, which other
  // threads may read while this one records (the progress line, the drain).
  void CountInto(std::atomic<std::int64_t>* calls) { calls_ = calls; }
  void Merge(const LatencyLog& other);
  std::int64_t TotalCalls() const;
  // Operations that were called at least once, in enum order.
  std::vector<OpSummary> Summarize() const;

 private:
  struct Samples {
    std::vector<std::int64_t> nanos;
    SteadyTime first_start = SteadyTime::max();
    SteadyTime last_end = SteadyTime::min();
  };
  std::array<Samples, kOpCount> samples_;
  std::atomic<std::int64_t>* calls_ = nullptr;
};

// Runs `call` and records how long it took.
template <typename Call>
auto Timed(LatencyLog& log, Op op, Call&& call) {
  const SteadyTime start = std::chrono::steady_clock::now();
  auto result = std::forward<Call>(call)();
  log.Record(op, start, std::chrono::steady_clock::now());
  return result;
}

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_LATENCY_H_
