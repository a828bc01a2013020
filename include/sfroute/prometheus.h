// Publishing an executor's metrics in an application's prometheus-cpp
// registry (target sfroute::prometheus, built when Debian's
// prometheus-cpp-dev is installed).
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   auto published = sfroute::PrometheusMetrics::Publish(*executor, *registry);
//   prometheus::Exposer exposer("127.0.0.1:9464");
//   exposer.RegisterCollectable(registry);
#ifndef SFROUTE_PROMETHEUS_H_
#define SFROUTE_PROMETHEUS_H_

#include <chrono>
#include <memory>

#include "sfroute/sfroute.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace sfroute {

// The metrics of Executor::MetricsText() — same names, labels, buckets — as
// prometheus-cpp counters, gauges and histograms in `registry`, brought up
// to date every `interval` on a thread of its own, and by Sync(). A scrape
// sees them at most `interval` old. Thread-safe. Destroy it before the
// executor and the registry; it takes its families out of the registry.
class PrometheusMetrics {
 public:
  static std::unique_ptr<PrometheusMetrics> Publish(
      const Executor& executor, prometheus::Registry& registry,
      std::chrono::milliseconds interval = std::chrono::seconds(1));
  ~PrometheusMetrics();
  PrometheusMetrics(const PrometheusMetrics&) = delete;
  PrometheusMetrics& operator=(const PrometheusMetrics&) = delete;

  // Brings the registry up to date now.
  void Sync();

 private:
  class Impl;
  explicit PrometheusMetrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sfroute

#endif  // SFROUTE_PROMETHEUS_H_
