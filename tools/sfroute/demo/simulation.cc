#include "demo/simulation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "demo/event_queue.h"
#include "demo/players.h"
#include "demo/world.h"

namespace sfroute::demo {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kProgressEvery{200};
// Redis expires keys with millisecond precision; this covers the clocks.
constexpr milliseconds kExpiryMargin{100};

absl::Status CheckRange(std::string_view name, std::int64_t value, std::int64_t min,
                        std::int64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string(name) + " must be in [" + std::to_string(min) +
                                    ", " + std::to_string(max) + "], got " + std::to_string(value));
}

class Simulation {
 public:
  Simulation(Executor& executor, DemoConfig config)
      : executor_(executor),
        config_(std::move(config)),
        services_(ServiceNames(config_.services)),
        players_(MakePlayers(config_)),
        board_(config_.services, config_.pods),
        actions_(executor_, config_, services_, board_, queue_),
        logs_(config_.threads + 2) {
    // The drained pod is drawn from the seed too, apart from the players.
    std::mt19937_64 rng(config_.seed + 1);
    drain_.svc = 0;
    drain_.pod = static_cast<PodIndex>(rng() % config_.pods);
    for (LatencyLog& log : logs_) log.CountInto(&calls_);
  }

  absl::StatusOr<SimulationResult> Run(const ProgressFn& progress) {
    start_ = steady_clock::now();
    Tick(progress, "setup");
    absl::Status status = SetUp(logs_.back());
    if (!status.ok()) return status;
    RunDay(progress);
    const double run_s = ElapsedS();
    WaitForGrace(progress);
    return Finish(run_s);
  }

 private:
  // Workloads start, every pod reports load 0, workloads are ready.
  absl::Status SetUp(LatencyLog& log) {
    absl::Status status = SetWorkloads("STARTING", log);
    if (status.ok()) status = ReportAllStates(log);
    if (status.ok()) status = SetWorkloads("READY", log);
    return status;
  }

