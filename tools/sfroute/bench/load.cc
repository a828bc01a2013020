#include "load.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "histogram.h"
#include "sfroute/clock.h"
#include "sfroute/reporter.h"
#include "sfroute/router.h"

namespace sfroute::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string Uid(int index) { return "u" + std::to_string(index); }

// The pods the operations link uids to: 0 ... kPods-1.
constexpr int kPods = 16;

// One caller's loop state: its random uids and its histogram.
struct Caller {
  std::mt19937 random;
  Histogram latency_ns;
  std::int64_t calls = 0;
  std::int64_t errors = 0;
  std::string first_error;
};

enum class Operation { kGet, kSet, kTrySet, kBatchGet, kSetMany, kRoute };

// In the order of Operations().
Operation OperationOf(const std::string& name) {
  const auto& names = Operations();
  return static_cast<Operation>(std::find(names.begin(), names.end(), name) - names.begin());
}

// One call of the operation; returns its status. `router`: a route run's.
absl::Status CallOnce(Executor& executor, Router* router, const LoadOptions& options,
                      Operation operation, Caller& caller) {
  std::uniform_int_distribution<int> pick(0, options.keyspace - 1);
  const auto pod = static_cast<PodIndex>(caller.random() % kPods);
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
    case Operation::kRoute:
      return router->Route(Uid(pick(caller.random))).status();
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

// A small random generator per async lane (SplitMix64): lanes are started
// on one thread and go on on another.
struct LaneRandom {
  using result_type = std::uint64_t;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return UINT64_MAX; }
  result_type operator()() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  std::uint64_t state;
};

// One async call of the operation; `done(status)` runs when it completes.
// (A template, not a StatusCallback: one small callback per call, stored
// in the executor's callback without an allocation of its own.)
template <typename Done>
void CallAsync(Executor& executor, const LoadOptions& options, Operation operation,
               LaneRandom& random, Done done) {
  std::uniform_int_distribution<int> pick(0, options.keyspace - 1);
  const auto pod = static_cast<PodIndex>(random() % kPods);
  auto status_of = [done](const auto& result) mutable { done(result.status()); };
  switch (operation) {
    case Operation::kGet:
      executor.GetLinkedPodAsync(options.ns, Uid(pick(random)), options.svc, status_of);
      return;
    case Operation::kSet:
      executor.SetLinkedPodAsync(options.ns, Uid(pick(random)), options.svc, pod, Ttl::Persistent(),
                                 status_of);
      return;
    case Operation::kTrySet:
      executor.TrySetLinkedPodAsync(options.ns, Uid(pick(random)), options.svc, pod,
                                    Ttl::Seconds(300), status_of);
      return;
    case Operation::kBatchGet: {
      std::vector<std::string> uids;
      uids.reserve(options.batch);
      for (int i = 0; i < options.batch; ++i) uids.push_back(Uid(pick(random)));
      executor.BatchGetLinkedPodAsync(options.ns, uids, options.svc, status_of);
      return;
    }
    case Operation::kRoute:  // refused by Check(): a Router has no async API
      done(absl::InternalError("route has no async call"));
      return;
    case Operation::kSetMany:
      break;
  }
  std::vector<UidPod> links;
  links.reserve(options.batch);
  for (int i = 0; i < options.batch; ++i) links.push_back({Uid(pick(random)), pod});
  executor.SetLinkedPodsAsync(
      options.ns, options.svc, links, Ttl::Persistent(),
      [done](absl::StatusOr<std::vector<Executor::LinkWrite>> results) mutable {
        absl::Status status = results.status();
        if (results.ok()) {
          for (const auto& result : *results) {
            if (!result.status.ok()) status = result.status;
          }
        }
        done(status);
      });
}

// An async run: `in_flight` lanes, each a chain of calls, every call after
// the first started by its predecessor's callback on the executor's thread
// (which also records the latencies: no lock needed).
class AsyncRun {
 public:
  AsyncRun(Executor& executor, const LoadOptions& options, Operation operation,
           Clock::time_point deadline)
      : executor_(executor),
        options_(options),
        operation_(operation),
        deadline_(deadline),
        budget_(options.operations > 0 ? options.operations : INT64_MAX) {
    caller_.random.seed(1);
  }

