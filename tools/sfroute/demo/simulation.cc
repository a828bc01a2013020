#include "demo/simulation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "demo/event_queue.h"
#include "demo/players.h"
#include "demo/world.h"
#include "sfroute/router.h"

namespace sfroute::demo {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kProgressEvery{200};
// Redis expires keys with millisecond precision; this covers the clocks.
constexpr milliseconds kExpiryMargin{100};
// The crashed pod's players routed while it is down, and after.
constexpr int kProbes = 20;
// The crash is probed this long after its last report is out of the
// freshness window: every router then calls it dead, whatever its refresh.
constexpr std::int64_t kProbeMarginMs = 20;
// Then it stays down this long, so that the logins sent to it before it
// looked dead are tried again (every 100 ms) while it is dead: moved.
constexpr milliseconds kDeadFor{400};

absl::Status CheckRange(std::string_view name, std::int64_t value, std::int64_t min,
                        std::int64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string(name) + " must be in [" + std::to_string(min) +
                                    ", " + std::to_string(max) + "], got " + std::to_string(value));
}

// The arrivals (counted from 1) that start the mid-day events, in this
// order; an event past the last arrival does not happen.
struct Schedule {
  explicit Schedule(int players)
      : scale_in(std::max(1, players / 4)),
        drain(std::max(scale_in + 1, players / 2)),
        crash(std::max(drain + 1, players * 3 / 4)) {}
  int scale_in, drain, crash;
};

class Simulation {
 public:
  Simulation(Executor& executor, DemoConfig config)
      : executor_(executor),
        config_(std::move(config)),
        schedule_(config_.players),
        players_(MakePlayers(config_)),
        actions_(config_, fleet_, queue_),
        logs_(config_.threads) {
    fleet_.services = ServiceNames(config_.services);
    // The pods of the events are drawn from the seed too, apart from the
    // players: two different pods of the first service, and a new index.
    std::mt19937_64 rng(config_.seed + 1);
    drain_.pod = static_cast<PodIndex>(rng() % config_.pods);
    crash_.pod =
        static_cast<PodIndex>((drain_.pod + 1 + rng() % (config_.pods - 1)) % config_.pods);
    scale_in_.pod = config_.pods;
  }

  absl::StatusOr<SimulationResult> Run(const ProgressFn& progress) {
    start_ = steady_clock::now();
    before_ = executor_.Metrics();
    Tick(progress, "setup");
    absl::Status status = SetUp();
    if (!status.ok()) return status;
    RunDay(progress);
    const double run_s = ElapsedS();
    WaitForGrace(progress);
    return Finish(run_s);
  }

 private:
  // Workloads start; every pod starts reporting (the scale-in pod waits);
  // the gateways open their routers; workloads are ready.
  absl::Status SetUp() {
    absl::Status status = SetWorkloads("STARTING");
    if (!status.ok()) return status;
    fleet_.pods.resize(config_.services);
    for (int svc = 0; svc < config_.services; ++svc) {
      const int pods = config_.pods + (svc == 0 ? 1 : 0);
      for (PodIndex pod = 0; pod < pods; ++pod) {
        fleet_.pods[svc].push_back(std::make_unique<DemoPod>(
            executor_, config_.ns, fleet_.services[svc], pod, milliseconds(config_.heartbeat_ms)));
        if (svc == 0 && pod == scale_in_.pod) continue;
        status = fleet_.pods[svc].back()->Start();
        if (!status.ok()) return status;
      }
    }
    for (int gateway = 0; gateway < config_.routers; ++gateway) {
      fleet_.gateways.emplace_back();
      for (const std::string& svc : fleet_.services) {
        RouterOptions options;
        options.ns = config_.ns;
        options.svc = svc;
        options.link_ttl = Ttl::Seconds(config_.link_ttl_s);
        options.freshness = milliseconds(config_.fresh_ms);
        options.state_refresh = milliseconds(config_.heartbeat_ms);
        absl::StatusOr<std::unique_ptr<Router>> router = Router::Open(executor_, options);
        if (!router.ok()) return router.status();
        fleet_.gateways.back().push_back(std::move(*router));
      }
    }
    const std::int64_t known_ms = NowMs();  // Router::Open read every state
    for (auto& pods : fleet_.pods) {
      for (auto& pod : pods) {
        if (pod->up()) pod->MarkKnown(known_ms);
      }
    }
    return SetWorkloads("READY");
  }

