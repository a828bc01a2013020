// Mirrors Executor::Metrics() into prometheus-cpp families. Counters only
// go up, so each sync adds what changed since the last one.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "sfroute/prometheus.h"

namespace sfroute {

class PrometheusMetrics::Impl {
 public:
  Impl(const Executor& executor, prometheus::Registry& registry)
      : executor_(executor),
        registry_(registry),
        operations_(prometheus::BuildCounter()
                        .Name("sfroute_operations_total")
                        .Help("Calls of each operation, by outcome code.")
                        .Register(registry)),
        durations_(prometheus::BuildHistogram()
                       .Name("sfroute_operation_duration_seconds")
                       .Help("Duration of each call, from its start to its result.")
                       .Register(registry)),
        in_flight_family_(prometheus::BuildGauge()
                              .Name("sfroute_calls_in_flight")
                              .Help("Calls started and not yet completed.")
                              .Register(registry)),
        in_flight_(in_flight_family_.Add({})),
        opened_(prometheus::BuildCounter()
                    .Name("sfroute_connections_opened_total")
                    .Help("Connections opened (and logged in) to each node.")
                    .Register(registry)),
        failures_(prometheus::BuildCounter()
                      .Name("sfroute_connection_failures_total")
                      .Help("Connections to each node that could not be opened, or were lost.")
                      .Register(registry)),
        script_reloads_(prometheus::BuildCounter()
                            .Name("sfroute_script_reloads_total")
                            .Help("Scripts sent again in full after the server answered NOSCRIPT.")
                            .Register(registry)),
        topology_reloads_(prometheus::BuildCounter()
                              .Name("sfroute_topology_reloads_total")
                              .Help("Redis Cluster slot maps loaded.")
                              .Register(registry)),
        redirects_(prometheus::BuildCounter()
                       .Name("sfroute_redirects_total")
                       .Help("Redis Cluster redirects followed, by kind (moved, ask).")
                       .Register(registry)),
        routes_(prometheus::BuildCounter()
                    .Name("sfroute_router_routes_total")
                    .Help("Routes answered by the routers, by service and result.")
                    .Register(registry)),
        reports_(prometheus::BuildCounter()
                     .Name("sfroute_reporter_reports_total")
                     .Help("Load reports written by the pod reporters, by service and code.")
                     .Register(registry)) {}

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(stop_mutex_);
      stopping_ = true;
    }
    stop_.notify_all();
    if (thread_.joinable()) thread_.join();
    for (auto* family : {&operations_, &opened_, &failures_, &script_reloads_, &topology_reloads_,
                         &redirects_, &routes_, &reports_}) {
      registry_.Remove(*family);
    }
    registry_.Remove(durations_);
    registry_.Remove(in_flight_family_);
  }

  void Start(std::chrono::milliseconds interval) {
    thread_ = std::thread([this, interval] {
      std::unique_lock<std::mutex> lock(stop_mutex_);
      while (!stop_.wait_for(lock, interval, [this] { return stopping_; })) {
        lock.unlock();
        Sync();
        lock.lock();
      }
    });
  }

  void Sync() {
    const MetricsSnapshot now = executor_.Metrics();
    std::lock_guard<std::mutex> lock(sync_mutex_);
    for (const auto& operation : now.operations) {
      const std::string name(operation.name);
      for (std::size_t code = 0; code < operation.calls.size(); ++code) {
        if (operation.calls[code] == 0 && code != 0) continue;
        const std::string code_name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
        Add(operations_, {{"operation", name}, {"code", code_name}}, operation.calls[code]);
      }
      // Histograms take per-bucket increments: the new calls of each bucket.
      auto& previous = last_buckets_[name];
      previous.resize(operation.buckets.size(), 0);
      std::vector<double> increments(MetricsSnapshot::kDurationBounds.size() + 1);
      std::uint64_t below = 0, previous_below = 0;
      for (std::size_t b = 0; b < operation.buckets.size(); ++b) {
        const std::uint64_t in_bucket = operation.buckets[b] - below;
        const std::uint64_t previous_in_bucket = previous[b] - previous_below;
        increments[b] = static_cast<double>(in_bucket - std::min(in_bucket, previous_in_bucket));
        below = operation.buckets[b];
        previous_below = previous[b];
        previous[b] = operation.buckets[b];
      }
      double& previous_seconds = last_seconds_[name];
      auto& histogram = durations_.Add(
          {{"operation", name}},
          prometheus::Histogram::BucketBoundaries(MetricsSnapshot::kDurationBounds.begin(),
                                                  MetricsSnapshot::kDurationBounds.end()));
      histogram.ObserveMultiple(increments, operation.seconds - previous_seconds);
      previous_seconds = operation.seconds;
    }
    in_flight_.Set(static_cast<double>(now.in_flight));
    for (const auto& node : now.nodes) {
      Add(opened_, {{"node", node.address}}, node.opened);
      Add(failures_, {{"node", node.address}}, node.failures);
    }
    Add(script_reloads_, {}, now.script_reloads);
    Add(topology_reloads_, {}, now.topology_reloads);
    Add(redirects_, {{"kind", "moved"}}, now.moved);
    Add(redirects_, {{"kind", "ask"}}, now.ask);
    for (const auto& counter : now.labeled) {
      std::map<std::string, std::string> labels(counter.labels.begin(), counter.labels.end());
      Add(counter.name == "sfroute_router_routes_total" ? routes_ : reports_, labels,
          counter.value);
    }
  }

 private:
  // Brings the counter of `labels` in `family` to `value`.
  void Add(prometheus::Family<prometheus::Counter>& family,
           const std::map<std::string, std::string>& labels, std::uint64_t value) {
    std::uint64_t& seen = last_counts_[{&family, labels}];
    if (value > seen) family.Add(labels).Increment(static_cast<double>(value - seen));
    if (value == 0 && seen == 0) family.Add(labels);  // present, at 0
    seen = std::max(seen, value);
  }

  const Executor& executor_;
  prometheus::Registry& registry_;
  prometheus::Family<prometheus::Counter>& operations_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Gauge>& in_flight_family_;
  prometheus::Gauge& in_flight_;
  prometheus::Family<prometheus::Counter>& opened_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Counter>& script_reloads_;
  prometheus::Family<prometheus::Counter>& topology_reloads_;
  prometheus::Family<prometheus::Counter>& redirects_;
  prometheus::Family<prometheus::Counter>& routes_;
  prometheus::Family<prometheus::Counter>& reports_;

  std::mutex sync_mutex_;
  std::map<std::pair<const void*, std::map<std::string, std::string>>, std::uint64_t> last_counts_;
  std::map<std::string, std::vector<std::uint64_t>> last_buckets_;
  std::map<std::string, double> last_seconds_;

  std::mutex stop_mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;
};

std::unique_ptr<PrometheusMetrics> PrometheusMetrics::Publish(const Executor& executor,
                                                              prometheus::Registry& registry,
                                                              std::chrono::milliseconds interval) {
  auto impl = std::make_unique<Impl>(executor, registry);
  impl->Sync();
  impl->Start(interval);
  return std::unique_ptr<PrometheusMetrics>(new PrometheusMetrics(std::move(impl)));
}

PrometheusMetrics::PrometheusMetrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PrometheusMetrics::~PrometheusMetrics() = default;
void PrometheusMetrics::Sync() { impl_->Sync(); }

}  // namespace sfroute
