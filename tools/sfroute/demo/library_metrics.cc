#include "demo/library_metrics.h"

#include <algorithm>

namespace sfroute::demo {
namespace {

constexpr const auto& kBounds = MetricsSnapshot::kDurationBounds;

const MetricsSnapshot::Operation* FindOperation(const MetricsSnapshot& snapshot,
                                                std::string_view name) {
  for (const MetricsSnapshot::Operation& op : snapshot.operations) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

std::uint64_t Minus(std::uint64_t after, std::uint64_t before) {
  return after > before ? after - before : 0;
}

}  // namespace

std::uint64_t TotalCalls(const MetricsSnapshot& snapshot) {
  std::uint64_t calls = 0;
  for (const MetricsSnapshot::Operation& op : snapshot.operations) calls += op.total();
  return calls;
}

double HistogramQuantile(const std::vector<std::uint64_t>& cumulative, double q) {
  if (cumulative.empty() || cumulative.back() == 0) return 0;
  const double rank = q * static_cast<double>(cumulative.back());
  for (std::size_t i = 0; i < cumulative.size(); ++i) {
    if (static_cast<double>(cumulative[i]) < rank) continue;
    // Past the last bound (+Inf) there is no upper edge: the last bound.
    if (i >= kBounds.size()) return kBounds.back();
    const double lower = i == 0 ? 0 : kBounds[i - 1];
    const std::uint64_t below = i == 0 ? 0 : cumulative[i - 1];
    const std::uint64_t in_bucket = cumulative[i] - below;
    if (in_bucket == 0) return lower;
    return lower + (kBounds[i] - lower) * (rank - static_cast<double>(below)) /
                       static_cast<double>(in_bucket);
  }
  return kBounds.back();
}

LibraryFigures DiffMetrics(const MetricsSnapshot& before, const MetricsSnapshot& after) {
  LibraryFigures figures;
  for (const MetricsSnapshot::Operation& op : after.operations) {
    const MetricsSnapshot::Operation* old = FindOperation(before, op.name);
    std::vector<std::uint64_t> buckets(op.buckets.begin(), op.buckets.end());
    std::uint64_t failures = 0;
    double seconds = op.seconds;
    for (std::size_t code = 0; code < op.calls.size(); ++code) {
      const std::uint64_t calls = Minus(op.calls[code], old ? old->calls[code] : 0);
      if (code != 0) failures += calls;
    }
    if (old != nullptr) {
      for (std::size_t i = 0; i < buckets.size(); ++i)
        buckets[i] = Minus(buckets[i], old->buckets[i]);
      seconds -= old->seconds;
    }
    const std::uint64_t calls = buckets.back();
    if (calls == 0) continue;
    figures.calls += calls;
    figures.operations.push_back({.name = std::string(op.name),
                                  .calls = calls,
                                  .failures = failures,
                                  .mean_us = std::max(0.0, seconds) / calls * 1e6,
                                  .p50_us = HistogramQuantile(buckets, 0.5) * 1e6,
                                  .p99_us = HistogramQuantile(buckets, 0.99) * 1e6});
  }
  for (const MetricsSnapshot::Node& node : after.nodes) {
    figures.connections_opened += node.opened;
    figures.connection_failures += node.failures;
  }
  for (const MetricsSnapshot::Node& node : before.nodes) {
    figures.connections_opened = Minus(figures.connections_opened, node.opened);
    figures.connection_failures = Minus(figures.connection_failures, node.failures);
  }
  figures.script_reloads = Minus(after.script_reloads, before.script_reloads);
  figures.redirects = Minus(after.moved + after.ask, before.moved + before.ask);
  for (const MetricsSnapshot::Labeled& row : after.labeled) {
    if (row.name != "sfroute_reporter_reports_total") continue;
    for (const auto& [label, value] : row.labels) {
      if (label == "code") figures.reports[value] += row.value;
    }
  }
  return figures;
}

}  // namespace sfroute::demo