  absl::Status SetWorkloads(std::string_view state, LatencyLog& log) {
    for (const std::string& svc : services_) {
      absl::Status status = Timed(log, Op::kSetWorkloadState, [&] {
        return executor_.SetWorkloadState(config_.ns, svc, state);
      });
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  absl::Status ReportAllStates(LatencyLog& log) {
    std::vector<PodStates> states = board_.ReportAll();
    ServicePodStates batch;
    for (size_t svc = 0; svc < states.size(); ++svc) {
      if (!states[svc].empty()) batch[services_[svc]] = std::move(states[svc]);
    }
    return Timed(log, Op::kSetServiceStates,
                 [&] { return executor_.SetServiceStates(config_.ns, batch); });
  }

  void RunDay(const ProgressFn& progress) {
    for (int i = 0; i < config_.players; ++i) {
      queue_.PushReady({Event::Kind::kArrive, i});
    }
    std::thread heartbeat([this] { Beat(logs_[config_.threads]); });
    std::atomic<int> working{config_.threads};
    std::vector<std::thread> workers;
    for (int t = 0; t < config_.threads; ++t) {
      workers.emplace_back([this, t, &working] {
        Work(logs_[t]);
        --working;
      });
    }
    while (working.load() > 0) {
      std::this_thread::sleep_for(kProgressEvery);
      Tick(progress, "day");
    }
    for (std::thread& worker : workers) worker.join();
    {
      std::lock_guard<std::mutex> lock(stop_mutex_);
      stop_ = true;
    }
    stop_cv_.notify_all();
    heartbeat.join();
  }

  void Work(LatencyLog& log) {
    const int drain_after = std::max(1, config_.players / 2);
    while (std::optional<Event> event = queue_.Pop()) {
      if (event->kind == Event::Kind::kArrive && ++arrivals_started_ == drain_after) {
        Drain();
        queue_.PushReady(*event);  // he arrives after the drain
      } else {
        actions_.Run(*event, players_[event->player], log);
      }
      queue_.Done();
    }
  }

  // Half-way through the arrivals one pod stops reporting: its state keeps
  // its old timestamp and drops out of the freshness window.
  void Drain() {
    drain_.last_state_ms = board_.Drain(drain_.svc, drain_.pod);
    drain_.at_s = ElapsedS();
    drain_.calls_before = calls_.load();
    drain_.happened = true;
    drained_ = true;
    // New arrivals wait until that state is stale, so that every later
    // placement has a threshold above it. (Reconnects go on meanwhile.)
    const std::int64_t wait_ms = drain_.last_state_ms + config_.fresh_ms + 5 - NowMs();
    queue_.HoldReadyUntil(steady_clock::now() + milliseconds(std::max<std::int64_t>(wait_ms, 0)));
  }

  // The pods' heartbeat: every pod that still reports re-stamps its state.
  void Beat(LatencyLog& log) {
    std::unique_lock<std::mutex> lock(stop_mutex_);
    while (!stop_cv_.wait_for(lock, milliseconds(config_.heartbeat_ms), [this] { return stop_; })) {
      lock.unlock();
      absl::Status status = ReportAllStates(log);
      if (!status.ok()) {
        actions_.AddOtherFailure("SetServiceStates (heartbeat): " + status.ToString());
      }
      lock.lock();
    }
  }

  // Sleeps until every link left with a grace period must have expired.
  void WaitForGrace(const ProgressFn& progress) {
    const SteadyTime wait_start = steady_clock::now();
    const SteadyTime last_removal = actions_.LastRemovalEnd();
    if (last_removal != SteadyTime{}) {
      const SteadyTime until = last_removal + std::chrono::seconds(config_.grace_s) + kExpiryMargin;
      while (steady_clock::now() < until) {
        std::this_thread::sleep_for(
            std::min<SteadyTime::duration>(kProgressEvery, until - steady_clock::now()));
        Tick(progress, "grace");
      }
    }
    grace_wait_s_ = std::chrono::duration<double>(steady_clock::now() - wait_start).count();
  }

  SimulationResult Finish(double run_s) {
    SimulationResult result;
    result.config = config_;
    result.services = services_;
    result.drain = drain_;
    result.players = std::move(players_);
    result.other_failures = actions_.OtherFailures();
    for (const LatencyLog& log : logs_) result.latency.Merge(log);
    result.run_s = run_s;
    result.grace_wait_s = grace_wait_s_;
    return result;
  }

  void Tick(const ProgressFn& progress, std::string_view phase) {
    if (!progress) return;
    progress({.phase = phase,
              .elapsed_s = ElapsedS(),
              .players = config_.players,
              .arrived = actions_.arrived(),
              .disconnected = actions_.disconnected(),
              .reconnected = actions_.reconnected(),
              .failed = actions_.failed(),
              .drained = drained_.load(),
              .calls = calls_.load()});
  }

  double ElapsedS() const {
    return std::chrono::duration<double>(steady_clock::now() - start_).count();
  }

  Executor& executor_;
  const DemoConfig config_;
  const std::vector<std::string> services_;
  std::vector<PlayerRecord> players_;
  PodBoard board_;
  EventQueue queue_;
  PlayerActions actions_;
  // One per worker, then the heartbeat's, then the setup's.
  std::vector<LatencyLog> logs_;
  DrainRecord drain_;  // written by the one worker that drains
  std::atomic<int> arrivals_started_{0};
  std::atomic<std::int64_t> calls_{0};  // every call so far
  std::atomic<bool> drained_{false};
  SteadyTime start_{};
  double grace_wait_s_ = 0;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mutex_: ends the heartbeat
};

}  // namespace

absl::Status ValidateConfig(const DemoConfig& config) {
  for (absl::Status status : {
           CheckRange("players", config.players, 1, 10'000'000),
           CheckRange("services", config.services, 1, 64),
           CheckRange("pods", config.pods, 2, 10'000),
           CheckRange("threads", config.threads, 1, 256),
           CheckRange("link ttl", config.link_ttl_s, 1, 86'400),
           CheckRange("grace", config.grace_s, 1, 3'600),
           CheckRange("fresh", config.fresh_ms, 2, 3'600'000),
           // A pod must re-report well within the window, or idle pods
           // would go stale between two heartbeats.
           CheckRange("heartbeat", config.heartbeat_ms, 1, config.fresh_ms / 2),
           CheckRange("disconnect pct", config.disconnect_pct, 0, 100),
           CheckRange("reconnect pct", config.reconnect_pct, 0, 100),
           CheckRange("use pct", config.use_pct, 0, 100),
       }) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<SimulationResult> RunSimulation(Executor& executor, DemoConfig config,
                                               const ProgressFn& progress) {
  absl::Status valid = ValidateConfig(config);
  if (!valid.ok()) return valid;
  if (config.ns.empty()) config.ns = FreshNamespace();
  Simulation simulation(executor, std::move(config));
  return simulation.Run(progress);
}

}  // namespace sfroute::demo
