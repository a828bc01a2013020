// An executor's metrics at one moment (Executor::Metrics()): what
// Executor::MetricsText() renders in the Prometheus text format, as values.
#ifndef SFROUTE_METRICS_H_
#define SFROUTE_METRICS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sfroute {

struct MetricsSnapshot {
  // Upper bounds of the duration histogram buckets, in seconds: 50 µs to
  // 10 s (and +Inf after them).
  static constexpr std::array<double, 17> kDurationBounds = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
  static constexpr std::size_t kStatusCodes = 17;  // absl::StatusCode 0 ... 16

  struct Operation {
    std::string_view name;                            // "SetLinkedPod", ...
    std::array<std::uint64_t, kStatusCodes> calls{};  // by absl::StatusCode
    // Calls that took at most kDurationBounds[i] seconds (cumulative); the
    // last one (+Inf) is every call.
    std::array<std::uint64_t, kDurationBounds.size() + 1> buckets{};
    double seconds = 0;  // all their durations added up
    std::uint64_t total() const { return buckets.back(); }
  };
  std::vector<Operation> operations;  // every operation, in SPEC.md order
  std::int64_t in_flight = 0;         // calls started and not completed
  struct Node {
    std::string address;  // host:port
    std::uint64_t opened = 0;
    std::uint64_t failures = 0;  // could not connect, or lost
  };
  std::vector<Node> nodes;
  std::uint64_t script_reloads = 0;    // scripts sent again after NOSCRIPT
  std::uint64_t topology_reloads = 0;  // cluster slot maps loaded
  std::uint64_t moved = 0;             // MOVED redirects followed
  std::uint64_t ask = 0;               // ASK redirects followed
  // The drivers' counters: sfroute_router_routes_total{svc,result},
  // sfroute_reporter_reports_total{svc,code}.
  struct Labeled {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;
    std::uint64_t value = 0;
  };
  std::vector<Labeled> labeled;
};

}  // namespace sfroute

#endif  // SFROUTE_METRICS_H_
