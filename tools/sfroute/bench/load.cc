#include "load.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <system_error>
#include <thread>

#include "histogram.h"

namespace sfroute::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string Uid(int index) { return "u" + std::to_string(index); }

// One caller's loop state: its random uids and its histogram.
struct Caller {
  std::mt19937 random;
  Histogram latency_ns;
  std::int64_t calls = 0;
  std::int64_t errors = 0;
  std::string first_error;
};

enum class Operation { kGet, kSet, kTrySet, kBatchGet, kSetMany };

// In the order of Operations().
Operation OperationOf(const std::string& name) {
  const auto& names = Operations();
  return static_cast<Operation>(std::find(names.begin(), names.end(), name) - names.begin());
}

// One call of the operation; returns its status.
absl::Status CallOnce(Executor& executor, const LoadOptions& options, Operation operation,
                      Caller& caller) {
  std::uniform_int_distribution<int> pick(0, options.keyspace - 1);
  const auto pod = static_cast<PodIndex>(caller.random() % 16);
  switch (operation) {
    case Operation::kGet:
      return executor.GetLinkedPod(options.ns, Uid(pick(caller.random)), options.svc).status();
    case Operation::kSet:
      return executor
          .SetLinkedPod(options.ns, Uid(pick(caller.random)), options.svc, pod, Ttl::Persistent())
          .status();
    case Operation::kTrySet:
      return executor
          .TrySetLinkedPod(options.ns, Uid(pick(caller.random)), options.svc, pod,
                           Ttl::Seconds(300))
          .status();
    case Operation::kBatchGet: {
      std::vector<std::string> uids;
      uids.reserve(options.batch);
      for (int i = 0; i < options.batch; ++i) uids.push_back(Uid(pick(caller.random)));
      return executor.BatchGetLinkedPod(options.ns, uids, options.svc).status();
    }
    case Operation::kSetMany:
      break;
  }
  std::vector<UidPod> links;
  links.reserve(options.batch);
  for (int i = 0; i < options.batch; ++i) links.push_back({Uid(pick(caller.random)), pod});
  auto results = executor.SetLinkedPods(options.ns, options.svc, links, Ttl::Persistent());
  if (!results.ok()) return results.status();
  for (const auto& result : *results) {
    if (!result.status.ok()) return result.status;
  }
  return absl::OkStatus();
}

// Reads need links to find: write the whole keyspace, a batch at a time.
absl::Status Fill(Executor& executor, const LoadOptions& options) {
  std::vector<UidPod> links;
  for (int i = 0; i < options.keyspace; ++i) {
    links.push_back({Uid(i), static_cast<PodIndex>(i % 16)});
    if (links.size() == 1000 || i + 1 == options.keyspace) {
      auto results = executor.SetLinkedPods(options.ns, options.svc, links, Ttl::Persistent());
      if (!results.ok()) return results.status();
      links.clear();
    }
  }
  return absl::OkStatus();
}

absl::Status Check(const LoadOptions& options) {
  const auto& ops = Operations();
  if (std::find(ops.begin(), ops.end(), options.operation) == ops.end()) {
    return absl::InvalidArgumentError("invalid operation: " + options.operation);
  }
  if (options.callers < 1) return absl::InvalidArgumentError("invalid callers: must be >= 1");
  if (options.keyspace < 1) return absl::InvalidArgumentError("invalid keyspace: must be >= 1");
  if (options.batch < 1) return absl::InvalidArgumentError("invalid batch: must be >= 1");
  // A NaN or an infinity would make the deadline below undefined.
  if (options.operations <= 0 &&
      !(std::isfinite(options.seconds) && options.seconds > 0 && options.seconds <= 86400)) {
    return absl::InvalidArgumentError(
        "invalid seconds: must be > 0 and <= 86400 without --operations");
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& Operations() {
  static const std::vector<std::string> kOperations = {"get", "set", "try-set", "batch-get",
                                                       "set-many"};
  return kOperations;
}

absl::StatusOr<LoadReport> RunLoad(Executor& executor, const LoadOptions& options) {
  if (absl::Status valid = Check(options); !valid.ok()) return valid;
  const Operation operation = OperationOf(options.operation);
  if (operation == Operation::kGet || operation == Operation::kBatchGet) {
    if (absl::Status filled = Fill(executor, options); !filled.ok()) return filled;
  }
  std::vector<Caller> callers(options.callers);
  std::atomic<std::int64_t> budget{options.operations > 0 ? options.operations : INT64_MAX};
  const auto deadline = options.operations > 0
                            ? Clock::time_point::max()
                            : Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(options.seconds));
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  absl::Status started;
  for (int t = 0; t < options.callers && started.ok(); ++t) {
    // Out of threads (--callers 10000 on a small machine): stop the callers
    // that run and report it, rather than leave joinable threads behind
    // (std::terminate).
    try {
      threads.emplace_back([&, t] {
        Caller& caller = callers[t];
        caller.random.seed(static_cast<unsigned>(t) * 7919u + 1u);
        while (budget.fetch_sub(1, std::memory_order_relaxed) > 0) {
          const auto before = Clock::now();
          if (before >= deadline) break;
          const absl::Status status = CallOnce(executor, options, operation, caller);
          caller.latency_ns.Record(static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - before).count()));
          ++caller.calls;
          if (!status.ok() && caller.errors++ == 0) caller.first_error = status.ToString();
        }
      });
    } catch (const std::system_error& error) {
      budget.store(0);
      started = absl::ResourceExhaustedError("cannot start caller thread " + std::to_string(t + 1) +
                                             " of " + std::to_string(options.callers) + ": " +
                                             error.what());
    }
  }
  for (auto& thread : threads) thread.join();
  if (!started.ok()) return started;
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  LoadReport report;
  report.operation = options.operation;
  report.callers = options.callers;
  report.seconds = seconds;
  Histogram latency;
  for (const Caller& caller : callers) {
    latency.Merge(caller.latency_ns);
    report.calls += caller.calls;
    report.errors += caller.errors;
    if (report.first_error.empty()) report.first_error = caller.first_error;
  }
  const bool batched = operation == Operation::kBatchGet || operation == Operation::kSetMany;
  report.links = report.calls * (batched ? options.batch : 1);
  report.calls_per_second = static_cast<double>(report.calls) / seconds;
  report.links_per_second = static_cast<double>(report.links) / seconds;
  report.p50_us = static_cast<double>(latency.Percentile(0.50)) / 1000;
  report.p99_us = static_cast<double>(latency.Percentile(0.99)) / 1000;
  report.p999_us = static_cast<double>(latency.Percentile(0.999)) / 1000;
  report.max_us = static_cast<double>(latency.Percentile(1.0)) / 1000;
  return report;
}

}  // namespace sfroute::bench
