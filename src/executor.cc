// The operations of SPEC.md §2, written once against the Backend interface.
#include <cstdio>
#include <limits>
#include <utility>

#include "backend.h"
#include "backend_factory.h"
#include "executor_factory.h"
#include "keys.h"
#include "reply.h"
#include "scripts.h"
#include "sfroute/sfroute.h"
#include "status_macros.h"
#include "str_cat.h"

namespace sfroute {

using internal::Backend;
using internal::Command;
using internal::Reply;

namespace {

// "Op(key)": how every error message starts, so that it names the operation
// and what it touched.
std::string Context(std::string_view operation, std::string_view key) {
  return internal::StrCat(operation, "(", key, ")");
}

absl::Status Validation(std::string_view operation, const absl::Status& status) {
  return internal::Annotate(status, operation);
}

void LogToStderr(LogLevel level, std::string_view message) {
  if (level < LogLevel::kWarning) return;
  std::fprintf(stderr, "sfroute %s: %.*s\n", level == LogLevel::kWarning ? "warning" : "error",
               static_cast<int>(message.size()), message.data());
}

// The stored value of a link: nullopt when there is none (nil, "", "null",
// "nil"), DATA_LOSS naming the key when it is not a canonical pod index.
absl::StatusOr<std::optional<PodIndex>> StoredPod(std::string_view context, const Reply& reply) {
  if (reply.is_nil() || (reply.type == Reply::Type::kInteger && reply.integer == -1)) {
    return std::nullopt;
  }
  if (reply.type != Reply::Type::kString) return internal::UnexpectedReply(context, reply);
  if (internal::IsAbsentValue(reply.str)) return std::nullopt;
  if (auto pod = internal::ParsePodIndex(reply.str)) return pod;
  return absl::DataLossError(internal::StrCat(context, ": stored pod ", internal::Quoted(reply.str),
                                              " is not a pod index"));
}

// A "<weight>-<number>" pod state; anything else is not a candidate.
struct Load {
  std::uint64_t weight;
  std::int64_t number;
};

bool ParseDigits(std::string_view text, std::uint64_t max, std::uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > max) return false;
  *out = value;
  return true;
}

std::optional<Load> ParseLoad(std::string_view state) {
  const auto dash = state.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::uint64_t weight = 0;
  std::uint64_t number = 0;
  if (!ParseDigits(state.substr(0, dash), std::numeric_limits<std::uint64_t>::max(), &weight) ||
      !ParseDigits(state.substr(dash + 1), std::numeric_limits<std::int64_t>::max(), &number)) {
    return std::nullopt;
  }
  return Load{weight, static_cast<std::int64_t>(number)};
}

}  // namespace

class Executor::Impl {
 public:
  Impl(std::shared_ptr<Backend> backend, const Options& options)
      : backend_(std::move(backend)),
        log_sink_(options.log_sink ? options.log_sink : LogSink(LogToStderr)),
        replica_ack_timeout_(options.replica_ack_timeout),
        set_link_(internal::GetScript("set_link")),
        remove_link_(internal::GetScript("remove_link")),
        get_link_if_persist_(internal::GetScript("get_link_if_persist")) {}

  // One command; an error reply becomes a status.
  absl::StatusOr<Reply> Run(std::string_view context, Command command) {
    auto replies = backend_->Execute({std::move(command)});
    if (!replies.ok()) return internal::Annotate(replies.status(), context);
    Reply& reply = replies->front();
    if (reply.is_error()) return internal::StatusFromErrorReply(context, reply.str);
    return std::move(reply);
  }

  // One pipeline; the first error reply becomes a status.
  absl::StatusOr<std::vector<Reply>> RunAll(std::string_view context,
                                            const std::vector<Command>& commands) {
    auto replies = backend_->Execute(commands);
    if (!replies.ok()) return internal::Annotate(replies.status(), context);
    for (const Reply& reply : *replies) {
      if (reply.is_error()) return internal::StatusFromErrorReply(context, reply.str);
    }
    return replies;
  }

