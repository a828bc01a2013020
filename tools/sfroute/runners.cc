#include "runners.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "int_option.h"
#include "sfroute/clock.h"
#include "sfroute/reporter.h"
#include "sfroute/router.h"
#include "utf8.h"

namespace sfroute::cli {
namespace {

// Pod options are range-checked to 0 ... 2^31-1 while parsing, so the
// narrowing cannot lose anything.
PodIndex Pod(const std::optional<std::int64_t>& value) { return static_cast<PodIndex>(*value); }

// The TTL is passed on unchecked so that the library, the one authority on
// what a valid TTL is, reports a bad one as INVALID_ARGUMENT naming "ttl".
Ttl TtlOf(const CommandArgs& args) { return Ttl::Seconds(*args.ttl); }

Json PodOrNull(const std::optional<PodIndex>& pod) {
  return pod.has_value() ? Json(*pod) : Json(nullptr);
}

// JSON object keys are strings; the library's maps are ordered by number.
template <typename Value>
Json ByPod(const std::map<PodIndex, Value>& by_pod) {
  Json object = Json::object();
  for (const auto& [pod, value] : by_pod) object[std::to_string(pod)] = value;
  return object;
}

absl::StatusOr<Json> OkOr(const absl::Status& status) {
  if (!status.ok()) return status;
  return Json{{"ok", true}};
}

// The keys of SPEC.md §1, for warnings (the library does not export its
// key builder).
std::string StateKeyText(const CommandArgs& args) {
  return "sf:{" + args.ns + ":state:" + args.svc + "}";
}
std::string WorkloadKeyText(const CommandArgs& args, const std::string& svc) {
  return "sf:{" + args.ns + ":workload:" + svc + "}";
}
std::string LinksHashKeyText(const CommandArgs& args) {
  return "sf:{" + args.ns + ":lk:" + args.uid + "}";
}

// A string read from Redis, as JSON. The CLI's own input is UTF-8 (utf8.h),
// but other clients may store any bytes: those are printed with U+FFFD for
// each bad byte (output.cc), and one warning says where, quoting no more
// than a short prefix.
Json StoredText(const std::string& value, std::string_view command, const std::string& where) {
  if (const std::optional<std::size_t> bad = FirstInvalidUtf8(value); bad.has_value()) {
    LogToStderr(LogLevel::kWarning, std::string(command) + ": " + where +
                                        " is not valid UTF-8 (byte " + std::to_string(*bad + 1) +
                                        " of " + std::to_string(value.size()) +
                                        "), printed with U+FFFD: \"" +
                                        QuotablePrefix(value, kQuotedPrefixBytes) + "\"");
  }
  return Json(value);
}

// A pod's state as stored, for `command`'s output.
Json StoredState(const std::string& state, std::string_view command, const CommandArgs& args,
                 const std::string& pod) {
  return StoredText(state, command, "the state of pod " + pod + " in " + StateKeyText(args));
}

// --freshness-ms, else the routers' default.
std::chrono::milliseconds FreshnessOf(const CommandArgs& args) {
  return args.freshness_ms.has_value() ? std::chrono::milliseconds(*args.freshness_ms)
                                       : RouterOptions{}.freshness;
}

}  // namespace

std::optional<UidPod> ParseLinkOption(std::string_view link) {
  const auto equals = link.rfind('=');
  if (equals == std::string_view::npos) return std::nullopt;
  const std::optional<std::int64_t> pod = ParseDecimal(link.substr(equals + 1));
  if (!pod || *pod < 0 || *pod > std::numeric_limits<PodIndex>::max()) return std::nullopt;
  return UidPod{std::string(link.substr(0, equals)), static_cast<PodIndex>(*pod)};
}

absl::StatusOr<Json> RunStateSet(Executor& executor, const CommandArgs& args) {
  return OkOr(executor.SetServiceState(args.ns, args.svc, Pod(args.pod), args.state));
}

absl::StatusOr<Json> RunStateGet(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<PodStates> states = executor.GetServiceState(args.ns, args.svc);
  if (!states.ok()) return states.status();
  Json pods = Json::object();
  for (const auto& [pod, state] : *states) {
    const std::string name = std::to_string(pod);
    pods[name] = StoredState(state, "state get", args, name);
  }
  return Json{{"pods", std::move(pods)}};
}

absl::StatusOr<Json> RunWorkloadSet(Executor& executor, const CommandArgs& args) {
  return OkOr(executor.SetWorkloadState(args.ns, args.svc, args.state));
}

absl::StatusOr<Json> RunWorkloadGet(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<WorkloadStates> states = executor.GetWorkloadStates(args.ns, args.svcs);
  if (!states.ok()) return states.status();
  Json by_svc = Json::object();
  for (const auto& [svc, state] : *states) {
    by_svc[svc] = StoredText(state, "workload get", "the state in " + WorkloadKeyText(args, svc));
  }
  return Json{{"states", std::move(by_svc)}};
}

absl::StatusOr<Json> RunLinkSet(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<std::optional<PodIndex>> previous =
      executor.SetLinkedPod(args.ns, args.uid, args.svc, Pod(args.pod), TtlOf(args));
  if (!previous.ok()) return previous.status();
  return Json{{"previous", PodOrNull(*previous)}};
}

absl::StatusOr<Json> RunLinkTrySet(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<TrySetResult> result =
      executor.TrySetLinkedPod(args.ns, args.uid, args.svc, Pod(args.pod), TtlOf(args));
  if (!result.ok()) return result.status();
  return Json{{"applied", result->applied},
              {"pod", result->pod},
              {"previous", PodOrNull(result->previous)}};
}

absl::StatusOr<Json> RunLinkSetIfAbsent(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<PodIndex> pod =
      executor.SetLinkedPodIfAbsent(args.ns, args.uid, args.svc, Pod(args.pod), TtlOf(args));
  if (!pod.ok()) return pod.status();
  return Json{{"pod", *pod}};
}

absl::StatusOr<Json> RunLinkGet(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<std::optional<PodIndex>> pod =
      args.if_persistent ? executor.GetLinkedPodIfPersist(args.ns, args.uid, args.svc)
                         : executor.GetLinkedPod(args.ns, args.uid, args.svc);
  if (!pod.ok()) return pod.status();
  return Json{{"pod", PodOrNull(*pod)}};
}

absl::StatusOr<Json> RunLinkBatchGet(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<PodUids> uids_by_pod = executor.BatchGetLinkedPod(args.ns, args.uids, args.svc);
  if (!uids_by_pod.ok()) return uids_by_pod.status();
  return Json{{"pods", ByPod(*uids_by_pod)}};
}

absl::StatusOr<Json> RunLinkSetMany(Executor& executor, const CommandArgs& args) {
  std::vector<UidPod> links;
  for (const std::string& link : args.links) {
    // Checked while parsing (commands.cc); a failure here would be a bug.
    std::optional<UidPod> parsed = ParseLinkOption(link);
    if (!parsed.has_value()) return absl::InternalError("--link not checked while parsing");
    links.push_back(*std::move(parsed));
  }
  auto results = executor.SetLinkedPods(args.ns, args.svc, links, Ttl::Seconds(*args.ttl));
  if (!results.ok()) return results.status();
  Json out = Json::array();
  for (std::size_t i = 0; i < links.size(); ++i) {
    const Executor::LinkWrite& result = (*results)[i];
    Json entry = {{"uid", links[i].uid}};
    if (result.status.ok()) {
      entry["previous"] = PodOrNull(result.previous);
    } else {
      entry["error"] = ErrorJson(result.status);
    }
    out.push_back(std::move(entry));
  }
  return Json{{"results", std::move(out)}};
}

absl::StatusOr<Json> RunLinkRemove(Executor& executor, const CommandArgs& args) {
  const std::int64_t keep = args.keep.value_or(0);
  absl::StatusOr<bool> removed =
      args.if_pod.has_value()
          ? executor.RemoveLinkedPodWithId(args.ns, args.uid, args.svc, keep, Pod(args.if_pod))
          : executor.RemoveLinkedPod(args.ns, args.uid, args.svc, keep);
  if (!removed.ok()) return removed.status();
  return Json{{"removed", *removed}};
}

absl::StatusOr<Json> RunLinkServices(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<ServicePods> services = executor.GetLinkService(args.ns, args.uid);
  if (!services.ok()) return services.status();
  Json by_svc = Json::object();
  for (const auto& [svc, pod] : *services) {
    // A service name here is a field of the links hash, written by anyone.
    StoredText(svc, "link services", "a service (field) of " + LinksHashKeyText(args));
    by_svc[svc] = pod;
  }
  return Json{{"services", std::move(by_svc)}};
}

absl::StatusOr<Json> RunLinkCompute(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<std::optional<PodIndex>> pod =
      executor.ComputeLinkedPodIfAbsent(args.ns, args.uid, args.svc, TtlOf(args), *args.threshold);
  if (!pod.ok()) return pod.status();
  return Json{{"pod", PodOrNull(*pod)}};
}

absl::StatusOr<Json> RunPods(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<PodStates> states = executor.GetServiceState(args.ns, args.svc);
  if (!states.ok()) return states.status();
  Json pods = Json::object();
  for (const PodView& view : ViewPods(*states, FreshnessOf(args), UnixClock()->Now())) {
    const std::string name = std::to_string(view.pod);
    Json pod = {{"state", StoredState(view.state, "pods", args, name)}};
    // Only a `<load>-<unix_ms>` report has a load and an age.
    if (view.load.has_value()) pod["load"] = *view.load;
    if (view.age_ms.has_value()) pod["age_ms"] = *view.age_ms;
    if (view.draining) pod["draining"] = true;
    pod["live"] = view.live;
    pods[name] = std::move(pod);
  }
  return Json{{"pods", std::move(pods)}};
}

absl::StatusOr<Json> RunRoute(Executor& executor, const CommandArgs& args) {
  RouterOptions options;
  options.ns = args.ns;
  options.svc = args.svc;
  options.freshness = FreshnessOf(args);
  if (args.link_ttl.has_value()) options.link_ttl = Ttl::Seconds(*args.link_ttl);
  // A router opens without the pod states (a gateway may start before
  // Redis), logs the failed read and then finds no live pod. One route
  // should fail with the reason, on its one error line: read them first.
  if (absl::Status readable = executor.GetServiceState(args.ns, args.svc).status();
      !readable.ok()) {
    return readable;
  }
  absl::StatusOr<std::unique_ptr<Router>> router = Router::Open(executor, std::move(options));
  if (!router.ok()) return router.status();
  absl::StatusOr<RouteResult> route = (*router)->Route(args.uid);
  if (!route.ok()) return route.status();
  return Json{{"pod", route->pod}, {"placed", route->placed}};
}

absl::StatusOr<Json> RunReport(Executor& executor, const CommandArgs& args) {
  const std::string state = LoadState(*args.load, UnixClock()->Now());
  if (absl::Status written = executor.SetServiceState(args.ns, args.svc, Pod(args.pod), state);
      !written.ok()) {
    return written;
  }
  return Json{{"state", state}};
}

// --- Operations: link scan, pod evacuate (SPEC.md §11) ------------------------

namespace {

// Links handed over by ScanLinks at a time: big enough for few calls,
// small enough that memory stays flat.
constexpr std::size_t kScanBatch = 1000;

Json LinkJson(const LinkInfo& link) {
  return Json{{"uid", link.uid}, {"pod", link.pod}, {"ttl", link.ttl.seconds()}};
}

}  // namespace

absl::StatusOr<Json> RunLinkScan(Executor& executor, const CommandArgs& args) {
  std::optional<PodIndex> pod;
  if (args.pod.has_value()) pod = Pod(args.pod);
  std::string lines;
  absl::Status scanned = executor.ScanLinks(
      args.ns, args.svc, pod, kScanBatch, [&](const std::vector<LinkInfo>& links) {
        lines.clear();
        for (const LinkInfo& link : links) lines.append(JsonLine(LinkJson(link))).push_back('\n');
        std::cout << lines;
        return static_cast<bool>(std::cout);  // stop when nobody reads (a closed pipe)
      });
  std::cout << std::flush;
  if (!scanned.ok()) return scanned;
  return AlreadyPrinted();
}

namespace {

// Moves in flight at once: enough to keep the server busy (one pipeline),
// few enough that an interruption leaves little undecided.
constexpr std::size_t kMaxMovesInFlight = 256;

// Where evacuated links go: one pod (--to M), or the live pods, each link to
// the one with the least load counting the links already sent there.
class Targets {
 public:
  explicit Targets(std::map<PodIndex, std::int64_t> loads) : loads_(std::move(loads)) {}
  PodIndex Next() {
    auto least = loads_.begin();  // pod order: ties go to the lowest pod
    for (auto it = loads_.begin(); it != loads_.end(); ++it) {
      if (it->second < least->second) least = it;
    }
    ++least->second;
    return least->first;
  }

