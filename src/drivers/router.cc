// Router (include/sfroute/router.h), on the public API only.
//
// What a route reads, and where it lives:
// - the pods: one PodSlot per pod ever seen, never freed while the router
//   lives, its report (load, stamp) in atomics. A refresh writes them; a
//   cache hit reads its pod's stamp through the pointer its entry holds,
//   without a lock.
// - the cache: 64 shards, each a hash map under its own mutex.
// - placement: under pods_mutex_, from the slots' loads and what this
//   router placed since each pod's last report.
#include "sfroute/router.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "counters.h"

namespace sfroute {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
constexpr std::size_t kCacheShards = 64;
// A route whose link changes under it (another router moving or placing
// the uid) reads again; past this many rounds it gives up.
constexpr int kRouteRounds = 4;

struct Report {
  std::int64_t load;
  std::int64_t unix_ms;
  bool draining;  // "drain-<unix_ms>": alive, takes no new player
};

// Non-negative canonical-enough decimal digits that fit in an int64.
std::optional<std::int64_t> ParseDigits(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// `<load>-<unix_ms>` or `drain-<unix_ms>`; anything else is no report.
std::optional<Report> ParseReport(std::string_view state) {
  const auto dash = state.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view head = state.substr(0, dash);
  auto unix_ms = ParseDigits(state.substr(dash + 1));
  if (!unix_ms) return std::nullopt;
  if (head == "drain") return Report{0, *unix_ms, true};
  auto load = ParseDigits(head);
  if (!load) return std::nullopt;
  return Report{*load, *unix_ms, false};
}

bool IsLive(std::int64_t stamp, std::int64_t now, milliseconds freshness) {
  return stamp != kNever && now - stamp <= freshness.count();
}

template <typename Map, typename Predicate>
void EraseIf(Map& map, Predicate predicate) {
  for (auto it = map.begin(); it != map.end();) {
    if (predicate(*it)) {
      map.erase(it++);
    } else {
      ++it;
    }
  }
}

enum Result : std::size_t { kCacheHit, kLinked, kPlaced, kMoved, kError, kRedisCalls, kCount };
constexpr const char* kResultNames[] = {"cache_hit", "linked", "placed", "moved", "error"};

}  // namespace

std::vector<PodView> ViewPods(const PodStates& states, milliseconds freshness, milliseconds now) {
  std::vector<PodView> pods;
  for (const auto& [pod, state] : states) {
    PodView view;
    view.pod = pod;
    view.state = state;
    if (auto report = ParseReport(state)) {
      if (!report->draining) view.load = report->load;
      view.draining = report->draining;
      view.age_ms = now.count() - report->unix_ms;
      view.live = IsLive(report->unix_ms, now.count(), freshness);
    }
    pods.push_back(std::move(view));
  }
  return pods;
}

class Router::Impl {
 public:
  Impl(Executor& executor, RouterOptions options)
      : executor_(executor), options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = UnixClock();
    shard_capacity_ = options_.cache_ttl.count() > 0 && options_.cache_capacity > 0
                          ? std::max<std::size_t>(1, options_.cache_capacity / kCacheShards)
                          : 0;
    metrics_ = executor_.AddMetricsSource([this](std::vector<MetricsSnapshot::Labeled>& rows) {
      for (std::size_t result = 0; result < std::size(kResultNames); ++result) {
        rows.push_back({"sfroute_router_routes_total",
                        {{"svc", options_.svc}, {"result", kResultNames[result]}},
                        counters_.Get(result)});
      }
    });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(timer_mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (timer_.joinable()) timer_.join();
    metrics_.reset();
  }