  // One GET per key, in one pipeline. A batch read skips what it cannot
  // read: a key of another type (WRONGTYPE; an MGET would have answered nil
  // for it, silently) is logged and read as absent. Any other error reply
  // fails the call.
  absl::StatusOr<std::vector<Reply>> GetMany(std::string_view operation, std::string_view context,
                                             const std::vector<std::string>& keys) {
    std::vector<Command> gets;
    gets.reserve(keys.size());
    for (const std::string& key : keys) gets.push_back(Command{{"GET", key}});
    auto replies = backend_->Execute(gets);
    if (!replies.ok()) return internal::Annotate(replies.status(), context);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      Reply& reply = (*replies)[i];
      if (!reply.is_error()) continue;
      absl::Status status = internal::StatusFromErrorReply(Context(operation, keys[i]), reply.str);
      if (status.code() != absl::StatusCode::kDataLoss) return status;
      Log(LogLevel::kWarning, internal::StrCat(status.message(), "; skipped"));
      reply = Reply::Nil();
    }
    return replies;
  }

  absl::StatusOr<Reply> Script(std::string_view context, const internal::EmbeddedScript& script,
                               std::vector<std::string> keys, std::vector<std::string> args) {
    auto reply = internal::RunScript(*backend_, script, std::move(keys), std::move(args));
    if (!reply.ok()) return internal::Annotate(reply.status(), context);
    if (reply->is_error()) return internal::StatusFromErrorReply(context, reply->str);
    return reply;
  }

  struct LinkOutcome {
    bool applied;
    std::optional<PodIndex> previous;
  };

  internal::ScriptCall SetLinkCall(std::string_view ns, std::string_view uid, std::string_view svc,
                                   PodIndex pod, Ttl ttl, const char* mode) const {
    return {&set_link_,
            {internal::LinkKey(ns, uid, svc), internal::LinksHashKey(ns, uid)},
            {std::string(svc), internal::PodText(pod), std::to_string(ttl.seconds()), mode}};
  }

  // The reply of set_link.lua: {applied, previous pod or -1}, or an error.
  absl::StatusOr<LinkOutcome> ParseSetLink(std::string_view context, const Reply& reply) {
    if (reply.is_error()) return internal::StatusFromErrorReply(context, reply.str);
    if (reply.type != Reply::Type::kArray || reply.elements.size() != 2 ||
        reply.elements[0].type != Reply::Type::kInteger) {
      return internal::UnexpectedReply(context, reply);
    }
    const bool applied = reply.elements[0].integer == 1;
    auto previous = StoredPod(context, reply.elements[1]);
    if (previous.ok()) return LinkOutcome{applied, *previous};
    if (!applied) return previous.status();  // the link that stays is corrupt
    // The write went through and replaced a corrupt value: report the write.
    Log(LogLevel::kWarning, internal::StrCat(previous.status().message(), "; overwritten"));
    return LinkOutcome{true, std::nullopt};
  }

  // set_link.lua in one of its modes ("set", "try", "absent").
  absl::StatusOr<LinkOutcome> SetLink(std::string_view operation, std::string_view ns,
                                      std::string_view uid, std::string_view svc, PodIndex pod,
                                      Ttl ttl, const char* mode) {
    SFROUTE_RETURN_IF_ERROR(Validation(operation, ValidateLinkArgs(ns, uid, svc)));
    SFROUTE_RETURN_IF_ERROR(Validation(operation, internal::ValidatePod(pod)));
    SFROUTE_RETURN_IF_ERROR(Validation(operation, internal::ValidateTtl(ttl)));
    std::vector<internal::ScriptCall> calls;
    calls.push_back(SetLinkCall(ns, uid, svc, pod, ttl, mode));
    const std::string context = Context(operation, calls[0].keys[0]);
    // Options::replica_ack_timeout: WAIT counts the replicas that have the
    // last write of its connection, so it follows the script in one
    // pipeline. It returns at once when the script wrote nothing.
    const bool await_replica = ttl.is_persistent() && replica_ack_timeout_.count() > 0;
    const std::string timeout_ms = std::to_string(replica_ack_timeout_.count());
    std::vector<Command> trailing;
    if (await_replica) trailing.push_back(Command{{"WAIT", "1", timeout_ms}});
    auto replies = internal::RunScripts(*backend_, calls, trailing);
    if (!replies.ok()) return internal::Annotate(replies.status(), context);
    auto outcome = ParseSetLink(context, (*replies)[0]);
    if (!await_replica || !outcome.ok() || !outcome->applied) return outcome;
    const Reply& acks = (*replies)[1];
    if (acks.type == Reply::Type::kInteger && acks.integer >= 1) return outcome;
    return absl::UnavailableError(internal::StrCat(
        context, ": the link was written on the primary, but no replica confirmed it within ",
        timeout_ms, " ms (WAIT answered ",
        acks.type == Reply::Type::kInteger ? std::to_string(acks.integer) : acks.str,
        "); a failover now may lose it"));
  }

  absl::StatusOr<bool> RemoveLink(std::string_view operation, std::string_view ns,
                                  std::string_view uid, std::string_view svc,
                                  std::int64_t keep_seconds, std::optional<PodIndex> pod) {
    SFROUTE_RETURN_IF_ERROR(Validation(operation, ValidateLinkArgs(ns, uid, svc)));
    SFROUTE_RETURN_IF_ERROR(Validation(operation, internal::ValidateKeepSeconds(keep_seconds)));
    std::vector<std::string> args = {std::string(svc), std::to_string(keep_seconds)};
    if (pod.has_value()) {
      SFROUTE_RETURN_IF_ERROR(Validation(operation, internal::ValidatePod(*pod)));
      args.push_back(internal::PodText(*pod));
    }
    const std::string link_key = internal::LinkKey(ns, uid, svc);
    const std::string context = Context(operation, link_key);
    auto reply = Script(context, remove_link_, {link_key, internal::LinksHashKey(ns, uid)}, args);
    if (!reply.ok()) return reply.status();
    if (reply->type != Reply::Type::kInteger) return internal::UnexpectedReply(context, *reply);
    return reply->integer == 1;
  }

  static absl::Status ValidateLinkArgs(std::string_view ns, std::string_view uid,
                                       std::string_view svc) {
    SFROUTE_RETURN_IF_ERROR(internal::ValidateNamespace(ns));
    SFROUTE_RETURN_IF_ERROR(internal::ValidateUid(uid));
    return internal::ValidateService(svc);
  }

  static absl::Status ValidateServices(std::string_view ns, const std::vector<std::string>& svcs) {
    SFROUTE_RETURN_IF_ERROR(internal::ValidateNamespace(ns));
    for (const std::string& svc : svcs) SFROUTE_RETURN_IF_ERROR(internal::ValidateService(svc));
    return absl::OkStatus();
  }

  // HGETALL of a state hash; fields that are not pod indices are skipped.
  static absl::StatusOr<PodStates> ParsePodStates(std::string_view context, const Reply& reply) {
    if (reply.type != Reply::Type::kArray || reply.elements.size() % 2 != 0) {
      return internal::UnexpectedReply(context, reply);
    }
    PodStates states;
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      if (auto pod = internal::ParsePodIndex(reply.elements[i].str)) {
        states[*pod] = reply.elements[i + 1].str;
      }
    }
    return states;
  }

  void Log(LogLevel level, std::string_view message) { log_sink_(level, message); }

  const std::shared_ptr<Backend> backend_;
  const LogSink log_sink_;
  const std::chrono::milliseconds replica_ack_timeout_;  // Options::replica_ack_timeout
  const internal::EmbeddedScript& set_link_;
  const internal::EmbeddedScript& remove_link_;
  const internal::EmbeddedScript& get_link_if_persist_;
};