  void Run() {
    active_ = options_.in_flight;
    lanes_.resize(options_.in_flight);
    for (int lane = 0; lane < options_.in_flight; ++lane) lanes_[lane].random.state = lane + 1;
    for (int lane = 0; lane < options_.in_flight; ++lane) Next(lane);
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(
        +[](std::atomic<int>* active) { return active->load() == 0; }, &active_));
  }
  Caller& caller() { return caller_; }

 private:
  void Next(int lane) {
    if (budget_.fetch_sub(1, std::memory_order_relaxed) <= 0 || Clock::now() >= deadline_) {
      absl::MutexLock lock(&mutex_);
      --active_;
      return;
    }
    lanes_[lane].started = Clock::now();  // one call of a lane at a time
    CallAsync(executor_, options_, operation_, lanes_[lane].random,
              [this, lane](const absl::Status& status) {
                caller_.latency_ns.Record(
                    static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                   Clock::now() - lanes_[lane].started)
                                                   .count()));
                ++caller_.calls;
                if (!status.ok() && caller_.errors++ == 0) caller_.first_error = status.ToString();
                Next(lane);
              });
  }

  Executor& executor_;
  const LoadOptions& options_;
  const Operation operation_;
  const Clock::time_point deadline_;
  std::atomic<std::int64_t> budget_;
  struct Lane {
    LaneRandom random;
    Clock::time_point started;
  };
  std::vector<Lane> lanes_;  // each lane's: one call of it at a time
  Caller caller_;            // the executor's thread (the callbacks)
  absl::Mutex mutex_;
  std::atomic<int> active_{0};  // lanes still running
};

// Reads need links to find: write the whole keyspace, a batch at a time.
absl::Status Fill(Executor& executor, const LoadOptions& options) {
  std::vector<UidPod> links;
  for (int i = 0; i < options.keyspace; ++i) {
    links.push_back({Uid(i), static_cast<PodIndex>(i % kPods)});
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
  if (options.async && options.in_flight < 1) {
    return absl::InvalidArgumentError("invalid in_flight: must be >= 1");
  }
  if (options.async && options.operation == "route") {
    return absl::InvalidArgumentError(
        "invalid async: route runs on threads (Router::Route has no async form)");
  }
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
  static const std::vector<std::string> kOperations = {"get",       "set",      "try-set",
                                                       "batch-get", "set-many", "route"};
  return kOperations;
}

namespace {

// Runs body(t) for t in 0 ... count-1, each on a thread of its own, and
// joins them. Out of threads (--callers 10000 on a small machine): calls
// stop() so that the threads that run end early and reports it, rather than
// leave joinable threads behind (std::terminate).
absl::Status OnThreads(int count, const std::function<void(int)>& body,
                       const std::function<void()>& stop) {
  std::vector<std::thread> threads;
  absl::Status started;
  for (int t = 0; t < count && started.ok(); ++t) {
    try {
      threads.emplace_back(body, t);
    } catch (const std::system_error& error) {
      stop();
      started = absl::ResourceExhaustedError("cannot start caller thread " + std::to_string(t + 1) +
                                             " of " + std::to_string(count) + ": " + error.what());
    }
  }
  for (auto& thread : threads) thread.join();
  return started;
}

// `callers.size()` threads, each calling in a loop.
absl::Status RunThreads(Executor& executor, Router* router, const LoadOptions& options,
                        Operation operation, Clock::time_point deadline,
                        std::vector<Caller>& callers) {
  std::atomic<std::int64_t> budget{options.operations > 0 ? options.operations : INT64_MAX};
  return OnThreads(
      options.callers,
      [&](int t) {
        Caller& caller = callers[t];
        caller.random.seed(static_cast<unsigned>(t) * 7919u + 1u);
        while (budget.fetch_sub(1, std::memory_order_relaxed) > 0) {
          const auto before = Clock::now();
          if (before >= deadline) break;
          const absl::Status status = CallOnce(executor, router, options, operation, caller);
          caller.latency_ns.Record(static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - before).count()));
          ++caller.calls;
          if (!status.ok() && caller.errors++ == 0) caller.first_error = status.ToString();
        }
      },
      [&] { budget.store(0); });
}

// A `route` run's live pods and its one Router. The reporters keep the pods
// live until this goes (the router is destroyed first: members in reverse).
struct Routing {
  std::vector<std::unique_ptr<PodReporter>> reporters;
  std::unique_ptr<Router> router;
  double pre_route_seconds = 0;
};

