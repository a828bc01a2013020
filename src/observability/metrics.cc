#include "observability/metrics.h"

#include <cstdio>

#include "str_cat.h"

namespace sfroute::internal {
namespace {

// Enough shards that 50 threads rarely share one; each on cache lines of
// its own.
constexpr std::size_t kShards = 16;

std::atomic<std::size_t> next_shard{0};

constexpr std::array<std::int64_t, kDurationBuckets.size()> BucketNanos() {
  std::array<std::int64_t, kDurationBuckets.size()> nanos{};
  for (std::size_t i = 0; i < nanos.size(); ++i) {
    nanos[i] = static_cast<std::int64_t>(kDurationBuckets[i] * 1e9 + 0.5);
  }
  return nanos;
}
constexpr auto kBucketNanos = BucketNanos();

// A label value with \, " and newline escaped, as the text format wants.
std::string Escaped(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

void Header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append(StrCat("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n"));
}

}  // namespace

struct alignas(64) Metrics::Shard {
  struct alignas(64) PerOperation {
    std::array<std::atomic<std::uint64_t>, kStatusCodes> calls{};
    std::array<std::atomic<std::uint64_t>, kDurationBuckets.size() + 1> buckets{};
    std::atomic<std::uint64_t> nanos{0};
  };
  std::array<PerOperation, kOperationCount> operations;
  std::atomic<std::int64_t> in_flight{0};
};

Metrics::Metrics() : shards_(new Shard[kShards]) {}
Metrics::~Metrics() = default;

Metrics::Shard& Metrics::MyShard() {
  thread_local const std::size_t shard = next_shard.fetch_add(1) % kShards;
  return shards_[shard];
}

void Metrics::CallStarted() { MyShard().in_flight.fetch_add(1, std::memory_order_relaxed); }

void Metrics::CallFinished(Operation operation, absl::StatusCode code,
                           std::chrono::nanoseconds took) {
  Shard& shard = MyShard();
  shard.in_flight.fetch_sub(1, std::memory_order_relaxed);
  auto& counts = shard.operations[static_cast<std::size_t>(operation)];
  const auto code_index = static_cast<std::size_t>(code);
  counts.calls[code_index < kStatusCodes ? code_index : 2 /* UNKNOWN */].fetch_add(
      1, std::memory_order_relaxed);
  std::size_t bucket = 0;
  while (bucket < kBucketNanos.size() && took.count() > kBucketNanos[bucket]) ++bucket;
  counts.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  counts.nanos.fetch_add(static_cast<std::uint64_t>(took.count()), std::memory_order_relaxed);
}

NodeCounters& Metrics::Node(const std::string& address) {
  MutexLock lock(&mutex_);
  auto& node = nodes_[address];
  if (node == nullptr) node = std::make_unique<NodeCounters>(address);
  return *node;
}

void Metrics::Source::Collect(std::vector<MetricsSnapshot::Labeled>& rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (collect_) collect_(rows);
}

void Metrics::Source::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  collect_ = nullptr;
}

std::shared_ptr<Metrics::Source> Metrics::AddSource(Collector collect) {
  auto source = std::make_shared<Source>(std::move(collect));
  MutexLock lock(&mutex_);
  std::erase_if(sources_, [](const std::weak_ptr<Source>& gone) { return gone.expired(); });
  sources_.push_back(source);
  return source;
}

MetricsSnapshot Metrics::Snapshot() const {
  MetricsSnapshot snapshot;
  snapshot.operations.resize(kOperationCount);
  for (std::size_t op = 0; op < kOperationCount; ++op) {
    snapshot.operations[op].name = kOperationNames[op];
  }
  for (std::size_t s = 0; s < kShards; ++s) {
    const Shard& shard = shards_[s];
    snapshot.in_flight += shard.in_flight.load(std::memory_order_relaxed);
    for (std::size_t op = 0; op < kOperationCount; ++op) {
      const auto& counts = shard.operations[op];
      auto& total = snapshot.operations[op];
      for (std::size_t c = 0; c < kStatusCodes; ++c) {
        total.calls[c] += counts.calls[c].load(std::memory_order_relaxed);
      }
      for (std::size_t b = 0; b < total.buckets.size(); ++b) {
        total.buckets[b] += counts.buckets[b].load(std::memory_order_relaxed);
      }
      total.seconds += static_cast<double>(counts.nanos.load(std::memory_order_relaxed)) / 1e9;
    }
  }
  // Cumulative buckets, and a count that equals the calls counted: the
  // shards were read one after the other, so a call that ended meanwhile
  // may be in one and not yet the other; the histogram is made to agree
  // with the calls.
  for (auto& total : snapshot.operations) {
    std::uint64_t calls = 0;
    for (const std::uint64_t count : total.calls) calls += count;
    std::uint64_t running = 0;
    for (auto& bucket : total.buckets) {
      running += bucket;
      bucket = std::min(running, calls);
    }
    total.buckets.back() = calls;
  }
  if (snapshot.in_flight < 0) snapshot.in_flight = 0;
  snapshot.script_reloads = script_reloads_.load(std::memory_order_relaxed);
  snapshot.topology_reloads = topology_reloads_.load(std::memory_order_relaxed);
  snapshot.moved = moved_.load(std::memory_order_relaxed);
  snapshot.ask = ask_.load(std::memory_order_relaxed);
  std::vector<std::shared_ptr<Source>> sources;
  {
    MutexLock lock(&mutex_);
    for (const auto& [address, node] : nodes_) {
      snapshot.nodes.push_back({address, node->opened.load(std::memory_order_relaxed),
                                node->failures.load(std::memory_order_relaxed)});
    }
    for (const auto& weak : sources_) {
      if (auto source = weak.lock()) sources.push_back(std::move(source));
    }
  }
  // Collected outside the lock (a collector takes locks of its own); rows
  // of one series from several sources (two routers of one service) add up.
  std::vector<MetricsSnapshot::Labeled> rows;
  rows.push_back({"sfroute_links_moved_total", {}, links_moved_.load(std::memory_order_relaxed)});
  rows.push_back(
      {"sfroute_links_scanned_total", {}, links_scanned_.load(std::memory_order_relaxed)});
  rows.push_back({"sfroute_sentinel_master_changes_total",
                  {},
                  master_changes_.load(std::memory_order_relaxed)});
  for (const auto& source : sources) source->Collect(rows);
  std::map<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>, std::uint64_t>
      series;
  for (auto& row : rows) series[{std::move(row.name), std::move(row.labels)}] += row.value;
  for (auto& [key, value] : series) snapshot.labeled.push_back({key.first, key.second, value});
  return snapshot;
}