absl::StatusOr<std::unique_ptr<Executor>> Executor::Open(const Options& options) {
  auto backend = internal::OpenBackend(options);
  if (!backend.ok()) return internal::Annotate(backend.status(), "Open");
  return internal::ExecutorFactory::Make(*std::move(backend), options);
}

namespace internal {

std::unique_ptr<Executor> ExecutorFactory::Make(std::shared_ptr<Backend> backend,
                                                const Options& options) {
  auto impl = std::make_unique<Executor::Impl>(std::move(backend), options);
  return std::unique_ptr<Executor>(new Executor(std::move(impl)));
}

}  // namespace internal

Executor::Executor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Executor::~Executor() = default;

// --- Pod states -------------------------------------------------------------

absl::Status Executor::SetServiceState(std::string_view ns, std::string_view svc, PodIndex pod,
                                       std::string_view state) {
  constexpr std::string_view kOp = "SetServiceState";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, Impl::ValidateServices(ns, {std::string(svc)})));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidatePod(pod)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateState(state)));
  const std::string key = internal::StateKey(ns, svc);
  return impl_->Run(Context(kOp, key), {{"HSET", key, internal::PodText(pod), std::string(state)}})
      .status();
}

absl::StatusOr<PodStates> Executor::GetServiceState(std::string_view ns, std::string_view svc) {
  auto states = GetServiceStates(ns, {std::string(svc)});
  if (!states.ok()) return internal::Annotate(states.status(), "GetServiceState");
  return std::move(states->begin()->second);
}

