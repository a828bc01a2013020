#include "runners.h"

#include <chrono>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

}  // namespace sfroute::cli