std::string Metrics::Text(const MetricsSnapshot& snapshot) {
  std::string out;
  Header(out, "sfroute_operations_total", "counter", "Calls of each operation, by outcome code.");
  for (const auto& operation : snapshot.operations) {
    for (std::size_t c = 0; c < kStatusCodes; ++c) {
      const std::uint64_t count = operation.calls[c];
      // Every operation's OK line always, the other codes once they happened.
      if (count == 0 && c != 0) continue;
      out.append(StrCat("sfroute_operations_total{operation=\"", operation.name, "\",code=\"",
                        absl::StatusCodeToString(static_cast<absl::StatusCode>(c)), "\"} ", count,
                        "\n"));
    }
  }
  Header(out, "sfroute_operation_duration_seconds", "histogram",
         "Duration of each call, from its start to its result.");
  for (const auto& counts : snapshot.operations) {
    const std::string operation = StrCat("operation=\"", counts.name, "\"");
    for (std::size_t b = 0; b < counts.buckets.size(); ++b) {
      const std::string le = b < kDurationBuckets.size() ? Number(kDurationBuckets[b]) : "+Inf";
      out.append(StrCat("sfroute_operation_duration_seconds_bucket{", operation, ",le=\"", le,
                        "\"} ", counts.buckets[b], "\n"));
    }
    out.append(StrCat("sfroute_operation_duration_seconds_sum{", operation, "} ",
                      Number(counts.seconds), "\n"));
    out.append(StrCat("sfroute_operation_duration_seconds_count{", operation, "} ",
                      counts.buckets.back(), "\n"));
  }
  Header(out, "sfroute_calls_in_flight", "gauge", "Calls started and not yet completed.");
  out.append(StrCat("sfroute_calls_in_flight ", snapshot.in_flight, "\n"));
  Header(out, "sfroute_connections_opened_total", "counter",
         "Connections opened (and logged in) to each node.");
  for (const auto& node : snapshot.nodes) {
    out.append(StrCat("sfroute_connections_opened_total{node=\"", Escaped(node.address), "\"} ",
                      node.opened, "\n"));
  }
  Header(out, "sfroute_connection_failures_total", "counter",
         "Connections to each node that could not be opened, or were lost.");
  for (const auto& node : snapshot.nodes) {
    out.append(StrCat("sfroute_connection_failures_total{node=\"", Escaped(node.address), "\"} ",
                      node.failures, "\n"));
  }
  Header(out, "sfroute_script_reloads_total", "counter",
         "Scripts sent again in full after the server answered NOSCRIPT.");
  out.append(StrCat("sfroute_script_reloads_total ", snapshot.script_reloads, "\n"));
  Header(out, "sfroute_topology_reloads_total", "counter", "Redis Cluster slot maps loaded.");
  out.append(StrCat("sfroute_topology_reloads_total ", snapshot.topology_reloads, "\n"));
  Header(out, "sfroute_redirects_total", "counter",
         "Redis Cluster redirects followed, by kind (moved, ask).");
  out.append(StrCat("sfroute_redirects_total{kind=\"moved\"} ", snapshot.moved, "\n"));
  out.append(StrCat("sfroute_redirects_total{kind=\"ask\"} ", snapshot.ask, "\n"));
  std::string last_name;
  for (const auto& counter : snapshot.labeled) {
    if (counter.name != last_name) {
      Header(out, counter.name, "counter",
             counter.name == "sfroute_router_routes_total"
                 ? "Routes answered by the routers, by service and result."
             : counter.name == "sfroute_reporter_reports_total"
                 ? "Load reports written by the pod reporters, by service and code."
             : counter.name == "sfroute_links_scanned_total"
                 ? "Links found by ScanLinks (handed to its caller)."
             : counter.name == "sfroute_links_moved_total"
                 ? "Links moved by MoveLinkedPod (evacuations)."
             : counter.name == "sfroute_sentinel_master_changes_total"
                 ? "Times the sentinels named another master than the one in use."
                 : "Counted by code built on the executor.");
      last_name = counter.name;
    }
    std::string labels;
    for (const auto& [key, value] : counter.labels) {
      labels.append(StrCat(labels.empty() ? "" : ",", key, "=\"", Escaped(value), "\""));
    }
    out.append(labels.empty() ? StrCat(counter.name, " ", counter.value, "\n")
                              : StrCat(counter.name, "{", labels, "} ", counter.value, "\n"));
  }
  return out;
}

}  // namespace sfroute::internal