absl::StatusOr<ServicePodStates> Executor::GetServiceStates(std::string_view ns,
                                                            const std::vector<std::string>& svcs) {
  constexpr std::string_view kOp = "GetServiceStates";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, Impl::ValidateServices(ns, svcs)));
  if (svcs.empty()) return ServicePodStates{};
  std::vector<Command> commands;
  for (const std::string& svc : svcs) {
    commands.push_back({{"HGETALL", internal::StateKey(ns, svc)}});
  }
  const std::string context = internal::StrCat(kOp, "(ns=", ns, ")");
  auto replies = impl_->RunAll(context, commands);
  if (!replies.ok()) return replies.status();
  ServicePodStates states;
  for (std::size_t i = 0; i < svcs.size(); ++i) {
    auto pods = Impl::ParsePodStates(Context(kOp, commands[i].args[1]), (*replies)[i]);
    if (!pods.ok()) return pods.status();
    states[svcs[i]] = *std::move(pods);
  }
  return states;
}

absl::Status Executor::SetServiceStates(std::string_view ns, const ServicePodStates& states) {
  constexpr std::string_view kOp = "SetServiceStates";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateNamespace(ns)));
  std::vector<Command> commands;
  for (const auto& [svc, pods] : states) {
    SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateService(svc)));
    if (pods.empty()) continue;
    Command hset{{"HSET", internal::StateKey(ns, svc)}};
    for (const auto& [pod, state] : pods) {
      SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidatePod(pod)));
      SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateState(state)));
      hset.args.push_back(internal::PodText(pod));
      hset.args.push_back(state);
    }
    commands.push_back(std::move(hset));
  }
  if (commands.empty()) return absl::OkStatus();
  return impl_->RunAll(internal::StrCat(kOp, "(ns=", ns, ")"), commands).status();
}

// --- Workload states --------------------------------------------------------

absl::Status Executor::SetWorkloadState(std::string_view ns, std::string_view svc,
                                        std::string_view state) {
  constexpr std::string_view kOp = "SetWorkloadState";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, Impl::ValidateServices(ns, {std::string(svc)})));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateState(state)));
  const std::string key = internal::WorkloadKey(ns, svc);
  // A plain SET also clears any TTL: workload states do not expire.
  return impl_->Run(Context(kOp, key), {{"SET", key, std::string(state)}}).status();
}

absl::StatusOr<std::optional<std::string>> Executor::GetWorkloadState(std::string_view ns,
                                                                      std::string_view svc) {
  constexpr std::string_view kOp = "GetWorkloadState";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, Impl::ValidateServices(ns, {std::string(svc)})));
  const std::string key = internal::WorkloadKey(ns, svc);
  // A GET, not an MGET: a key of another type is WRONGTYPE (DATA_LOSS)
  // here, where MGET would read it as absent.
  auto reply = impl_->Run(Context(kOp, key), {{"GET", key}});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return std::nullopt;
  if (reply->type != Reply::Type::kString)
    return internal::UnexpectedReply(Context(kOp, key), *reply);
  if (internal::IsAbsentValue(reply->str)) return std::nullopt;
  return std::move(reply->str);
}

absl::StatusOr<WorkloadStates> Executor::GetWorkloadStates(std::string_view ns,
                                                           const std::vector<std::string>& svcs) {
  constexpr std::string_view kOp = "GetWorkloadStates";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, Impl::ValidateServices(ns, svcs)));
  std::vector<std::string> keys;
  keys.reserve(svcs.size());
  for (const std::string& svc : svcs) keys.push_back(internal::WorkloadKey(ns, svc));
  auto values = impl_->GetMany(kOp, internal::StrCat(kOp, "(ns=", ns, ")"), keys);
  if (!values.ok()) return values.status();
  WorkloadStates states;
  for (std::size_t i = 0; i < svcs.size(); ++i) {
    const Reply& value = (*values)[i];
    if (value.type == Reply::Type::kString && !internal::IsAbsentValue(value.str)) {
      states[svcs[i]] = value.str;
    }
  }
  return states;
}

// --- Links ------------------------------------------------------------------

