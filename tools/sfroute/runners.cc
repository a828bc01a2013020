#include "runners.h"

#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "int_option.h"

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

template <typename Value>
Json ByName(const std::map<std::string, Value>& by_name) {
  Json object = Json::object();
  for (const auto& [name, value] : by_name) object[name] = value;
  return object;
}

absl::StatusOr<Json> OkOr(const absl::Status& status) {
  if (!status.ok()) return status;
  return Json{{"ok", true}};
}

}  // namespace

absl::StatusOr<Json> RunStateSet(Executor& executor, const CommandArgs& args) {
  return OkOr(executor.SetServiceState(args.ns, args.svc, Pod(args.pod), args.state));
}

absl::StatusOr<Json> RunStateGet(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<PodStates> states = executor.GetServiceState(args.ns, args.svc);
  if (!states.ok()) return states.status();
  return Json{{"pods", ByPod(*states)}};
}

absl::StatusOr<Json> RunWorkloadSet(Executor& executor, const CommandArgs& args) {
  return OkOr(executor.SetWorkloadState(args.ns, args.svc, args.state));
}

absl::StatusOr<Json> RunWorkloadGet(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<WorkloadStates> states = executor.GetWorkloadStates(args.ns, args.svcs);
  if (!states.ok()) return states.status();
  return Json{{"states", ByName(*states)}};
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
    // uid=pod; a uid may itself contain '=', so split at the last one.
    const auto equals = link.rfind('=');
    const std::optional<std::int64_t> pod =
        equals == std::string::npos ? std::nullopt
                                    : ParseDecimal(std::string_view(link).substr(equals + 1));
    if (!pod || *pod < 0 || *pod > std::numeric_limits<PodIndex>::max()) {
      return absl::InvalidArgumentError("invalid --link \"" + link +
                                        "\": expected uid=pod with pod 0-2147483647");
    }
    links.push_back({link.substr(0, equals), static_cast<PodIndex>(*pod)});
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
  return Json{{"services", ByName(*services)}};
}

absl::StatusOr<Json> RunLinkCompute(Executor& executor, const CommandArgs& args) {
  absl::StatusOr<std::optional<PodIndex>> pod =
      executor.ComputeLinkedPodIfAbsent(args.ns, args.uid, args.svc, TtlOf(args), *args.threshold);
  if (!pod.ok()) return pod.status();
  return Json{{"pod", PodOrNull(*pod)}};
}

}  // namespace sfroute::cli
