#include "demo/world.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <utility>

namespace sfroute::demo {

std::int64_t NowMs() { return UnixClock()->Now().count(); }

std::string FreshNamespace() {
  return "demo-" + std::to_string(::getpid()) + "-" + std::to_string(NowMs());
}

std::vector<std::string> ServiceNames(int count) {
  static constexpr std::array<const char*, 8> kNames = {"scene", "match", "chat", "guild",
                                                        "trade", "mail",  "rank", "party"};
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) {
    names.push_back(i < static_cast<int>(kNames.size()) ? std::string(kNames[i])
                                                        : "svc" + std::to_string(i));
  }
  return names;
}

std::chrono::milliseconds StampClock::Now() const {
  const std::chrono::milliseconds now = UnixClock()->Now();
  std::int64_t latest = latest_ms_.load();
  while (latest < now.count() && !latest_ms_.compare_exchange_weak(latest, now.count())) {
  }
  return now;
}

DemoPod::DemoPod(Executor& executor, std::string ns, std::string svc, PodIndex pod,
                 std::chrono::milliseconds period)
    : executor_(executor), ns_(std::move(ns)), svc_(std::move(svc)), pod_(pod), period_(period) {}

DemoPod::~DemoPod() = default;

absl::Status DemoPod::Start() {
  std::unique_lock<std::shared_mutex> life(life_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Every report from here on is stamped at or after this.
    silences_.back().resumed_ms = NowMs();
  }
  absl::StatusOr<std::unique_ptr<PodReporter>> reporter = PodReporter::Start(
      executor_, {.ns = ns_,
                  .svc = svc_,
                  .pod = pod_,
                  .period = period_,
                  .load = [this] { return static_cast<std::int64_t>(players()); },
                  .clock = clock_});
  if (!reporter.ok()) return reporter.status();
  reporter_ = std::move(*reporter);
  return absl::OkStatus();
}

void DemoPod::Drain() {
  std::shared_lock<std::shared_mutex> life(life_mutex_);
  if (reporter_ == nullptr) return;
  reporter_->Drain();
  // Written now, after any load report in progress: every load report is
  // stamped at or before this drain report. A failed write is stamped too.
  reporter_->ReportNow().IgnoreError();
  std::lock_guard<std::mutex> lock(mutex_);
  drained_ = true;
  drain_report_ms_ = clock_->LatestMs();
}

std::int64_t DemoPod::drain_report_ms() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return drain_report_ms_;
}

std::int64_t DemoPod::Crash() {
  std::unique_lock<std::shared_mutex> life(life_mutex_);
  reporter_.reset();  // waits for a report in progress: none comes after
  std::lock_guard<std::mutex> lock(mutex_);
  silences_.push_back(Silence{.last_report_ms = clock_->LatestMs()});
  return silences_.back().last_report_ms;
}

bool DemoPod::up() const {
  std::shared_lock<std::shared_mutex> life(life_mutex_);
  return reporter_ != nullptr;
}

bool DemoPod::reporting() const {
  if (!up()) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  return !drained_;
}

void DemoPod::MarkKnown(std::int64_t ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  silences_.back().known_ms = ms;
}

std::optional<absl::StatusOr<TrySetResult>> DemoPod::Claim(const std::string& uid, int player) {
  std::shared_lock<std::shared_mutex> life(life_mutex_);
  if (reporter_ == nullptr) return std::nullopt;
  absl::StatusOr<TrySetResult> claim = reporter_->Claim(uid);
  if (claim.ok() && claim->applied) {
    std::lock_guard<std::mutex> lock(mutex_);
    players_.insert(player);
  }
  return claim;
}

std::optional<absl::StatusOr<bool>> DemoPod::Release(const std::string& uid, int player,
                                                     std::int64_t keep_seconds) {
  std::shared_lock<std::shared_mutex> life(life_mutex_);
  if (reporter_ == nullptr) return std::nullopt;
  absl::StatusOr<bool> released = reporter_->Release(uid, keep_seconds);
  if (released.ok() && *released) {
    std::lock_guard<std::mutex> lock(mutex_);
    players_.erase(player);
  }
  return released;
}

int DemoPod::players() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(players_.size());
}

std::vector<int> DemoPod::PlayerList() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {players_.begin(), players_.end()};
}

PodRecord DemoPod::Record() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return PodRecord{.pod = pod_, .silences = silences_};
}

absl::Status Fleet::RefreshRouters(int svc) {
  for (auto& routers : gateways) {
    absl::Status status = routers[svc]->Refresh();
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

RouterFigures Fleet::RouterStats() const {
  RouterFigures figures;
  for (const auto& routers : gateways) {
    for (const auto& router : routers) {
      const Router::Stats stats = router->stats();
      ++figures.routers;
      figures.stats.cache_hits += stats.cache_hits;
      figures.stats.linked += stats.linked;
      figures.stats.placed += stats.placed;
      figures.stats.moved += stats.moved;
      figures.stats.errors += stats.errors;
      figures.stats.redis_calls += stats.redis_calls;
      figures.stats.refreshes += stats.refreshes;
      figures.stats.cached += stats.cached;
    }
  }
  return figures;
}

}  // namespace sfroute::demo