  absl::Status SetWorkloads(std::string_view state) {
    for (const std::string& svc : fleet_.services) {
      absl::Status status = executor_.SetWorkloadState(config_.ns, svc, state);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  void RunDay(const ProgressFn& progress) {
    for (int i = 0; i < config_.players; ++i) {
      queue_.PushReady({Event::Kind::kArrive, i});
    }
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
  }

  void Work(RouteLog& log) {
    while (std::optional<Event> event = queue_.Pop()) {
      if (event->kind == Event::Kind::kProbeCrashed) {
        ProbeCrashed(log);
      } else if (event->kind == Event::Kind::kRestartCrashed) {
        RestartCrashed(log);
      } else {
        if (event->kind == Event::Kind::kArrive && !event->retry) {
          StartEvents(++arrivals_started_);
        }
        actions_.Run(*event, players_[event->player], log);
      }
      queue_.Done();
    }
  }

  // The mid-day events, run by the worker that takes their arrival.
  void StartEvents(int arrival) {
    if (arrival == schedule_.scale_in) ScaleIn();
    if (arrival == schedule_.drain) Drain();
    if (arrival == schedule_.crash) Crash();
  }

  // A pod index that never reported starts: the routers place new players
  // on it, the least loaded, until loads even out. They would see it at
  // their next refresh; the demo has them read it now.
  void ScaleIn() {
    scale_in_.at_s = ElapsedS();
    std::vector<int> others;
    for (const auto& pod : fleet_.pods[0]) {
      if (pod->reporting()) others.push_back(pod->players());
    }
    if (!others.empty()) {
      scale_in_.others_min = *std::min_element(others.begin(), others.end());
      scale_in_.others_max = *std::max_element(others.begin(), others.end());
    }
    DemoPod& pod = fleet_.Pod(0, scale_in_.pod);
    absl::Status status = pod.Start();
    if (status.ok()) status = fleet_.RefreshRouters(0);
    if (!status.ok()) {
      AddFailure("scale-in of pod " + std::to_string(scale_in_.pod) + ": " + status.ToString());
      return;
    }
    pod.MarkKnown(NowMs());
    scale_in_.started_ms = pod.Record().silences.front().resumed_ms;
    scale_in_.happened = true;
    event_ = "pod scaled in";
  }

  // PodReporter::Drain: the pod stops reporting and keeps its players;
  // once its last report is out of the freshness window the routers place
  // nobody on it (and refuse to route its own players).
  void Drain() {
    fleet_.Pod(0, drain_.pod).Drain();
    drain_.at_s = ElapsedS();
    drain_.happened = true;
    event_ = "pod drained";
  }

  // The pod's process dies: its reporter goes without draining, it claims
  // and releases nobody. Routers keep sending players to it until its last
  // report is out of the freshness window (their logins fail and are tried
  // again); then they move its temporary links and refuse its persistent
  // ones. ProbeCrashed() runs once every router must call it dead.
  void Crash() {
    rush_calls_ = TotalCalls(executor_.Metrics()) - TotalCalls(before_);
    rush_s_ = ElapsedS();
    DemoPod& pod = fleet_.Pod(0, crash_.pod);
    crash_.players = pod.players();
    crash_.last_report_ms = pod.Crash();
    crash_.at_s = ElapsedS();
    crash_.happened = true;
    event_ = "pod crashed";
    const std::int64_t wait_ms =
        crash_.last_report_ms + config_.fresh_ms + kProbeMarginMs - NowMs();
    queue_.PushAt(steady_clock::now() + milliseconds(std::max<std::int64_t>(wait_ms, 0)),
                  {Event::Kind::kProbeCrashed});
  }

  // Some of the crashed pod's players (persistent links) are routed: the
  // routers must refuse them.
  void ProbeCrashed(RouteLog& log) {
    DemoPod& pod = fleet_.Pod(0, crash_.pod);
    std::vector<int> held = pod.PlayerList();
    held.resize(std::min<std::size_t>(held.size(), kProbes));
    for (int index : held) {
      Probe probe;
      probe.player = index;
      absl::StatusOr<RouteResult> route = ProbeRoute(index, log);
      if (route.ok()) {
        probe.during_pod = route->pod;
      } else {
        probe.during_error = route.status().ToString();
        probe.during_unavailable = absl::IsUnavailable(route.status());
      }
      crash_.probes.push_back(std::move(probe));
    }
    queue_.PushAt(steady_clock::now() + kDeadFor, {Event::Kind::kRestartCrashed});
  }

  // The pod comes back (a new reporter; its players are still its own),
  // the routers read it, and the probed players are routed again: to it.
  void RestartCrashed(RouteLog& log) {
    DemoPod& pod = fleet_.Pod(0, crash_.pod);
    absl::Status status = pod.Start();
    if (status.ok()) status = fleet_.RefreshRouters(0);
    if (!status.ok()) {
      AddFailure("restart of pod " + std::to_string(crash_.pod) + ": " + status.ToString());
      return;
    }
    pod.MarkKnown(NowMs());
    crash_.back_at_s = ElapsedS();
    event_ = "crashed pod back";
    for (Probe& probe : crash_.probes) {
      absl::StatusOr<RouteResult> route = ProbeRoute(probe.player, log);
      if (route.ok()) {
        probe.after_pod = route->pod;
      } else {
        probe.after_error = route.status().ToString();
      }
    }
  }

  absl::StatusOr<RouteResult> ProbeRoute(int index, RouteLog& log) {
    return actions_.Route(RouteRecord::Kind::kProbe, index, players_[index], 0,
                          index % config_.routers, log);
  }

  void AddFailure(std::string failure) {
    std::lock_guard<std::mutex> lock(failures_mutex_);
    failures_.push_back(std::move(failure));
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
    result.services = fleet_.services;
    for (const auto& pods : fleet_.pods) {
      result.pods.emplace_back();
      for (const auto& pod : pods) result.pods.back().push_back(pod->Record());
    }
    result.drain = drain_;
    if (drain_.happened) {
      result.drain.last_report_ms = fleet_.Pod(0, drain_.pod).drain_report_ms();
    }
    result.crash = crash_;
    result.scale_in = scale_in_;
    result.players = std::move(players_);
    for (RouteLog& log : logs_) {
      result.routes.insert(result.routes.end(), log.routes.begin(), log.routes.end());
      result.twins.insert(result.twins.end(), log.twins.begin(), log.twins.end());
    }
    result.routers = fleet_.RouterStats();
    // Before the routers and reporters go: their counters go with them.
    result.library = DiffMetrics(before_, executor_.Metrics());
    result.other_failures = failures_;
    for (const auto& [code, reports] : result.library.reports) {
      if (code != "OK" && reports > 0) {
        result.other_failures.push_back(std::to_string(reports) + " pod reports failed with " +
                                        code);
      }
    }
    result.run_s = run_s;
    result.grace_wait_s = grace_wait_s_;
    result.rush_calls = rush_calls_;
    result.rush_s = rush_s_;
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
              .event = event_.load(),
              .calls = TotalCalls(executor_.Metrics()) - TotalCalls(before_)});
  }

