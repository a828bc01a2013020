// What the library counted during a run: the difference of two
// Executor::Metrics() snapshots, with latency percentiles read from the
// duration histogram.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_LIBRARY_METRICS_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_LIBRARY_METRICS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sfroute/metrics.h"

namespace sfroute::demo {

struct OperationFigures {
  std::string name;  // "SetLinkedPod", ...
  std::uint64_t calls = 0;
  std::uint64_t failures = 0;  // calls whose code was not OK
  double mean_us = 0;
  // Interpolated within the histogram bucket that holds the rank, as
  // Prometheus' histogram_quantile does: only as precise as the buckets.
  double p50_us = 0;
  double p99_us = 0;
};

struct LibraryFigures {
  std::vector<OperationFigures> operations;  // called at least once, SPEC.md order
  std::uint64_t calls = 0;                   // of every operation
  std::uint64_t connections_opened = 0;
  std::uint64_t connection_failures = 0;
  std::uint64_t script_reloads = 0;
  std::uint64_t redirects = 0;  // MOVED and ASK
  // sfroute_reporter_reports_total by code, of the reporters still running
  // when `after` was taken (a reporter's counts go with it).
  std::map<std::string, std::uint64_t> reports;
};

// Every call counted in `snapshot`, of every operation.
std::uint64_t TotalCalls(const MetricsSnapshot& snapshot);

// `after` minus `before` (of one executor, `before` first).
LibraryFigures DiffMetrics(const MetricsSnapshot& before, const MetricsSnapshot& after);

// The `q` quantile (0 < q < 1), in seconds, of a histogram in the form of
// MetricsSnapshot::Operation::buckets (cumulative counts, +Inf last).
double HistogramQuantile(const std::vector<std::uint64_t>& cumulative, double q);

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_LIBRARY_METRICS_H_