absl::StatusOr<std::optional<PodIndex>> Executor::SetLinkedPod(std::string_view ns,
                                                               std::string_view uid,
                                                               std::string_view svc, PodIndex pod,
                                                               Ttl ttl) {
  auto outcome = impl_->SetLink("SetLinkedPod", ns, uid, svc, pod, ttl, "set");
  if (!outcome.ok()) return outcome.status();
  return outcome->previous;
}

absl::StatusOr<TrySetResult> Executor::TrySetLinkedPod(std::string_view ns, std::string_view uid,
                                                       std::string_view svc, PodIndex pod,
                                                       Ttl ttl) {
  auto outcome = impl_->SetLink("TrySetLinkedPod", ns, uid, svc, pod, ttl, "try");
  if (!outcome.ok()) return outcome.status();
  // Not applied means a persistent link to another pod, which stays.
  return TrySetResult{outcome->applied, outcome->applied ? pod : *outcome->previous,
                      outcome->previous};
}

absl::StatusOr<PodIndex> Executor::SetLinkedPodIfAbsent(std::string_view ns, std::string_view uid,
                                                        std::string_view svc, PodIndex pod,
                                                        Ttl ttl) {
  auto outcome = impl_->SetLink("SetLinkedPodIfAbsent", ns, uid, svc, pod, ttl, "absent");
  if (!outcome.ok()) return outcome.status();
  return outcome->applied ? pod : *outcome->previous;
}

absl::StatusOr<std::vector<Executor::LinkWrite>> Executor::SetLinkedPods(
    std::string_view ns, std::string_view svc, const std::vector<UidPod>& links, Ttl ttl) {
  constexpr std::string_view kOp = "SetLinkedPods";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateNamespace(ns)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateService(svc)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateTtl(ttl)));
  std::vector<internal::ScriptCall> calls;
  calls.reserve(links.size());
  for (const UidPod& link : links) {
    SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateUid(link.uid)));
    SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidatePod(link.pod)));
    calls.push_back(impl_->SetLinkCall(ns, link.uid, svc, link.pod, ttl, "set"));
  }
  if (calls.empty()) return std::vector<LinkWrite>{};
  auto replies = internal::RunScripts(*impl_->backend_, calls);
  if (!replies.ok()) {
    return internal::Annotate(replies.status(),
                              internal::StrCat(kOp, "(ns=", ns, ", svc=", svc, ")"));
  }
  std::vector<LinkWrite> results(links.size());
  for (std::size_t i = 0; i < links.size(); ++i) {
    const std::string context = Context(kOp, calls[i].keys[0]);
    auto outcome = impl_->ParseSetLink(context, (*replies)[i]);
    if (outcome.ok()) {
      results[i].previous = outcome->previous;
    } else {
      results[i].status = outcome.status();
    }
  }
  return results;
}

absl::StatusOr<std::optional<PodIndex>> Executor::GetLinkedPod(std::string_view ns,
                                                               std::string_view uid,
                                                               std::string_view svc) {
  constexpr std::string_view kOp = "GetLinkedPod";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, Impl::ValidateLinkArgs(ns, uid, svc)));
  const std::string key = internal::LinkKey(ns, uid, svc);
  const std::string context = Context(kOp, key);
  auto reply = impl_->Run(context, {{"GET", key}});
  if (!reply.ok()) return reply.status();
  return StoredPod(context, *reply);
}

absl::StatusOr<std::optional<PodIndex>> Executor::GetLinkedPodIfPersist(std::string_view ns,
                                                                        std::string_view uid,
                                                                        std::string_view svc) {
  constexpr std::string_view kOp = "GetLinkedPodIfPersist";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, Impl::ValidateLinkArgs(ns, uid, svc)));
  const std::string key = internal::LinkKey(ns, uid, svc);
  const std::string context = Context(kOp, key);
  auto reply = impl_->Script(context, impl_->get_link_if_persist_, {key}, {});
  if (!reply.ok()) return reply.status();
  return StoredPod(context, *reply);
}