 private:
  std::map<PodIndex, std::int64_t> loads_;
};

// What the moves came to; written by the executor's thread (callbacks) and
// read by the runner.
struct Tally {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t in_flight = 0;
  std::size_t moved = 0;
  std::size_t skipped = 0;  // no longer on the pod: someone else moved it
  std::size_t failed = 0;
  std::map<PodIndex, std::size_t> to;
  absl::Status first_error;
};

// Progress on stderr: a line rewritten in place on a terminal, a JSON line
// about every second otherwise (logs, CI).
class Progress {
 public:
  Progress() : terminal_(isatty(STDERR_FILENO) == 1), start_(Clock::now()) {}

  // `done` of `total` (0: not known yet), at most every 200 ms on a
  // terminal, every second otherwise, and always when `force`.
  void Show(std::string_view phase, std::size_t scanned, std::size_t done, std::size_t total,
            const Json& counts, bool force = false) {
    const auto now = Clock::now();
    if (!force && now - last_ < (terminal_ ? std::chrono::milliseconds(200)
                                           : std::chrono::milliseconds(1000))) {
      return;
    }
    last_ = now;
    if (phase != phase_) {
      phase_ = std::string(phase);
      phase_start_ = now;
    }
    const double seconds = std::chrono::duration<double>(now - phase_start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    // Seconds left; below 0 when unknown.
    const double eta = total > 0 && rate > 0 ? static_cast<double>(total - done) / rate : -1;
    if (terminal_) {
      char line[256];
      std::snprintf(
          line, sizeof line, "\r%s: %zu scanned, %zu/%zu done, %.0f/s, ETA %s   ", phase_.c_str(),
          scanned, done, total, rate,
          eta >= 0 ? (std::to_string(static_cast<long long>(eta + 0.5)) + " s").c_str() : "-");
      std::cerr << line << std::flush;
      shown_ = true;
      return;
    }
    Json progress = {{"phase", phase_}, {"scanned", scanned}, {"done", done}, {"total", total}};
    for (const auto& [key, value] : counts.items()) progress[key] = value;
    progress["rate_per_s"] = static_cast<std::int64_t>(rate + 0.5);
    progress["eta_s"] = eta >= 0 ? Json(static_cast<std::int64_t>(eta + 0.5)) : Json(nullptr);
    progress["elapsed_s"] =
        static_cast<std::int64_t>(std::chrono::duration<double>(now - start_).count());
    std::cerr << JsonLine(Json{{"progress", std::move(progress)}}) << '\n' << std::flush;
  }

  // Ends the terminal's line.
  ~Progress() {
    if (shown_) std::cerr << '\n' << std::flush;
  }

 private:
  using Clock = std::chrono::steady_clock;
  const bool terminal_;
  const Clock::time_point start_;
  Clock::time_point last_{};
  Clock::time_point phase_start_{};
  std::string phase_;
  bool shown_ = false;
};

Json ByPodCounts(const std::map<PodIndex, std::size_t>& to) {
  Json object = Json::object();
  for (const auto& [pod, count] : to) object[std::to_string(pod)] = count;
  return object;
}

// The pods links may go to: --to M, or the live pods but `from` (an error
// when there is none). Warns about what an operator would want to know
// before moving anyone: the pod evacuated still reports, or --to M does not.
absl::StatusOr<Targets> ChooseTargets(Executor& executor, const CommandArgs& args, PodIndex from) {
  absl::StatusOr<PodStates> states = executor.GetServiceState(args.ns, args.svc);
  if (!states.ok()) return states.status();
  std::map<PodIndex, std::int64_t> live;
  for (const PodView& view : ViewPods(*states, FreshnessOf(args), UnixClock()->Now())) {
    if (view.live) live[view.pod] = view.load.value_or(0);
  }
  if (live.contains(from)) {
    LogToStderr(LogLevel::kWarning,
                "pod evacuate: pod " + std::to_string(from) +
                    " is live (it reported within the freshness): its players are moved anyway");
  }
  if (args.to.has_value()) {
    const PodIndex to = Pod(args.to);
    if (to == from) {
      return absl::InvalidArgumentError("pod evacuate: invalid --to: must differ from --pod (" +
                                        std::to_string(from) + ")");
    }
    if (!live.contains(to)) {
      LogToStderr(LogLevel::kWarning,
                  "pod evacuate: --to pod " + std::to_string(to) + " is not live; moving anyway");
    }
    return Targets(std::map<PodIndex, std::int64_t>{{to, 0}});
  }
  live.erase(from);
  if (live.empty()) {
    return absl::UnavailableError("pod evacuate: no live pod of " + args.svc +
                                  " to move the links to (see `sfroute pods`); nothing moved");
  }
  return Targets(std::move(live));
}

}  // namespace

absl::StatusOr<Json> RunPodEvacuate(Executor& executor, const CommandArgs& args) {
  const PodIndex from = Pod(args.pod);
  Progress progress;
  // Validates ns and svc (naming them) before the first read of states.
  absl::StatusOr<Targets> targets = ChooseTargets(executor, args, from);
  if (!targets.ok()) return targets.status();

  // First every link of the pod (so that the ETA is known), then the moves.
  std::vector<std::string> uids;
  absl::Status scanned = executor.ScanLinks(
      args.ns, args.svc, from, kScanBatch, [&](const std::vector<LinkInfo>& links) {
        for (const LinkInfo& link : links) uids.push_back(link.uid);
        progress.Show("scan", uids.size(), 0, 0, Json::object());
        return true;
      });
  if (!scanned.ok()) return scanned;

  if (args.dry_run) {
    std::map<PodIndex, std::size_t> planned;
    for (std::size_t i = 0; i < uids.size(); ++i) ++planned[targets->Next()];
    return Json{{"dry_run", true},
                {"scanned", uids.size()},
                {"would_move", uids.size()},
                {"moved", 0},
                {"skipped", 0},
                {"failed", 0},
                {"to", ByPodCounts(planned)}};
  }

  Tally tally;
  auto counts = [&tally] {  // under tally.mutex
    return Json{{"moved", tally.moved}, {"skipped", tally.skipped}, {"failed", tally.failed}};
  };
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < uids.size(); ++i) {
    if (args.rate.has_value()) {
      std::this_thread::sleep_until(
          start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(i) / *args.rate)));
    }
    const PodIndex to = targets->Next();
    std::size_t done = 0;
    Json now;
    {
      std::unique_lock<std::mutex> lock(tally.mutex);
      tally.changed.wait(lock, [&] { return tally.in_flight < kMaxMovesInFlight; });
      ++tally.in_flight;
      done = tally.moved + tally.skipped + tally.failed;
      if (i % 64 == 0) now = counts();
    }
    if (i % 64 == 0) progress.Show("move", uids.size(), done, uids.size(), now);
    executor.MoveLinkedPodAsync(args.ns, uids[i], args.svc, from, to,
                                [&tally, to](absl::StatusOr<bool> moved) {
                                  std::lock_guard<std::mutex> lock(tally.mutex);
                                  --tally.in_flight;
                                  if (!moved.ok()) {
                                    if (tally.failed++ == 0) tally.first_error = moved.status();
                                  } else if (*moved) {
                                    ++tally.moved;
                                    ++tally.to[to];
                                  } else {
                                    ++tally.skipped;
                                  }
                                  tally.changed.notify_all();
                                });
  }
  std::unique_lock<std::mutex> lock(tally.mutex);
  tally.changed.wait(lock, [&] { return tally.in_flight == 0; });
  progress.Show("move", uids.size(), uids.size(), uids.size(), counts(), /*force=*/true);
  Json summary = {{"scanned", uids.size()},
                  {"moved", tally.moved},
                  {"skipped", tally.skipped},
                  {"failed", tally.failed},
                  {"to", ByPodCounts(tally.to)}};
  if (tally.failed == 0) return summary;
  // The summary still goes to stdout; the error line says why moves failed
  // (run the command again: moves are compare-and-move).
  PrintResult(summary);
  return absl::Status(tally.first_error.code(),
                      "pod evacuate: " + std::to_string(tally.failed) +
                          " move(s) failed, run it again to finish; the first: " +
                          std::string(tally.first_error.message()));
}

}  // namespace sfroute::cli