  void StartTimer() {
    timer_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(timer_mutex_);
      while (!wake_.wait_for(lock, options_.state_refresh, [this] { return stopping_; })) {
        lock.unlock();
        Refresh({}).IgnoreError();  // logged there; the pods age meanwhile
        lock.lock();
      }
    });
  }

  absl::StatusOr<RouteResult> Route(std::string_view uid, const CallOptions& call) {
    const std::int64_t now = options_.clock->Now().count();
    if (std::optional<PodIndex> cached = Cached(uid, now)) {
      counters_.Add(kCacheHit);
      return RouteResult{*cached, false};
    }
    auto routed = RouteByRedis(uid, now, call);
    if (!routed.ok()) counters_.Add(kError);
    return routed;
  }

  void Invalidate(std::string_view uid, PodIndex pod) {
    CacheShard& shard = ShardOf(uid);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.entries.find(drivers::View(uid));
    if (it != shard.entries.end() && it->second.pod == pod) shard.entries.erase(it);
  }

  absl::Status Refresh(const CallOptions& call) {
    const std::int64_t started = options_.clock->Now().count();
    absl::StatusOr<PodStates> states = executor_.GetServiceState(options_.ns, options_.svc, call);
    if (!states.ok()) {
      LogRefreshFailure(states.status());
      return states.status();
    }
    bool some_died = false;
    {
      std::lock_guard<std::mutex> lock(pods_mutex_);
      const std::int64_t now = options_.clock->Now().count();
      Growth growth;
      for (auto& [pod, slot] : pods_) {
        auto state = states->find(pod);
        std::optional<Report> report =
            state == states->end() ? std::nullopt : ParseReport(state->second);
        if (!report) {
          slot->stamp.store(kNever);  // gone from the hash, or not a report
        } else {
          Update(*slot, *report, growth);
        }
        const bool live = IsLive(slot->stamp.load(), now, options_.freshness);
        some_died |= slot->live_at_refresh && !live;
        slot->live_at_refresh = live;
      }
      for (const auto& [pod, state] : *states) {
        if (pods_.contains(pod)) continue;
        if (std::optional<Report> report = ParseReport(state)) {
          auto slot = std::make_unique<PodSlot>();
          slot->pod = pod;
          Update(*slot, *report, growth);
          slot->live_at_refresh = IsLive(report->unix_ms, now, options_.freshness);
          pods_.emplace(pod, std::move(slot));
        }
      }
      LearnShare(growth);
      refreshed_ = true;
      refreshed_from_.store(std::max(refreshed_from_.load(), started));
    }
    counters_.Add(kRefreshes);
    if (refresh_failing_.exchange(false)) {
      executor_.Log(LogLevel::kInfo, absl::StrCat(Name(), ": pod states read again"));
    }
    // Routes to a pod that stopped being live are never answered from the
    // cache (each hit looks at its pod); here they also leave it.
    if (some_died) DropDeadEntries();
    return absl::OkStatus();
  }

  std::vector<PodView> Pods() const {
    PodStates states;
    {
      std::lock_guard<std::mutex> lock(pods_mutex_);
      for (const auto& [pod, slot] : pods_) {
        const std::int64_t stamp = slot->stamp.load();
        if (stamp == kNever) continue;
        states[pod] = slot->draining ? absl::StrCat("drain-", stamp)
                                     : absl::StrCat(slot->load.load(), "-", stamp);
      }
    }
    return ViewPods(states, options_.freshness, options_.clock->Now());
  }

  Stats stats() const {
    Stats stats{.cache_hits = counters_.Get(kCacheHit),
                .linked = counters_.Get(kLinked),
                .placed = counters_.Get(kPlaced),
                .moved = counters_.Get(kMoved),
                .errors = counters_.Get(kError),
                .redis_calls = counters_.Get(kRedisCalls),
                .refreshes = counters_.Get(kRefreshes)};
    {
      std::lock_guard<std::mutex> lock(pods_mutex_);
      stats.placement_weight = placement_weight_;
    }
    for (const CacheShard& shard : cache_) {
      std::lock_guard<std::mutex> lock(shard.mutex);
      stats.cached += shard.entries.size();
    }
    return stats;
  }

  const RouterOptions& options() const { return options_; }

 private:
  static constexpr std::size_t kRefreshes = Result::kCount;

  struct PodSlot {
    PodIndex pod = 0;
    std::atomic<std::int64_t> stamp{kNever};  // unix ms of its last report
    std::atomic<std::int64_t> load{0};        // as reported
    // Placed by this router since that report (the report counts the ones
    // before): what keeps routers from piling new players onto the pod
    // that looked least loaded at the last report.
    std::atomic<std::int64_t> placed_since{0};
    bool draining = false;         // guarded by pods_mutex_: no placement
    bool live_at_refresh = false;  // guarded by pods_mutex_
  };

  // What new reports say the pods gained, against what this router placed
  // on them over the same time (both summed over the pods that reported).
  struct Growth {
    std::int64_t gained = 0;
    std::int64_t placed = 0;
  };

  struct CacheEntry {
    PodIndex pod;
    std::int64_t expires;  // unix ms
    const PodSlot* slot;
  };
  struct CacheShard {
    mutable std::mutex mutex;
    absl::flat_hash_map<std::string, CacheEntry> entries;
  };

  // Holds pods_mutex_.
  static void Update(PodSlot& slot, const Report& report, Growth& growth) {
    const std::int64_t stamp = slot.stamp.load();
    if (stamp == report.unix_ms && slot.draining == report.draining) return;  // read before
    if (stamp != kNever && report.unix_ms > stamp && !slot.draining && !report.draining) {
      growth.gained += report.load - slot.load.load();
      growth.placed += slot.placed_since.load();
    }
    slot.placed_since.store(0);
    slot.draining = report.draining;
    slot.load.store(report.load);
    slot.stamp.store(report.unix_ms);
  }

  // Other routers place new players too, and between two reports a router
  // sees only its own placements. Routers that see the same loads choose
  // the same pods, so the others' placements go roughly where this
  // router's go, scaled by the routers' combined rate over its own: that
  // ratio, learnt from the reports (players gained / placed here), weighs
  // this router's placements. Without it, every router would fill the
  // least-loaded pod's whole gap by itself (herding). Holds pods_mutex_.
  void LearnShare(const Growth& growth) {
    constexpr std::int64_t kEnoughPlacements = 8;
    if (growth.placed < kEnoughPlacements) return;
    const double seen = static_cast<double>(growth.gained) / static_cast<double>(growth.placed);
    placement_weight_ = (placement_weight_ + std::clamp(seen, 1.0, 1024.0)) / 2;
  }

  CacheShard& ShardOf(std::string_view uid) {
    return cache_[absl::Hash<absl::string_view>{}(drivers::View(uid)) % kCacheShards];
  }

  std::optional<PodIndex> Cached(std::string_view uid, std::int64_t now) {
    if (shard_capacity_ == 0) return std::nullopt;
    CacheShard& shard = ShardOf(uid);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.entries.find(drivers::View(uid));
    if (it == shard.entries.end()) return std::nullopt;
    const CacheEntry& entry = it->second;
    if (now < entry.expires &&
        IsLive(entry.slot->stamp.load(std::memory_order_relaxed), now, options_.freshness)) {
      return entry.pod;
    }
    shard.entries.erase(it);
    return std::nullopt;
  }

  void Cache(std::string_view uid, const PodSlot& slot, std::int64_t now) {
    if (shard_capacity_ == 0) return;
    CacheShard& shard = ShardOf(uid);
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (shard.entries.size() >= shard_capacity_ && !shard.entries.contains(drivers::View(uid))) {
      // Full: the expired and dead go first, else any one entry.
      EraseIf(shard.entries, [&](const auto& cached) {
        return now >= cached.second.expires ||
               !IsLive(cached.second.slot->stamp.load(), now, options_.freshness);
      });
      if (shard.entries.size() >= shard_capacity_) shard.entries.erase(shard.entries.begin());
    }
    shard.entries.insert_or_assign(std::string(uid),
                                   CacheEntry{slot.pod, now + options_.cache_ttl.count(), &slot});
  }

  void DropDeadEntries() {
    const std::int64_t now = options_.clock->Now().count();
    for (CacheShard& shard : cache_) {
      std::lock_guard<std::mutex> lock(shard.mutex);
      EraseIf(shard.entries, [&](const auto& cached) {
        return !IsLive(cached.second.slot->stamp.load(), now, options_.freshness);
      });
    }
  }

  // The slot of `pod` when it is live, on pod states read after the route
  // began at `route_start`. A router's view lags the others' by up to
  // state_refresh (a pod that just started, a report not read yet): a link
  // is never moved, nor a route refused, on that view alone — another router
  // may have just placed the uid there. So a pod not live in it is judged
  // again on a fresh read; routes that need one at once share it.
  absl::StatusOr<const PodSlot*> ConfirmedLiveSlot(PodIndex pod, std::int64_t route_start,
                                                   const CallOptions& call) {
    if (const PodSlot* slot = LiveSlot(pod, route_start)) return slot;
    {
      std::lock_guard<std::mutex> lock(confirm_mutex_);
      if (refreshed_from_.load() < route_start) {
        absl::Status refreshed = Refresh(call);
        if (!refreshed.ok()) return refreshed;
      }
    }
    return LiveSlot(pod, options_.clock->Now().count());
  }

  // The slot of `pod` when it is live at `now`.
  const PodSlot* LiveSlot(PodIndex pod, std::int64_t now) const {
    std::lock_guard<std::mutex> lock(pods_mutex_);
    auto it = pods_.find(pod);
    if (it == pods_.end() || !IsLive(it->second->stamp.load(), now, options_.freshness)) {
      return nullptr;
    }
    return it->second.get();
  }

  // The live pod with the least load (reported, plus placed since,
  // weighed by LearnShare()), ties to the lowest pod; null when none is live. Counts the placement
  // in advance (`take`); Unplace() takes it back if it did not happen.
  // Live at the clock's now, not the route's start: the route's reads may
  // have taken a while.
  PodSlot* ChoosePod(std::optional<PodIndex> excluded) {
    const std::int64_t now = options_.clock->Now().count();
    std::lock_guard<std::mutex> lock(pods_mutex_);
    PodSlot* best = nullptr;
    double best_load = 0;
    for (auto& [pod, slot] : pods_) {  // ascending pods
      if (pod == excluded || slot->draining ||
          !IsLive(slot->stamp.load(), now, options_.freshness)) {
        continue;
      }
      const double load = static_cast<double>(slot->load.load()) +
                          placement_weight_ * static_cast<double>(slot->placed_since.load());
      if (best == nullptr || load < best_load) {
        best = slot.get();
        best_load = load;
      }
    }
    if (best != nullptr) best->placed_since.fetch_add(1);
    return best;
  }
  static void Unplace(PodSlot& slot) {
    if (slot.placed_since.load() > 0) slot.placed_since.fetch_sub(1);
  }

  absl::Status NoLivePod(std::string_view uid) const {
    return absl::UnavailableError(
        absl::StrCat(Name(), ": no live pod to place uid ", drivers::View(uid),
                     " on (none reported within the last ", options_.freshness.count(), " ms",
                     refreshed_ ? "" : "; the pod states were never read", ")"));
  }

  absl::StatusOr<RouteResult> RouteByRedis(std::string_view uid, std::int64_t now,
                                           const CallOptions& call) {
    for (int round = 0; round < kRouteRounds; ++round) {
      counters_.Add(kRedisCalls);
      absl::StatusOr<std::optional<PodIndex>> linked =
          executor_.GetLinkedPod(options_.ns, uid, options_.svc, call);
      if (!linked.ok()) return linked.status();
      if (!linked->has_value()) {
        // Not linked: place him; if another router was first, his pod.
        PodSlot* chosen = ChoosePod(std::nullopt);
        if (chosen == nullptr) return NoLivePod(uid);
        counters_.Add(kRedisCalls);
        absl::StatusOr<PodIndex> pod = executor_.SetLinkedPodIfAbsent(
            options_.ns, uid, options_.svc, chosen->pod, options_.link_ttl, call);
        if (!pod.ok()) {
          Unplace(*chosen);  // may have been written: a re-read tells
          return pod.status();
        }
        if (*pod == chosen->pod) {
          Cache(uid, *chosen, now);
          counters_.Add(kPlaced);
          return RouteResult{*pod, true};
        }
        Unplace(*chosen);
        absl::StatusOr<const PodSlot*> slot = ConfirmedLiveSlot(*pod, now, call);
        if (!slot.ok()) return slot.status();
        if (*slot != nullptr) {
          Cache(uid, **slot, now);
          counters_.Add(kLinked);
          return RouteResult{*pod, false};
        }
        continue;  // placed by another router on a pod not live: read again
      }
      const PodIndex pod = **linked;
      absl::StatusOr<const PodSlot*> live = ConfirmedLiveSlot(pod, now, call);
      if (!live.ok()) return live.status();
      if (const PodSlot* slot = *live) {
        Cache(uid, *slot, now);
        counters_.Add(kLinked);
        return RouteResult{pod, false};
      }
      // Linked to a pod that is not live: a temporary link moves, a
      // persistent one (the pod holds his state) stays.
      PodSlot* chosen = ChoosePod(pod);
      if (chosen == nullptr) return NoLivePod(uid);
      counters_.Add(kRedisCalls);
      absl::StatusOr<MoveResult> move = executor_.MoveTemporaryLinkedPod(
          options_.ns, uid, options_.svc, pod, chosen->pod, options_.link_ttl, call);
      if (!move.ok()) {
        Unplace(*chosen);
        return move.status();
      }
      if (move->moved) {
        Cache(uid, *chosen, now);
        counters_.Add(kMoved);
        return RouteResult{chosen->pod, true};
      }
      Unplace(*chosen);
      if (!move->pod.has_value()) continue;  // the link went meanwhile: place him
      absl::StatusOr<const PodSlot*> moved_to = ConfirmedLiveSlot(*move->pod, now, call);
      if (!moved_to.ok()) return moved_to.status();
      if (const PodSlot* slot = *moved_to) {
        Cache(uid, *slot, now);  // another router moved him first
        counters_.Add(kLinked);
        return RouteResult{*move->pod, false};
      }
      if (move->persistent) {
        return absl::UnavailableError(absl::StrCat(
            Name(), ": uid ", drivers::View(uid), " is linked persistently to pod ", *move->pod,
            ", which is not live (no report within ", options_.freshness.count(),
            " ms); that pod holds his state, so he is not moved: bring the pod back, or "
            "evacuate it (sfroute pod evacuate)"));
      }
      // A temporary link to another pod that is not live: once more.
    }
    return absl::UnavailableError(absl::StrCat(Name(), ": the link of uid ", drivers::View(uid),
                                               " kept changing while it was routed (", kRouteRounds,
                                               " reads); try again"));
  }

  void LogRefreshFailure(const absl::Status& status) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(log_mutex_);
    if (refresh_failing_.exchange(true) && now - last_failure_log_ < std::chrono::minutes(1)) {
      return;
    }
    last_failure_log_ = now;
    executor_.Log(LogLevel::kWarning,
                  absl::StrCat(Name(), ": cannot read the pod states (the pods known age out ",
                               options_.freshness.count(),
                               " ms after their last report): ", status.ToString()));
  }

  std::string Name() const { return absl::StrCat("Router(", options_.ns, "/", options_.svc, ")"); }

  Executor& executor_;
  RouterOptions options_;
  std::size_t shard_capacity_ = 0;  // 0: no cache
  drivers::ShardedCounters<Result::kCount + 1> counters_;
  std::unique_ptr<Executor::MetricsSource> metrics_;

  mutable std::mutex pods_mutex_;
  // Guarded by pods_mutex_ (the slots' atomics are read without it).
  std::map<PodIndex, std::unique_ptr<PodSlot>> pods_;
  double placement_weight_ = 1;  // LearnShare()
  std::atomic<bool> refreshed_{false};
  // When the newest pod states read were asked for (clock ms).
  std::atomic<std::int64_t> refreshed_from_{kNever};
  std::mutex confirm_mutex_;  // one confirming read at a time

  std::array<CacheShard, kCacheShards> cache_;

  std::mutex log_mutex_;
  std::atomic<bool> refresh_failing_{false};
  std::chrono::steady_clock::time_point last_failure_log_{};  // guarded by log_mutex_

  std::mutex timer_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by timer_mutex_
  std::thread timer_;
};

