// `sfroute bench`: one operation, C concurrent callers, for T seconds or N
// operations, over a keyspace of K uids; ops/s and latency percentiles.
#ifndef SFROUTE_TOOLS_BENCH_LOAD_H_
#define SFROUTE_TOOLS_BENCH_LOAD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sfroute/sfroute.h"

namespace sfroute::bench {

struct LoadOptions {
  std::string operation = "get";  // see Operations()
  int callers = 50;               // threads calling the one shared Executor
  double seconds = 5;             // run time, unless `operations` is set
  std::int64_t operations = 0;    // > 0: stop after this many calls in all
  int keyspace = 100000;          // uids u0 ... u<K-1>
  int batch = 100;                // uids per call of batch-get and set-many
  std::string ns = "bench";
  std::string svc = "scene";
  // Async: one thread keeps `in_flight` calls going with the async API (each
  // callback starts the next call) instead of `callers` threads.
  bool async = false;
  int in_flight = 256;
};

// What the one Router of a `route` run did during the timed run (its
// Stats, less what pre-routing the keyspace counted).
struct RouterFigures {
  int live_pods = 0;              // pods kept reporting through the run
  double pre_route_seconds = 0;   // routing every uid once, before the run
  std::uint64_t cache_hits = 0;   // routes answered from the cache
  std::uint64_t redis_calls = 0;  // calls the routes made
  std::uint64_t linked = 0;       // found linked by a read (cache misses)
  std::uint64_t placed = 0;       // new uids placed
  std::uint64_t moved = 0;        // temporary links moved off pods not live
  std::uint64_t errors = 0;
};

struct LoadReport {
  std::string operation;
  int callers = 0;          // threads; 0 for an async run
  int in_flight = 0;        // calls kept going by an async run
  std::int64_t calls = 0;   // completed calls
  std::int64_t links = 0;   // links read or written (calls × batch for batches)
  std::int64_t errors = 0;  // calls that returned an error
  std::string first_error;
  double seconds = 0;
  double calls_per_second = 0;
  double links_per_second = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  std::optional<RouterFigures> router;  // a `route` run
};

// The operations `sfroute bench` can run.
const std::vector<std::string>& Operations();

// Fills the keyspace first for reads (one pipelined SetLinkedPods per
// batch), then runs the load. INVALID_ARGUMENT for bad options.
//
// `route`: every caller routes through one shared Router (ns, svc). Pods
// 0 ... 15 (the pods the other operations link to, so that a keyspace they
// filled stays routable) report load 0 through a PodReporter each, every
// second, for the whole run; every uid is routed once before the run (on
// `callers` threads), so the run measures what a gateway's routes cost once
// its players are known: mostly cache hits.
absl::StatusOr<LoadReport> RunLoad(Executor& executor, const LoadOptions& options);

}  // namespace sfroute::bench

#endif  // SFROUTE_TOOLS_BENCH_LOAD_H_
