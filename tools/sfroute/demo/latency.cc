#include "demo/latency.h"

#include <algorithm>

namespace sfroute::demo {
namespace {

// Nearest-rank percentile of sorted samples.
std::int64_t Percentile(const std::vector<std::int64_t>& sorted, int pct) {
  if (sorted.empty()) return 0;
  size_t rank = (sorted.size() * pct + 99) / 100;
  return sorted[std::max<size_t>(rank, 1) - 1];
}

}  // namespace

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kSetWorkloadState:
      return "SetWorkloadState";
    case Op::kSetServiceStates:
      return "SetServiceStates";
    case Op::kSetServiceState:
      return "SetServiceState";
    case Op::kComputeLinkedPodIfAbsent:
      return "ComputeLinkedPodIfAbsent";
    case Op::kTrySetLinkedPod:
      return "TrySetLinkedPod";
    case Op::kRemoveLinkedPod:
      return "RemoveLinkedPod";
    case Op::kBatchGetLinkedPod:
      return "BatchGetLinkedPod";
    case Op::kGetLinkService:
      return "GetLinkService";
    case Op::kGetServiceStates:
      return "GetServiceStates";
    case Op::kGetWorkloadStates:
      return "GetWorkloadStates";
  }
  return "?";
}

void LatencyLog::Record(Op op, SteadyTime start, SteadyTime end) {
  Samples& samples = samples_[static_cast<int>(op)];
  samples.nanos.push_back(
      std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
  samples.first_start = std::min(samples.first_start, start);
  samples.last_end = std::max(samples.last_end, end);
  if (calls_ != nullptr) calls_->fetch_add(1, std::memory_order_relaxed);
}

void LatencyLog::Merge(const LatencyLog& other) {
  for (int i = 0; i < kOpCount; ++i) {
    Samples& mine = samples_[i];
    const Samples& theirs = other.samples_[i];
    mine.nanos.insert(mine.nanos.end(), theirs.nanos.begin(), theirs.nanos.end());
    mine.first_start = std::min(mine.first_start, theirs.first_start);
    mine.last_end = std::max(mine.last_end, theirs.last_end);
  }
}

std::int64_t LatencyLog::TotalCalls() const {
  std::int64_t total = 0;
  for (const Samples& samples : samples_) total += samples.nanos.size();
  return total;
}

std::vector<OpSummary> LatencyLog::Summarize() const {
  std::vector<OpSummary> summaries;
  for (int i = 0; i < kOpCount; ++i) {
    std::vector<std::int64_t> sorted = samples_[i].nanos;
    if (sorted.empty()) continue;
    std::sort(sorted.begin(), sorted.end());
    OpSummary summary{.op = static_cast<Op>(i)};
    summary.calls = static_cast<std::int64_t>(sorted.size());
    const double span_s =
        std::chrono::duration<double>(samples_[i].last_end - samples_[i].first_start).count();
    summary.calls_per_s = span_s > 0 ? summary.calls / span_s : 0;
    summary.p50_us = Percentile(sorted, 50) / 1000.0;
    summary.p99_us = Percentile(sorted, 99) / 1000.0;
    summary.max_us = sorted.back() / 1000.0;
    summaries.push_back(summary);
  }
  return summaries;
}

}  // namespace sfroute::demo
