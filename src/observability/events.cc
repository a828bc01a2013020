#include "observability/events.h"

#include <utility>

#include "str_cat.h"

namespace sfroute::internal {
namespace {

constexpr std::chrono::seconds kLogInterval{1};

}  // namespace

Events::Events(LogSink log_sink, bool log_events, std::shared_ptr<Metrics> metrics)
    : log_sink_(std::move(log_sink)), log_events_(log_events), metrics_(std::move(metrics)) {}

Events::Node& Events::ForNode(const std::string& address) {
  MutexLock lock(&mutex_);
  auto& node = nodes_[address];
  if (node == nullptr) node.reset(new Node(*this, metrics_->Node(address)));
  return *node;
}

void Events::Node::Opened() {
  counters_.opened.fetch_add(1, std::memory_order_relaxed);
  if (failed_since_open_.exchange(false)) {
    events_.Limited(LogLevel::kInfo, "reconnected", address(),
                    StrCat("connected to ", address(), " again"));
  }
}

void Events::Node::Failed(bool was_ready, const absl::Status& why) {
  counters_.failures.fetch_add(1, std::memory_order_relaxed);
  failed_since_open_.store(true);
  // The message names the node and never a password.
  events_.Limited(
      LogLevel::kWarning, was_ready ? "lost" : "connect", address(),
      StrCat(was_ready ? "connection lost: " : "cannot open a connection: ", why.message()));
}

void Events::ScriptReloaded(std::string_view what) {
  metrics_->ScriptReloaded();
  Limited(LogLevel::kInfo, "noscript", "", StrCat("NOSCRIPT: sent ", what, " again in full"));
}

void Events::TopologyLoaded(const std::string& from, bool ok, const absl::Status& why) {
  if (ok) {
    metrics_->TopologyReloaded();
    Limited(LogLevel::kInfo, "topology", from, StrCat("cluster slot map loaded from ", from));
  } else {
    Limited(LogLevel::kWarning, "topology-failed", from,
            StrCat("cannot load the cluster slot map: ", why.message()));
  }
}

void Events::Redirected(bool ask, int slot, const std::string& to) {
  metrics_->Redirected(ask);
  Limited(LogLevel::kInfo, ask ? "ask" : "moved", to,
          StrCat(ask ? "ASK" : "MOVED", " slot ", slot, " to ", to));
}

void Events::SentinelSkipped(const std::string& sentinel, const std::string& name,
                             const absl::Status& why) {
  Limited(LogLevel::kWarning, "sentinel-skipped", sentinel,
          StrCat("sentinel ", sentinel, " skipped looking up the master '", name,
                 "': ", why.message()));
}

void Events::MasterChanged(const std::string& name, const std::string& from, const std::string& to,
                           const std::string& sentinel) {
  if (!from.empty()) metrics_->SentinelMasterChanged();
  // Keyed by the new master: two changes in a row are both written.
  Limited(from.empty() ? LogLevel::kInfo : LogLevel::kWarning, "master", to,
          from.empty() ? StrCat("sentinel ", sentinel, ": master '", name, "' is ", to)
                       : StrCat("sentinel ", sentinel, ": master '", name, "' moved from ", from,
                                " to ", to));
}

void Events::MasterLookupFailed(const std::string& name, const absl::Status& why) {
  Limited(LogLevel::kWarning, "master-lookup", name,
          StrCat("cannot find the master '", name, "': ", why.message()));
}

void Events::Limited(LogLevel level, std::string_view kind, const std::string& node,
                     std::string_view message) {
  if (!log_events_) return;
  std::uint64_t held_back = 0;
  {
    MutexLock lock(&mutex_);
    Limit& limit = limits_[{std::string(kind), node}];
    const auto now = std::chrono::steady_clock::now();
    if (limit.last != std::chrono::steady_clock::time_point() && now - limit.last < kLogInterval) {
      ++limit.held_back;
      return;
    }
    limit.last = now;
    held_back = limit.held_back;
    limit.held_back = 0;
  }
  // The sink is the application's code: it may wait for a sync caller
  // whose wake-up this thread holds back (WakeBatch).
  WakeBatch::WakeDue();
  if (held_back == 0) {
    log_sink_(level, message);
  } else {
    log_sink_(level, StrCat(message, " (and ", held_back, " more like it since the last one)"));
  }
}

}  // namespace sfroute::internal