  double ElapsedS() const {
    return std::chrono::duration<double>(steady_clock::now() - start_).count();
  }

  Executor& executor_;
  const DemoConfig config_;
  const Schedule schedule_;
  std::vector<PlayerRecord> players_;
  Fleet fleet_;
  EventQueue queue_;
  PlayerActions actions_;
  std::vector<RouteLog> logs_;  // one per worker
  MetricsSnapshot before_;
  // Each written by the one worker that runs its event.
  DrainRecord drain_;
  CrashRecord crash_;
  ScaleInRecord scale_in_;
  std::uint64_t rush_calls_ = 0;
  double rush_s_ = 0;
  std::atomic<const char*> event_{""};
  std::atomic<int> arrivals_started_{0};
  SteadyTime start_{};
  double grace_wait_s_ = 0;

  std::mutex failures_mutex_;
  std::vector<std::string> failures_;  // guarded by failures_mutex_
};

}  // namespace

absl::Status ValidateConfig(const DemoConfig& config) {
  for (absl::Status status : {
           CheckRange("players", config.players, 1, 10'000'000),
           CheckRange("services", config.services, 1, 64),
           CheckRange("pods", config.pods, 2, 10'000),
           CheckRange("threads", config.threads, 1, 256),
           CheckRange("routers", config.routers, 1, 64),
           CheckRange("requests", config.requests, 0, 100),
           CheckRange("link ttl", config.link_ttl_s, 1, 86'400),
           CheckRange("grace", config.grace_s, 1, 3'600),
           CheckRange("fresh", config.fresh_ms, 2, 3'600'000),
           // A pod must re-report well within the window, or idle pods
           // would go stale between two reports.
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