absl::StatusOr<PodUids> Executor::BatchGetLinkedPod(std::string_view ns,
                                                    const std::vector<std::string>& uids,
                                                    std::string_view svc) {
  constexpr std::string_view kOp = "BatchGetLinkedPod";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateNamespace(ns)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateService(svc)));
  for (const std::string& uid : uids) {
    SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateUid(uid)));
  }
  std::vector<std::string> keys;
  keys.reserve(uids.size());
  for (const std::string& uid : uids) keys.push_back(internal::LinkKey(ns, uid, svc));
  auto values = impl_->GetMany(kOp, internal::StrCat(kOp, "(ns=", ns, ", svc=", svc, ")"), keys);
  if (!values.ok()) return values.status();
  PodUids pods;
  for (std::size_t i = 0; i < uids.size(); ++i) {
    auto pod = StoredPod(Context(kOp, keys[i]), (*values)[i]);
    if (!pod.ok()) {
      impl_->Log(LogLevel::kWarning, internal::StrCat(pod.status().message(), "; skipped"));
      continue;
    }
    if (pod->has_value()) pods[**pod].push_back(uids[i]);
  }
  return pods;
}

absl::StatusOr<bool> Executor::RemoveLinkedPod(std::string_view ns, std::string_view uid,
                                               std::string_view svc, std::int64_t keep_seconds) {
  return impl_->RemoveLink("RemoveLinkedPod", ns, uid, svc, keep_seconds, std::nullopt);
}

absl::StatusOr<bool> Executor::RemoveLinkedPodWithId(std::string_view ns, std::string_view uid,
                                                     std::string_view svc,
                                                     std::int64_t keep_seconds, PodIndex pod) {
  return impl_->RemoveLink("RemoveLinkedPodWithId", ns, uid, svc, keep_seconds, pod);
}

absl::StatusOr<ServicePods> Executor::GetLinkService(std::string_view ns, std::string_view uid) {
  constexpr std::string_view kOp = "GetLinkService";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateNamespace(ns)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateUid(uid)));
  const std::string key = internal::LinksHashKey(ns, uid);
  const std::string context = Context(kOp, key);
  auto reply = impl_->Run(context, {{"HGETALL", key}});
  if (!reply.ok()) return reply.status();
  if (reply->type != Reply::Type::kArray || reply->elements.size() % 2 != 0) {
    return internal::UnexpectedReply(context, *reply);
  }
  ServicePods services;
  for (std::size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    const std::string& svc = reply->elements[i].str;
    auto pod = StoredPod(internal::StrCat(context, " field ", internal::Quoted(svc)),
                         reply->elements[i + 1]);
    if (!pod.ok()) {
      impl_->Log(LogLevel::kWarning, internal::StrCat(pod.status().message(), "; skipped"));
      continue;
    }
    if (pod->has_value()) services[svc] = **pod;
  }
  return services;
}

absl::StatusOr<std::optional<PodIndex>> Executor::ComputeLinkedPodIfAbsent(std::string_view ns,
                                                                           std::string_view uid,
                                                                           std::string_view svc,
                                                                           Ttl ttl,
                                                                           std::int64_t threshold) {
  constexpr std::string_view kOp = "ComputeLinkedPodIfAbsent";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, Impl::ValidateLinkArgs(ns, uid, svc)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateTtl(ttl)));
  const std::string link_key = internal::LinkKey(ns, uid, svc);
  const std::string state_key = internal::StateKey(ns, svc);
  const std::string context = Context(kOp, link_key);
  // The link and the states live in different slots on a cluster: read both,
  // then set-if-absent, which keeps a link that appeared in between.
  auto replies = impl_->RunAll(context, {{{"GET", link_key}}, {{"HGETALL", state_key}}});
  if (!replies.ok()) return replies.status();
  auto existing = StoredPod(context, (*replies)[0]);
  if (!existing.ok() || existing->has_value()) return existing;
  auto states = Impl::ParsePodStates(Context(kOp, state_key), (*replies)[1]);
  if (!states.ok()) return states.status();

  std::optional<PodIndex> best;
  std::uint64_t best_weight = 0;
  for (const auto& [pod, state] : *states) {  // ascending pods: ties go to the lowest
    const std::optional<Load> load = ParseLoad(state);
    if (!load || load->number < threshold) continue;
    if (!best || load->weight < best_weight) {
      best = pod;
      best_weight = load->weight;
    }
  }
  if (!best) return std::nullopt;
  auto linked = SetLinkedPodIfAbsent(ns, uid, svc, *best, ttl);
  if (!linked.ok()) return internal::Annotate(linked.status(), kOp);
  return *linked;
}

}  // namespace sfroute