absl::StatusOr<std::unique_ptr<Router>> Router::Open(Executor& executor, RouterOptions options) {
  auto invalid = [](std::string_view field, std::string_view rule) {
    return absl::InvalidArgumentError(
        absl::StrCat("Router: invalid ", drivers::View(field), ": ", drivers::View(rule)));
  };
  if (options.link_ttl.is_persistent() || options.link_ttl.seconds() <= 0) {
    return invalid("link_ttl", absl::StrCat("must be temporary (seconds > 0), got ",
                                            options.link_ttl.seconds()));
  }
  if (options.freshness.count() <= 0) {
    return invalid("freshness",
                   absl::StrCat("must be more than 0 ms, got ", options.freshness.count()));
  }
  if (options.state_refresh.count() <= 0) {
    return invalid("state_refresh",
                   absl::StrCat("must be more than 0 ms, got ", options.state_refresh.count()));
  }
  if (options.cache_ttl.count() < 0) {
    return invalid("cache_ttl",
                   absl::StrCat("must be 0 (no cache) or more, got ", options.cache_ttl.count()));
  }
  auto impl = std::make_unique<Impl>(executor, std::move(options));
  // The first read checks ns and svc (INVALID_ARGUMENT before anything is
  // sent); Redis being away is no reason not to open.
  const absl::Status first = impl->Refresh({});
  if (first.code() == absl::StatusCode::kInvalidArgument) return first;
  impl->StartTimer();
  return std::unique_ptr<Router>(new Router(std::move(impl)));
}

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;

absl::StatusOr<RouteResult> Router::Route(std::string_view uid, const CallOptions& call) {
  return impl_->Route(uid, call);
}
void Router::Invalidate(std::string_view uid, PodIndex pod) { impl_->Invalidate(uid, pod); }
absl::Status Router::Refresh(const CallOptions& call) { return impl_->Refresh(call); }
std::vector<PodView> Router::Pods() const { return impl_->Pods(); }
Router::Stats Router::stats() const { return impl_->stats(); }
const RouterOptions& Router::options() const { return impl_->options(); }

}  // namespace sfroute