// Routes every uid once, uid i on thread i % callers; stops at the first
// error and returns it.
absl::Status PreRoute(Router& router, const LoadOptions& options) {
  std::atomic<bool> failed{false};
  absl::Mutex mutex;
  absl::Status first;
  absl::Status started = OnThreads(
      std::min(options.callers, options.keyspace),
      [&](int t) {
        for (int i = t; i < options.keyspace && !failed.load(); i += options.callers) {
          absl::StatusOr<RouteResult> route = router.Route(Uid(i));
          if (route.ok()) continue;
          absl::MutexLock lock(&mutex);
          if (first.ok()) first = route.status();
          failed.store(true);
        }
      },
      [&] { failed.store(true); });
  if (!started.ok()) return started;
  if (first.ok()) return first;
  return absl::Status(first.code(), "bench route: routing every uid once before the run: " +
                                        std::string(first.message()));
}

absl::StatusOr<Routing> StartRouting(Executor& executor, const LoadOptions& options) {
  // One write makes the pods live now and tells at once whether Redis
  // takes it (a reporter would go on without it and log).
  PodStates states;
  for (int pod = 0; pod < kPods; ++pod) states[pod] = LoadState(0, UnixClock()->Now());
  if (absl::Status written = executor.SetServiceStates(options.ns, {{options.svc, states}});
      !written.ok()) {
    return written;
  }
  Routing routing;
  for (int pod = 0; pod < kPods; ++pod) {
    ReporterOptions reporter;
    reporter.ns = options.ns;
    reporter.svc = options.svc;
    reporter.pod = pod;
    reporter.period = std::chrono::seconds(1);  // well within the routers' 15 s
    reporter.load = [] { return std::int64_t{0}; };
    absl::StatusOr<std::unique_ptr<PodReporter>> started =
        PodReporter::Start(executor, std::move(reporter));
    if (!started.ok()) return started.status();
    routing.reporters.push_back(*std::move(started));
  }
  RouterOptions router;
  router.ns = options.ns;
  router.svc = options.svc;
  // Room for the whole keyspace (the cache has 64 shards, not evenly filled).
  router.cache_capacity =
      std::max(router.cache_capacity, static_cast<std::size_t>(options.keyspace) * 2);
  absl::StatusOr<std::unique_ptr<Router>> opened = Router::Open(executor, std::move(router));
  if (!opened.ok()) return opened.status();
  routing.router = *std::move(opened);
  const auto start = Clock::now();
  if (absl::Status routed = PreRoute(*routing.router, options); !routed.ok()) return routed;
  routing.pre_route_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return routing;
}

// What the router did between `before` and `after`.
RouterFigures Figures(const Routing& routing, const Router::Stats& before,
                      const Router::Stats& after) {
  return RouterFigures{.live_pods = static_cast<int>(routing.reporters.size()),
                       .pre_route_seconds = routing.pre_route_seconds,
                       .cache_hits = after.cache_hits - before.cache_hits,
                       .redis_calls = after.redis_calls - before.redis_calls,
                       .linked = after.linked - before.linked,
                       .placed = after.placed - before.placed,
                       .moved = after.moved - before.moved,
                       .errors = after.errors - before.errors};
}

}  // namespace

absl::StatusOr<LoadReport> RunLoad(Executor& executor, const LoadOptions& options) {
  if (absl::Status valid = Check(options); !valid.ok()) return valid;
  const Operation operation = OperationOf(options.operation);
  if (operation == Operation::kGet || operation == Operation::kBatchGet) {
    if (absl::Status filled = Fill(executor, options); !filled.ok()) return filled;
  }
  std::optional<Routing> routing;
  if (operation == Operation::kRoute) {
    absl::StatusOr<Routing> started = StartRouting(executor, options);
    if (!started.ok()) return started.status();
    routing.emplace(*std::move(started));
  }
  Router* router = routing.has_value() ? routing->router.get() : nullptr;
  const Router::Stats router_before = router != nullptr ? router->stats() : Router::Stats{};
  const auto deadline = options.operations > 0
                            ? Clock::time_point::max()
                            : Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(options.seconds));
  const auto start = Clock::now();
  std::vector<Caller> callers;
  if (options.async) {
    AsyncRun run(executor, options, operation, deadline);
    run.Run();
    callers.push_back(std::move(run.caller()));
  } else {
    callers.resize(options.callers);
    absl::Status started = RunThreads(executor, router, options, operation, deadline, callers);
    if (!started.ok()) return started;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  LoadReport report;
  report.operation = options.operation;
  report.callers = options.async ? 0 : options.callers;
  report.in_flight = options.async ? options.in_flight : 0;
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
  if (router != nullptr) report.router = Figures(*routing, router_before, router->stats());
  return report;
}

}  // namespace sfroute::bench
