// The operations of SPEC.md §2, each written once as a Plan (what it sends,
// how it reads the replies) and run by Executor::Impl (executor_impl.h),
// sync or async.
#include <algorithm>
#include <cstdio>
#include <iterator>
#include <limits>
#include <unordered_set>
#include <utility>

#include "backend_factory.h"
#include "executor_factory.h"
#include "executor_impl.h"
#include "keys.h"
#include "status_macros.h"
#include "str_cat.h"

namespace sfroute {

using internal::Batch;
using internal::Command;
using internal::Done;
using internal::Operation;
using internal::OperationName;
using internal::Plan;
using internal::Reply;
using internal::Step;
using internal::StrCat;

namespace {

// "Op(key)": how every error message starts, so that it names the operation
// and what it touched.
internal::ShortText Context(std::string_view operation, std::string_view key) {
  return internal::ShortText::Cat(operation, "(", key, ")");
}

absl::Status Validation(std::string_view operation, const absl::Status& status) {
  return internal::Annotate(status, operation);
}

// A StatusCallback as the callback of a plan that gives Done.
Callback<Done> StatusOnly(StatusCallback done) {
  return [done = std::move(done)](absl::StatusOr<Done> result) mutable {
    std::move(done)(result.status());
  };
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
  return absl::DataLossError(
      StrCat(context, ": stored pod ", internal::Quoted(reply.str), " is not a pod index"));
}

// A reply that must not be an error reply.
absl::Status Refused(std::string_view context, const Reply& reply) {
  if (reply.is_error()) return internal::StatusFromErrorReply(context, reply.str);
  return absl::OkStatus();
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

absl::Status ValidateLinkArgs(std::string_view ns, std::string_view uid, std::string_view svc) {
  SFROUTE_RETURN_IF_ERROR(internal::ValidateNamespace(ns));
  SFROUTE_RETURN_IF_ERROR(internal::ValidateUid(uid));
  return internal::ValidateService(svc);
}

absl::Status ValidateServices(std::string_view ns, const std::vector<std::string>& svcs) {
  SFROUTE_RETURN_IF_ERROR(internal::ValidateNamespace(ns));
  for (const std::string& svc : svcs) SFROUTE_RETURN_IF_ERROR(internal::ValidateService(svc));
  return absl::OkStatus();
}

// HGETALL of a state hash; fields that are not pod indices are skipped.
absl::StatusOr<PodStates> ParsePodStates(std::string_view context, const Reply& reply) {
  SFROUTE_RETURN_IF_ERROR(Refused(context, reply));
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

// The first error reply of a pipeline as a status.
absl::Status FirstRefusal(std::string_view context, const std::vector<Reply>& replies) {
  for (const Reply& reply : replies) SFROUTE_RETURN_IF_ERROR(Refused(context, reply));
  return absl::OkStatus();
}

// One command, whose error reply fails the call; `parse(context, reply)`
// reads the rest.
template <typename T, typename Parse>
Plan<T> OneCommand(internal::ShortText context, Command command, Parse parse) {
  Batch batch;
  batch.commands.push_back(std::move(command));
  return Plan<T>{
      std::move(context), std::move(batch),
      [parse = std::move(parse)](std::string_view context, std::vector<Reply>& replies) mutable {
        Reply& reply = replies.front();
        if (absl::Status refused = Refused(context, reply); !refused.ok()) {
          return Step<T>(std::move(refused));
        }
        return Step<T>(parse(context, reply));
      }};
}

// --- Links ------------------------------------------------------------------

// What set_link.lua answers: whether it linked, and the pod before.
struct LinkOutcome {
  bool applied;
  std::optional<PodIndex> previous;
};

}  // namespace

namespace {

// Plans that log (through the executor's sink) or read its options.

// One GET per key, in one pipeline. A batch read skips what it cannot
// read: a key of another type (WRONGTYPE; an MGET would have answered nil
// for it, silently) is logged and read as absent. Any other error reply
// fails the call. `read` gets the values (nil for absent and skipped).
template <typename T, typename Read>
Plan<T> GetMany(Executor::Impl& impl, std::string_view operation, std::string context,
                std::vector<std::string> keys, Read read) {
  Batch batch;
  batch.commands.reserve(keys.size());
  for (const std::string& key : keys) {
    batch.commands.push_back(internal::MakeKeyCommand("GET", key));
  }
  return Plan<T>{context, std::move(batch),
                 [&impl, operation, keys = std::move(keys), read = std::move(read)](
                     std::string_view, std::vector<Reply>& replies) mutable -> Step<T> {
                   for (std::size_t i = 0; i < keys.size(); ++i) {
                     Reply& reply = replies[i];
                     if (!reply.is_error()) continue;
                     absl::Status status =
                         internal::StatusFromErrorReply(Context(operation, keys[i]), reply.str);
                     if (status.code() != absl::StatusCode::kDataLoss) return status;
                     impl.Log(LogLevel::kWarning, StrCat(status.message(), "; skipped"));
                     reply = Reply::Nil();
                   }
                   return read(keys, replies);
                 }};
}

// EVALSHA of set_link.lua for one link.
Command SetLinkCommand(std::string link_key, std::string links_key, std::string_view svc,
                       PodIndex pod, Ttl ttl, const char* mode) {
  static const char* const sha1 = internal::GetScript("set_link").sha1;
  return internal::MakeScriptCommand<2>(sha1, std::move(link_key), std::move(links_key),
                                        std::string(svc), internal::PodText(pod),
                                        std::to_string(ttl.seconds()), mode);
}

// The reply of set_link.lua: {applied, previous pod or -1}, or an error.
absl::StatusOr<LinkOutcome> ParseSetLink(Executor::Impl& impl, std::string_view context,
                                         const Reply& reply) {
  SFROUTE_RETURN_IF_ERROR(Refused(context, reply));
  if (reply.type != Reply::Type::kArray || reply.elements.size() != 2 ||
      reply.elements[0].type != Reply::Type::kInteger) {
    return internal::UnexpectedReply(context, reply);
  }
  const bool applied = reply.elements[0].integer == 1;
  auto previous = StoredPod(context, reply.elements[1]);
  if (previous.ok()) return LinkOutcome{applied, *previous};
  if (!applied) return previous.status();  // the link that stays is corrupt
  // The write went through and replaced a corrupt value: report the write.
  impl.Log(LogLevel::kWarning, StrCat(previous.status().message(), "; overwritten"));
  return LinkOutcome{true, std::nullopt};
}

// set_link.lua in one of its modes ("set", "try", "absent"); `result`
// turns its outcome into the operation's answer.
template <typename T, typename Result>
absl::StatusOr<Plan<T>> SetLink(Executor::Impl& impl, std::string_view operation,
                                std::string_view ns, std::string_view uid, std::string_view svc,
                                PodIndex pod, Ttl ttl, const char* mode, Result result) {
  SFROUTE_RETURN_IF_ERROR(Validation(operation, ValidateLinkArgs(ns, uid, svc)));
  SFROUTE_RETURN_IF_ERROR(Validation(operation, internal::ValidatePod(pod)));
  SFROUTE_RETURN_IF_ERROR(Validation(operation, internal::ValidateTtl(ttl)));
  std::string link_key = internal::LinkKey(ns, uid, svc);
  internal::ShortText context = Context(operation, link_key);
  Batch batch;
  batch.commands.push_back(
      SetLinkCommand(std::move(link_key), internal::LinksHashKey(ns, uid), svc, pod, ttl, mode));
  // Options::replica_ack_timeout: WAIT counts the replicas that have the
  // last write of its connection, so it follows the script in one
  // pipeline, on a connection of its own (WAIT holds the connection's
  // later commands back). It returns at once when the script wrote nothing.
  const auto ack_timeout = impl.replica_ack_timeout();
  const bool await_replica = ttl.is_persistent() && ack_timeout.count() > 0;
  if (await_replica) {
    batch.commands.push_back(
        internal::MakeCommand("WAIT", "1", std::to_string(ack_timeout.count())));
    batch.exclusive_connection = true;
  }
  return Plan<T>{
      std::move(context), std::move(batch),
      [&impl, await_replica, ack_timeout, pod, result = std::move(result)](
          std::string_view context, std::vector<Reply>& replies) -> Step<T> {
        auto outcome = ParseSetLink(impl, context, replies[0]);
        if (!outcome.ok()) return outcome.status();
        if (await_replica && outcome->applied) {
          const Reply& acks = replies[1];
          if (acks.type != Reply::Type::kInteger || acks.integer < 1) {
            return absl::UnavailableError(
                StrCat(context, ": the link was written on the primary, but no replica ",
                       "confirmed it within ", ack_timeout.count(), " ms (WAIT answered ",
                       acks.type == Reply::Type::kInteger ? std::to_string(acks.integer) : acks.str,
                       "); a failover now may lose it"));
          }
        }
        return result(pod, *outcome);
      }};
}

absl::StatusOr<Plan<bool>> RemoveLink(std::string_view operation, std::string_view ns,
                                      std::string_view uid, std::string_view svc,
                                      std::int64_t keep_seconds, std::optional<PodIndex> pod) {
  SFROUTE_RETURN_IF_ERROR(Validation(operation, ValidateLinkArgs(ns, uid, svc)));
  SFROUTE_RETURN_IF_ERROR(Validation(operation, internal::ValidateKeepSeconds(keep_seconds)));
  if (pod.has_value()) SFROUTE_RETURN_IF_ERROR(Validation(operation, internal::ValidatePod(*pod)));
  std::string link_key = internal::LinkKey(ns, uid, svc);
  internal::ShortText context = Context(operation, link_key);
  static const char* const sha1 = internal::GetScript("remove_link").sha1;
  Command remove =
      internal::MakeScriptCommand<2>(sha1, std::move(link_key), internal::LinksHashKey(ns, uid),
                                     std::string(svc), std::to_string(keep_seconds));
  if (pod.has_value()) remove.args.push_back(internal::PodText(*pod));
  return OneCommand<bool>(std::move(context), std::move(remove),
                          [](std::string_view context, const Reply& reply) -> absl::StatusOr<bool> {
                            if (reply.type != Reply::Type::kInteger)
                              return internal::UnexpectedReply(context, reply);
                            return reply.integer == 1;
                          });
}

absl::StatusOr<Plan<std::optional<PodIndex>>> ComputeLinkedPodIfAbsentPlan(
    Executor::Impl& impl, std::string_view ns, std::string_view uid, std::string_view svc, Ttl ttl,
    std::int64_t threshold) {
  static constexpr std::string_view kOp = "ComputeLinkedPodIfAbsent";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, ValidateLinkArgs(ns, uid, svc)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateTtl(ttl)));
  const std::string link_key = internal::LinkKey(ns, uid, svc);
  const std::string state_key = internal::StateKey(ns, svc);
  const internal::ShortText context = Context(kOp, link_key);
  // The link and the states live in different slots on a cluster: read
  // both, then set-if-absent, which keeps a link that appeared in between.
  Batch read;
  read.commands.reserve(2);
  read.commands.push_back(internal::MakeKeyCommand("GET", link_key));
  read.commands.push_back(internal::MakeKeyCommand("HGETALL", state_key));
  return Plan<std::optional<PodIndex>>{
      context, std::move(read),
      [&impl, context, state_key, ns = std::string(ns), uid = std::string(uid),
       svc = std::string(svc), ttl,
       threshold](std::string_view, std::vector<Reply>& replies) -> Step<std::optional<PodIndex>> {
        if (absl::Status refused = FirstRefusal(context, replies); !refused.ok()) return refused;
        auto existing = StoredPod(context, replies[0]);
        if (!existing.ok() || existing->has_value()) return existing;
        auto states = ParsePodStates(Context(kOp, state_key), replies[1]);
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
        if (!best) return std::optional<PodIndex>();
        auto link = SetLink<std::optional<PodIndex>>(
            impl, kOp, ns, uid, svc, *best, ttl, "absent",
            [](PodIndex pod,
               const LinkOutcome& outcome) -> absl::StatusOr<std::optional<PodIndex>> {
              return outcome.applied ? pod : *outcome.previous;
            });
        if (!link.ok()) return link.status();
        return Step<std::optional<PodIndex>>(
            std::make_unique<Plan<std::optional<PodIndex>>>(*std::move(link)));
      }};
}

// move_link.lua in one of its modes ("keep", "temporary"): the link to
// `from` moved to `to`, and what is linked after the call.
absl::StatusOr<Plan<MoveResult>> MoveLinkPlan(std::string_view operation, std::string_view ns,
                                              std::string_view uid, std::string_view svc,
                                              PodIndex from, PodIndex to,
                                              std::optional<Ttl> temporary_ttl) {
  SFROUTE_RETURN_IF_ERROR(Validation(operation, ValidateLinkArgs(ns, uid, svc)));
  SFROUTE_RETURN_IF_ERROR(Validation(operation, internal::ValidatePod(from, "from")));
  SFROUTE_RETURN_IF_ERROR(Validation(operation, internal::ValidatePod(to, "to")));
  if (temporary_ttl.has_value()) {
    SFROUTE_RETURN_IF_ERROR(Validation(operation, internal::ValidateTtl(*temporary_ttl)));
    if (temporary_ttl->is_persistent()) {
      return absl::InvalidArgumentError(
          StrCat(operation, ": invalid ttl: must be temporary (seconds > 0), got -1"));
    }
  }
  std::string link_key = internal::LinkKey(ns, uid, svc);
  internal::ShortText context = Context(operation, link_key);
  static const char* const sha1 = internal::GetScript("move_link").sha1;
  Command move = internal::MakeScriptCommand<2>(
      sha1, std::move(link_key), internal::LinksHashKey(ns, uid), std::string(svc),
      internal::PodText(from), internal::PodText(to), temporary_ttl ? "temporary" : "keep");
  if (temporary_ttl.has_value()) move.args.push_back(std::to_string(temporary_ttl->seconds()));
  return OneCommand<MoveResult>(
      std::move(context), std::move(move),
      [](std::string_view context, const Reply& reply) -> absl::StatusOr<MoveResult> {
        if (reply.type != Reply::Type::kArray || reply.elements.size() != 3 ||
            reply.elements[0].type != Reply::Type::kInteger ||
            reply.elements[2].type != Reply::Type::kInteger) {
          return internal::UnexpectedReply(context, reply);
        }
        auto pod = StoredPod(context, reply.elements[1]);
        if (!pod.ok()) return pod.status();  // the link that stays is corrupt
        return MoveResult{.moved = reply.elements[0].integer == 1,
                          .pod = *pod,
                          .persistent = reply.elements[2].integer == 1};
      });
}

absl::StatusOr<Plan<bool>> MoveLinkedPodPlan(Executor::Impl& impl, std::string_view ns,
                                             std::string_view uid, std::string_view svc,
                                             PodIndex from, PodIndex to) {
  auto move =
      MoveLinkPlan(OperationName(Operation::kMoveLinkedPod), ns, uid, svc, from, to, std::nullopt);
  if (!move.ok()) return move.status();
  return Plan<bool>{std::move(move->context), std::move(move->batch),
                    [&impl, parse = std::move(move->parse)](std::string_view context,
                                                            std::vector<Reply>& replies) mutable {
                      Step<MoveResult> step = std::move(parse)(context, replies);
                      if (!step.result.ok()) return Step<bool>(step.result.status());
                      if (step.result->moved) impl.events().metrics().LinkMoved();
                      return Step<bool>(step.result->moved);
                    }};
}

}  // namespace

// --- Impl -------------------------------------------------------------------

Executor::Impl::Impl(std::shared_ptr<internal::Events> events,
                     std::shared_ptr<internal::Backend> backend,
                     std::shared_ptr<internal::EventLoop> loop, const Options& options)
    : events_(std::move(events)),
      backend_(std::move(backend)),
      loop_(std::move(loop)),
      audit_sink_(options.audit_sink),
      command_timeout_(options.command_timeout),
      replica_ack_timeout_(options.replica_ack_timeout) {}

Executor::Impl::~Impl() {
  closing_.store(true);
  // Every call in progress ends CANCELLED; the loop runs what that posts
  // (the callbacks) before it stops.
  backend_->Shutdown(absl::CancelledError("the executor is closing"));
  loop_->Stop();
}

absl::StatusOr<std::unique_ptr<Executor>> Executor::Open(const Options& options) {
  if (options.busy_poll.count() < 0 || options.busy_poll > std::chrono::milliseconds(10)) {
    return absl::InvalidArgumentError("Open: invalid busy_poll: must be 0 to 10000 microseconds");
  }
  auto loop = internal::EventLoop::Start(options.busy_poll);
  if (!loop.ok()) return internal::Annotate(loop.status(), "Open");
  auto events = internal::ExecutorFactory::NewEvents(options);
  auto backend = internal::OpenBackend(options, *loop, events);
  if (!backend.ok()) return internal::Annotate(backend.status(), "Open");
  return internal::ExecutorFactory::Make(std::move(events), *std::move(backend), *std::move(loop),
                                         options);
}

namespace internal {

std::shared_ptr<Events> ExecutorFactory::NewEvents(const Options& options) {
  return std::make_shared<Events>(options.log_sink ? options.log_sink : LogSink(LogToStderr),
                                  options.log_connection_events, std::make_shared<Metrics>());
}

std::unique_ptr<Executor> ExecutorFactory::Make(std::shared_ptr<Events> events,
                                                std::shared_ptr<Backend> backend,
                                                std::shared_ptr<EventLoop> loop,
                                                const Options& options) {
  auto impl = std::make_unique<Executor::Impl>(std::move(events), std::move(backend),
                                               std::move(loop), options);
  return std::unique_ptr<Executor>(new Executor(std::move(impl)));
}

}  // namespace internal

Executor::Executor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Executor::~Executor() = default;

std::string Executor::MetricsText() const {
  return internal::Metrics::Text(impl_->events().metrics().Snapshot());
}

MetricsSnapshot Executor::Metrics() const { return impl_->events().metrics().Snapshot(); }

void Executor::Log(LogLevel level, std::string_view message) const { impl_->Log(level, message); }

namespace {

class MetricsSourceHandle : public Executor::MetricsSource {
 public:
  explicit MetricsSourceHandle(std::shared_ptr<internal::Metrics::Source> source)
      : source_(std::move(source)) {}
  ~MetricsSourceHandle() override { source_->Stop(); }

 private:
  const std::shared_ptr<internal::Metrics::Source> source_;
};

}  // namespace

std::unique_ptr<Executor::MetricsSource> Executor::AddMetricsSource(MetricsCollector collect) {
  return std::make_unique<MetricsSourceHandle>(
      impl_->events().metrics().AddSource(std::move(collect)));
}

// --- The operations, each once; the sync and async entry points below run
// the same plan. ----------------------------------------------------------

namespace {

absl::StatusOr<Plan<Done>> SetServiceStatePlan(std::string_view ns, std::string_view svc,
                                               PodIndex pod, std::string_view state) {
  static constexpr std::string_view kOp = "SetServiceState";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, ValidateServices(ns, {std::string(svc)})));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidatePod(pod)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateState(state)));
  const std::string key = internal::StateKey(ns, svc);
  return OneCommand<Done>(
      Context(kOp, key),
      internal::MakeKeyCommand("HSET", key, internal::PodText(pod), std::string(state)),
      [](std::string_view, const Reply&) -> absl::StatusOr<Done> { return Done{}; });
}

absl::StatusOr<Plan<ServicePodStates>> GetServiceStatesPlan(std::string_view operation,
                                                            std::string_view ns,
                                                            const std::vector<std::string>& svcs) {
  SFROUTE_RETURN_IF_ERROR(Validation(operation, ValidateServices(ns, svcs)));
  Batch batch;
  for (const std::string& svc : svcs) {
    batch.commands.push_back(internal::MakeKeyCommand("HGETALL", internal::StateKey(ns, svc)));
  }
  return Plan<ServicePodStates>{
      StrCat(operation, "(ns=", ns, ")"), std::move(batch),
      [operation = std::string(operation), svcs, ns = std::string(ns)](
          std::string_view, std::vector<Reply>& replies) -> Step<ServicePodStates> {
        ServicePodStates states;
        for (std::size_t i = 0; i < svcs.size(); ++i) {
          auto pods =
              ParsePodStates(Context(operation, internal::StateKey(ns, svcs[i])), replies[i]);
          if (!pods.ok()) return pods.status();
          states[svcs[i]] = *std::move(pods);
        }
        return states;
      }};
}

absl::StatusOr<Plan<Done>> SetServiceStatesPlan(std::string_view ns,
                                                const ServicePodStates& states) {
  static constexpr std::string_view kOp = "SetServiceStates";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateNamespace(ns)));
  Batch batch;
  for (const auto& [svc, pods] : states) {
    SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateService(svc)));
    if (pods.empty()) continue;
    Command hset = internal::MakeKeyCommand("HSET", internal::StateKey(ns, svc));
    for (const auto& [pod, state] : pods) {
      SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidatePod(pod)));
      SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateState(state)));
      hset.args.push_back(internal::PodText(pod));
      hset.args.push_back(state);
    }
    batch.commands.push_back(std::move(hset));
  }
  const std::string context = StrCat(kOp, "(ns=", ns, ")");
  return Plan<Done>{context, std::move(batch),
                    [](std::string_view context, std::vector<Reply>& replies) -> Step<Done> {
                      if (absl::Status refused = FirstRefusal(context, replies); !refused.ok()) {
                        return refused;
                      }
                      return Done{};
                    }};
}

absl::StatusOr<Plan<Done>> SetWorkloadStatePlan(std::string_view ns, std::string_view svc,
                                                std::string_view state) {
  static constexpr std::string_view kOp = "SetWorkloadState";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, ValidateServices(ns, {std::string(svc)})));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateState(state)));
  const std::string key = internal::WorkloadKey(ns, svc);
  // A plain SET also clears any TTL: workload states do not expire.
  return OneCommand<Done>(
      Context(kOp, key), internal::MakeKeyCommand("SET", key, std::string(state)),
      [](std::string_view, const Reply&) -> absl::StatusOr<Done> { return Done{}; });
}

absl::StatusOr<Plan<std::optional<std::string>>> GetWorkloadStatePlan(std::string_view ns,
                                                                      std::string_view svc) {
  static constexpr std::string_view kOp = "GetWorkloadState";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, ValidateServices(ns, {std::string(svc)})));
  const std::string key = internal::WorkloadKey(ns, svc);
  const internal::ShortText context = Context(kOp, key);
  // A GET, not an MGET: a key of another type is WRONGTYPE (DATA_LOSS)
  // here, where MGET would read it as absent.
  return OneCommand<std::optional<std::string>>(
      context, internal::MakeKeyCommand("GET", key),
      [](std::string_view context,
         const Reply& reply) -> absl::StatusOr<std::optional<std::string>> {
        if (reply.is_nil()) return std::nullopt;
        if (reply.type != Reply::Type::kString) return internal::UnexpectedReply(context, reply);
        if (internal::IsAbsentValue(reply.str)) return std::nullopt;
        return reply.str;
      });
}

absl::StatusOr<Plan<std::optional<PodIndex>>> GetLinkedPodPlan(std::string_view ns,
                                                               std::string_view uid,
                                                               std::string_view svc) {
  static constexpr std::string_view kOp = "GetLinkedPod";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, ValidateLinkArgs(ns, uid, svc)));
  std::string key = internal::LinkKey(ns, uid, svc);
  internal::ShortText context = Context(kOp, key);
  return OneCommand<std::optional<PodIndex>>(
      std::move(context), internal::MakeKeyCommand("GET", std::move(key)), StoredPod);
}

absl::StatusOr<Plan<std::optional<PodIndex>>> GetLinkedPodIfPersistPlan(std::string_view ns,
                                                                        std::string_view uid,
                                                                        std::string_view svc) {
  static constexpr std::string_view kOp = "GetLinkedPodIfPersist";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, ValidateLinkArgs(ns, uid, svc)));
  std::string key = internal::LinkKey(ns, uid, svc);
  internal::ShortText context = Context(kOp, key);
  static const char* const sha1 = internal::GetScript("get_link_if_persist").sha1;
  return OneCommand<std::optional<PodIndex>>(
      std::move(context), internal::MakeScriptCommand<1>(sha1, std::move(key)), StoredPod);
}

absl::StatusOr<Plan<ServicePods>> GetLinkServicePlan(Executor::Impl& impl, std::string_view ns,
                                                     std::string_view uid) {
  static constexpr std::string_view kOp = "GetLinkService";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateNamespace(ns)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateUid(uid)));
  const std::string key = internal::LinksHashKey(ns, uid);
  const internal::ShortText context = Context(kOp, key);
  return OneCommand<ServicePods>(
      context, internal::MakeKeyCommand("HGETALL", key),
      [&impl](std::string_view context, const Reply& reply) -> absl::StatusOr<ServicePods> {
        if (reply.type != Reply::Type::kArray || reply.elements.size() % 2 != 0) {
          return internal::UnexpectedReply(context, reply);
        }
        ServicePods services;
        for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
          const std::string& svc = reply.elements[i].str;
          auto pod =
              StoredPod(StrCat(context, " field ", internal::Quoted(svc)), reply.elements[i + 1]);
          if (!pod.ok()) {
            impl.Log(LogLevel::kWarning, StrCat(pod.status().message(), "; skipped"));
            continue;
          }
          if (pod->has_value()) services[svc] = **pod;
        }
        return services;
      });
}

}  // namespace

// --- Audit records (Options::audit_sink) -------------------------------------

namespace {

// One link call's audit, as asked; none when nobody audits.
template <typename T>
std::optional<internal::Audit<T>> AuditOf(const Executor::Impl& impl, std::string_view ns,
                                          std::string_view uid, std::string_view svc,
                                          std::optional<PodIndex> pod,
                                          std::optional<std::int64_t> ttl,
                                          void (*outcome)(const T&, std::vector<AuditRecord>&)) {
  if (!impl.auditing()) return std::nullopt;
  internal::Audit<T> audit;
  AuditRecord& asked = audit.records.emplace_back();
  asked.ns = std::string(ns);
  asked.uid = std::string(uid);
  asked.svc = std::string(svc);
  asked.pod = pod;
  asked.ttl = ttl;
  audit.outcome = outcome;
  return audit;
}

void PreviousLinked(const std::optional<PodIndex>& previous, std::vector<AuditRecord>& records) {
  records[0].has_previous = true;
  records[0].previous = previous;
  records[0].pod_after = records[0].pod;
}

void TrySetOutcome(const TrySetResult& result, std::vector<AuditRecord>& records) {
  records[0].applied = result.applied;
  records[0].pod_after = result.pod;
  records[0].has_previous = true;
  records[0].previous = result.previous;
}

void PodAfter(const PodIndex& pod, std::vector<AuditRecord>& records) {
  records[0].pod_after = pod;
}

void MaybePodAfter(const std::optional<PodIndex>& pod, std::vector<AuditRecord>& records) {
  records[0].pod_after = pod;
}

void Removed(const bool& removed, std::vector<AuditRecord>& records) {
  records[0].removed = removed;
}

void Moved(const bool& moved, std::vector<AuditRecord>& records) {
  records[0].applied = moved;
  if (moved) records[0].pod_after = records[0].pod;
}

void MoveOutcome(const MoveResult& result, std::vector<AuditRecord>& records) {
  records[0].applied = result.moved;
  records[0].pod_after = result.pod;
}

// One record per link; each link's own status when the batch went through.
std::optional<internal::Audit<std::vector<Executor::LinkWrite>>> AuditOfLinks(
    const Executor::Impl& impl, std::string_view ns, std::string_view svc,
    const std::vector<UidPod>& links, Ttl ttl) {
  if (!impl.auditing()) return std::nullopt;
  internal::Audit<std::vector<Executor::LinkWrite>> audit;
  for (const UidPod& link : links) {
    AuditRecord& asked = audit.records.emplace_back();
    asked.ns = std::string(ns);
    asked.uid = link.uid;
    asked.svc = std::string(svc);
    asked.pod = link.pod;
    asked.ttl = ttl.seconds();
  }
  audit.outcome = [](const std::vector<Executor::LinkWrite>& writes,
                     std::vector<AuditRecord>& records) {
    for (std::size_t i = 0; i < writes.size() && i < records.size(); ++i) {
      if (!writes[i].status.ok()) {
        records[i].code = writes[i].status.code();
        records[i].message = std::string(writes[i].status.message());
        continue;
      }
      records[i].has_previous = true;
      records[i].previous = writes[i].previous;
      records[i].pod_after = records[i].pod;
    }
  };
  return audit;
}

}  // namespace

// --- Pod states -------------------------------------------------------------

absl::Status Executor::SetServiceState(std::string_view ns, std::string_view svc, PodIndex pod,
                                       std::string_view state, const CallOptions& call) {
  return impl_->RunSync(Operation::kSetServiceState, SetServiceStatePlan(ns, svc, pod, state), call)
      .status();
}
void Executor::SetServiceStateAsync(std::string_view ns, std::string_view svc, PodIndex pod,
                                    std::string_view state, StatusCallback done,
                                    const CallOptions& call) {
  impl_->RunAsync(Operation::kSetServiceState, SetServiceStatePlan(ns, svc, pod, state),
                  StatusOnly(std::move(done)), call);
}

absl::StatusOr<PodStates> Executor::GetServiceState(std::string_view ns, std::string_view svc,
                                                    const CallOptions& call) {
  auto states = impl_->RunSync(
      Operation::kGetServiceState,
      GetServiceStatesPlan(OperationName(Operation::kGetServiceState), ns, {std::string(svc)}),
      call);
  if (!states.ok()) return states.status();
  return std::move(states->begin()->second);
}
void Executor::GetServiceStateAsync(std::string_view ns, std::string_view svc,
                                    Callback<PodStates> done, const CallOptions& call) {
  impl_->RunAsync(
      Operation::kGetServiceState,
      GetServiceStatesPlan(OperationName(Operation::kGetServiceState), ns, {std::string(svc)}),
      Callback<ServicePodStates>(
          [done = std::move(done)](absl::StatusOr<ServicePodStates> states) mutable {
            if (!states.ok()) {
              std::move(done)(states.status());
            } else {
              std::move(done)(std::move(states->begin()->second));
            }
          }),
      call);
}

absl::StatusOr<ServicePodStates> Executor::GetServiceStates(std::string_view ns,
                                                            const std::vector<std::string>& svcs,
                                                            const CallOptions& call) {
  return impl_->RunSync(Operation::kGetServiceStates,
                        GetServiceStatesPlan(OperationName(Operation::kGetServiceStates), ns, svcs),
                        call);
}
void Executor::GetServiceStatesAsync(std::string_view ns, const std::vector<std::string>& svcs,
                                     Callback<ServicePodStates> done, const CallOptions& call) {
  impl_->RunAsync(Operation::kGetServiceStates,
                  GetServiceStatesPlan(OperationName(Operation::kGetServiceStates), ns, svcs),
                  std::move(done), call);
}

absl::Status Executor::SetServiceStates(std::string_view ns, const ServicePodStates& states,
                                        const CallOptions& call) {
  return impl_->RunSync(Operation::kSetServiceStates, SetServiceStatesPlan(ns, states), call)
      .status();
}
void Executor::SetServiceStatesAsync(std::string_view ns, const ServicePodStates& states,
                                     StatusCallback done, const CallOptions& call) {
  impl_->RunAsync(Operation::kSetServiceStates, SetServiceStatesPlan(ns, states),
                  StatusOnly(std::move(done)), call);
}

// --- Workload states --------------------------------------------------------

absl::Status Executor::SetWorkloadState(std::string_view ns, std::string_view svc,
                                        std::string_view state, const CallOptions& call) {
  return impl_->RunSync(Operation::kSetWorkloadState, SetWorkloadStatePlan(ns, svc, state), call)
      .status();
}
void Executor::SetWorkloadStateAsync(std::string_view ns, std::string_view svc,
                                     std::string_view state, StatusCallback done,
                                     const CallOptions& call) {
  impl_->RunAsync(Operation::kSetWorkloadState, SetWorkloadStatePlan(ns, svc, state),
                  StatusOnly(std::move(done)), call);
}

absl::StatusOr<std::optional<std::string>> Executor::GetWorkloadState(std::string_view ns,
                                                                      std::string_view svc,
                                                                      const CallOptions& call) {
  return impl_->RunSync(Operation::kGetWorkloadState, GetWorkloadStatePlan(ns, svc), call);
}
void Executor::GetWorkloadStateAsync(std::string_view ns, std::string_view svc,
                                     Callback<std::optional<std::string>> done,
                                     const CallOptions& call) {
  impl_->RunAsync(Operation::kGetWorkloadState, GetWorkloadStatePlan(ns, svc), std::move(done),
                  call);
}

namespace {

absl::StatusOr<Plan<WorkloadStates>> GetWorkloadStatesPlan(Executor::Impl& impl,
                                                           std::string_view ns,
                                                           const std::vector<std::string>& svcs) {
  static constexpr std::string_view kOp = "GetWorkloadStates";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, ValidateServices(ns, svcs)));
  std::vector<std::string> keys;
  keys.reserve(svcs.size());
  for (const std::string& svc : svcs) keys.push_back(internal::WorkloadKey(ns, svc));
  return GetMany<WorkloadStates>(
      impl, kOp, StrCat(kOp, "(ns=", ns, ")"), std::move(keys),
      [svcs](const std::vector<std::string>&, std::vector<Reply>& values) -> Step<WorkloadStates> {
        WorkloadStates states;
        for (std::size_t i = 0; i < svcs.size(); ++i) {
          const Reply& value = values[i];
          if (value.type == Reply::Type::kString && !internal::IsAbsentValue(value.str)) {
            states[svcs[i]] = value.str;
          }
        }
        return states;
      });
}

absl::StatusOr<Plan<PodUids>> BatchGetLinkedPodPlan(Executor::Impl& impl, std::string_view ns,
                                                    const std::vector<std::string>& uids,
                                                    std::string_view svc) {
  static constexpr std::string_view kOp = "BatchGetLinkedPod";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateNamespace(ns)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateService(svc)));
  std::vector<std::string> keys;
  keys.reserve(uids.size());
  for (const std::string& uid : uids) {
    SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateUid(uid)));
    keys.push_back(internal::LinkKey(ns, uid, svc));
  }
  return GetMany<PodUids>(impl, kOp, StrCat(kOp, "(ns=", ns, ", svc=", svc, ")"), std::move(keys),
                          [&impl, uids](const std::vector<std::string>& keys,
                                        std::vector<Reply>& values) -> Step<PodUids> {
                            PodUids pods;
                            for (std::size_t i = 0; i < uids.size(); ++i) {
                              // The context names an error: built only for one.
                              auto pod = StoredPod(kOp, values[i]);
                              if (!pod.ok()) pod = StoredPod(Context(kOp, keys[i]), values[i]);
                              if (!pod.ok()) {
                                impl.Log(LogLevel::kWarning,
                                         StrCat(pod.status().message(), "; skipped"));
                                continue;
                              }
                              if (pod->has_value()) pods[**pod].push_back(uids[i]);
                            }
                            return pods;
                          });
}

absl::StatusOr<Plan<std::vector<Executor::LinkWrite>>> SetLinkedPodsPlan(
    Executor::Impl& impl, std::string_view ns, std::string_view svc,
    const std::vector<UidPod>& links, Ttl ttl) {
  static constexpr std::string_view kOp = "SetLinkedPods";
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateNamespace(ns)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateService(svc)));
  SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateTtl(ttl)));
  Batch batch;
  batch.commands.reserve(links.size());
  std::vector<internal::ShortText> contexts;
  contexts.reserve(links.size());
  for (const UidPod& link : links) {
    SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidateUid(link.uid)));
    SFROUTE_RETURN_IF_ERROR(Validation(kOp, internal::ValidatePod(link.pod)));
    std::string link_key = internal::LinkKey(ns, link.uid, svc);
    contexts.push_back(Context(kOp, link_key));
    batch.commands.push_back(SetLinkCommand(
        std::move(link_key), internal::LinksHashKey(ns, link.uid), svc, link.pod, ttl, "set"));
  }
  return Plan<std::vector<Executor::LinkWrite>>{
      StrCat(kOp, "(ns=", ns, ", svc=", svc, ")"), std::move(batch),
      [&impl, contexts = std::move(contexts)](
          std::string_view, std::vector<Reply>& replies) -> Step<std::vector<Executor::LinkWrite>> {
        std::vector<Executor::LinkWrite> results(replies.size());
        for (std::size_t i = 0; i < replies.size(); ++i) {
          auto outcome = ParseSetLink(impl, contexts[i], replies[i]);
          if (outcome.ok()) {
            results[i].previous = outcome->previous;
          } else {
            results[i].status = outcome.status();
          }
        }
        return results;
      }};
}

absl::StatusOr<std::optional<PodIndex>> SetResult(PodIndex, const LinkOutcome& outcome) {
  return outcome.previous;
}

absl::StatusOr<TrySetResult> TrySetResultOf(PodIndex pod, const LinkOutcome& outcome) {
  // Not applied means a persistent link to another pod, which stays.
  return TrySetResult{outcome.applied, outcome.applied ? pod : *outcome.previous, outcome.previous};
}

absl::StatusOr<PodIndex> IfAbsentResult(PodIndex pod, const LinkOutcome& outcome) {
  return outcome.applied ? pod : *outcome.previous;
}

}  // namespace

absl::StatusOr<WorkloadStates> Executor::GetWorkloadStates(std::string_view ns,
                                                           const std::vector<std::string>& svcs,
                                                           const CallOptions& call) {
  return impl_->RunSync(Operation::kGetWorkloadStates, GetWorkloadStatesPlan(*impl_, ns, svcs),
                        call);
}
void Executor::GetWorkloadStatesAsync(std::string_view ns, const std::vector<std::string>& svcs,
                                      Callback<WorkloadStates> done, const CallOptions& call) {
  impl_->RunAsync(Operation::kGetWorkloadStates, GetWorkloadStatesPlan(*impl_, ns, svcs),
                  std::move(done), call);
}

// --- Links ------------------------------------------------------------------

absl::StatusOr<std::optional<PodIndex>> Executor::SetLinkedPod(std::string_view ns,
                                                               std::string_view uid,
                                                               std::string_view svc, PodIndex pod,
                                                               Ttl ttl, const CallOptions& call) {
  constexpr Operation kOp = Operation::kSetLinkedPod;
  return impl_->RunSync(kOp,
                        SetLink<std::optional<PodIndex>>(*impl_, OperationName(kOp), ns, uid, svc,
                                                         pod, ttl, "set", SetResult),
                        call, AuditOf(*impl_, ns, uid, svc, pod, ttl.seconds(), PreviousLinked));
}
void Executor::SetLinkedPodAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                                 PodIndex pod, Ttl ttl, Callback<std::optional<PodIndex>> done,
                                 const CallOptions& call) {
  constexpr Operation kOp = Operation::kSetLinkedPod;
  impl_->RunAsync(kOp,
                  SetLink<std::optional<PodIndex>>(*impl_, OperationName(kOp), ns, uid, svc, pod,
                                                   ttl, "set", SetResult),
                  std::move(done), call,
                  AuditOf(*impl_, ns, uid, svc, pod, ttl.seconds(), PreviousLinked));
}

absl::StatusOr<TrySetResult> Executor::TrySetLinkedPod(std::string_view ns, std::string_view uid,
                                                       std::string_view svc, PodIndex pod, Ttl ttl,
                                                       const CallOptions& call) {
  constexpr Operation kOp = Operation::kTrySetLinkedPod;
  return impl_->RunSync(kOp,
                        SetLink<TrySetResult>(*impl_, OperationName(kOp), ns, uid, svc, pod, ttl,
                                              "try", TrySetResultOf),
                        call, AuditOf(*impl_, ns, uid, svc, pod, ttl.seconds(), TrySetOutcome));
}
void Executor::TrySetLinkedPodAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                                    PodIndex pod, Ttl ttl, Callback<TrySetResult> done,
                                    const CallOptions& call) {
  constexpr Operation kOp = Operation::kTrySetLinkedPod;
  impl_->RunAsync(kOp,
                  SetLink<TrySetResult>(*impl_, OperationName(kOp), ns, uid, svc, pod, ttl, "try",
                                        TrySetResultOf),
                  std::move(done), call,
                  AuditOf(*impl_, ns, uid, svc, pod, ttl.seconds(), TrySetOutcome));
}

absl::StatusOr<PodIndex> Executor::SetLinkedPodIfAbsent(std::string_view ns, std::string_view uid,
                                                        std::string_view svc, PodIndex pod, Ttl ttl,
                                                        const CallOptions& call) {
  constexpr Operation kOp = Operation::kSetLinkedPodIfAbsent;
  return impl_->RunSync(kOp,
                        SetLink<PodIndex>(*impl_, OperationName(kOp), ns, uid, svc, pod, ttl,
                                          "absent", IfAbsentResult),
                        call, AuditOf(*impl_, ns, uid, svc, pod, ttl.seconds(), PodAfter));
}
void Executor::SetLinkedPodIfAbsentAsync(std::string_view ns, std::string_view uid,
                                         std::string_view svc, PodIndex pod, Ttl ttl,
                                         Callback<PodIndex> done, const CallOptions& call) {
  constexpr Operation kOp = Operation::kSetLinkedPodIfAbsent;
  impl_->RunAsync(kOp,
                  SetLink<PodIndex>(*impl_, OperationName(kOp), ns, uid, svc, pod, ttl, "absent",
                                    IfAbsentResult),
                  std::move(done), call,
                  AuditOf(*impl_, ns, uid, svc, pod, ttl.seconds(), PodAfter));
}

absl::StatusOr<std::vector<Executor::LinkWrite>> Executor::SetLinkedPods(
    std::string_view ns, std::string_view svc, const std::vector<UidPod>& links, Ttl ttl,
    const CallOptions& call) {
  return impl_->RunSync(Operation::kSetLinkedPods, SetLinkedPodsPlan(*impl_, ns, svc, links, ttl),
                        call, AuditOfLinks(*impl_, ns, svc, links, ttl));
}
void Executor::SetLinkedPodsAsync(std::string_view ns, std::string_view svc,
                                  const std::vector<UidPod>& links, Ttl ttl,
                                  Callback<std::vector<LinkWrite>> done, const CallOptions& call) {
  impl_->RunAsync(Operation::kSetLinkedPods, SetLinkedPodsPlan(*impl_, ns, svc, links, ttl),
                  std::move(done), call, AuditOfLinks(*impl_, ns, svc, links, ttl));
}

absl::StatusOr<std::optional<PodIndex>> Executor::GetLinkedPod(std::string_view ns,
                                                               std::string_view uid,
                                                               std::string_view svc,
                                                               const CallOptions& call) {
  return impl_->RunSync(Operation::kGetLinkedPod, GetLinkedPodPlan(ns, uid, svc), call);
}
void Executor::GetLinkedPodAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                                 Callback<std::optional<PodIndex>> done, const CallOptions& call) {
  impl_->RunAsync(Operation::kGetLinkedPod, GetLinkedPodPlan(ns, uid, svc), std::move(done), call);
}

absl::StatusOr<std::optional<PodIndex>> Executor::GetLinkedPodIfPersist(std::string_view ns,
                                                                        std::string_view uid,
                                                                        std::string_view svc,
                                                                        const CallOptions& call) {
  return impl_->RunSync(Operation::kGetLinkedPodIfPersist, GetLinkedPodIfPersistPlan(ns, uid, svc),
                        call);
}
void Executor::GetLinkedPodIfPersistAsync(std::string_view ns, std::string_view uid,
                                          std::string_view svc,
                                          Callback<std::optional<PodIndex>> done,
                                          const CallOptions& call) {
  impl_->RunAsync(Operation::kGetLinkedPodIfPersist, GetLinkedPodIfPersistPlan(ns, uid, svc),
                  std::move(done), call);
}

absl::StatusOr<PodUids> Executor::BatchGetLinkedPod(std::string_view ns,
                                                    const std::vector<std::string>& uids,
                                                    std::string_view svc, const CallOptions& call) {
  return impl_->RunSync(Operation::kBatchGetLinkedPod, BatchGetLinkedPodPlan(*impl_, ns, uids, svc),
                        call);
}
void Executor::BatchGetLinkedPodAsync(std::string_view ns, const std::vector<std::string>& uids,
                                      std::string_view svc, Callback<PodUids> done,
                                      const CallOptions& call) {
  impl_->RunAsync(Operation::kBatchGetLinkedPod, BatchGetLinkedPodPlan(*impl_, ns, uids, svc),
                  std::move(done), call);
}

absl::StatusOr<bool> Executor::RemoveLinkedPod(std::string_view ns, std::string_view uid,
                                               std::string_view svc, std::int64_t keep_seconds,
                                               const CallOptions& call) {
  return impl_->RunSync(Operation::kRemoveLinkedPod,
                        RemoveLink(OperationName(Operation::kRemoveLinkedPod), ns, uid, svc,
                                   keep_seconds, std::nullopt),
                        call, AuditOf(*impl_, ns, uid, svc, std::nullopt, keep_seconds, Removed));
}
void Executor::RemoveLinkedPodAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                                    std::int64_t keep_seconds, Callback<bool> done,
                                    const CallOptions& call) {
  impl_->RunAsync(Operation::kRemoveLinkedPod,
                  RemoveLink(OperationName(Operation::kRemoveLinkedPod), ns, uid, svc, keep_seconds,
                             std::nullopt),
                  std::move(done), call,
                  AuditOf(*impl_, ns, uid, svc, std::nullopt, keep_seconds, Removed));
}

absl::StatusOr<bool> Executor::RemoveLinkedPodWithId(std::string_view ns, std::string_view uid,
                                                     std::string_view svc,
                                                     std::int64_t keep_seconds, PodIndex pod,
                                                     const CallOptions& call) {
  return impl_->RunSync(
      Operation::kRemoveLinkedPodWithId,
      RemoveLink(OperationName(Operation::kRemoveLinkedPodWithId), ns, uid, svc, keep_seconds, pod),
      call, AuditOf(*impl_, ns, uid, svc, pod, keep_seconds, Removed));
}
void Executor::RemoveLinkedPodWithIdAsync(std::string_view ns, std::string_view uid,
                                          std::string_view svc, std::int64_t keep_seconds,
                                          PodIndex pod, Callback<bool> done,
                                          const CallOptions& call) {
  impl_->RunAsync(
      Operation::kRemoveLinkedPodWithId,
      RemoveLink(OperationName(Operation::kRemoveLinkedPodWithId), ns, uid, svc, keep_seconds, pod),
      std::move(done), call, AuditOf(*impl_, ns, uid, svc, pod, keep_seconds, Removed));
}

absl::StatusOr<ServicePods> Executor::GetLinkService(std::string_view ns, std::string_view uid,
                                                     const CallOptions& call) {
  return impl_->RunSync(Operation::kGetLinkService, GetLinkServicePlan(*impl_, ns, uid), call);
}
void Executor::GetLinkServiceAsync(std::string_view ns, std::string_view uid,
                                   Callback<ServicePods> done, const CallOptions& call) {
  impl_->RunAsync(Operation::kGetLinkService, GetLinkServicePlan(*impl_, ns, uid), std::move(done),
                  call);
}

absl::StatusOr<std::optional<PodIndex>> Executor::ComputeLinkedPodIfAbsent(
    std::string_view ns, std::string_view uid, std::string_view svc, Ttl ttl,
    std::int64_t threshold, const CallOptions& call) {
  return impl_->RunSync(Operation::kComputeLinkedPodIfAbsent,
                        ComputeLinkedPodIfAbsentPlan(*impl_, ns, uid, svc, ttl, threshold), call,
                        AuditOf(*impl_, ns, uid, svc, std::nullopt, ttl.seconds(), MaybePodAfter));
}
void Executor::ComputeLinkedPodIfAbsentAsync(std::string_view ns, std::string_view uid,
                                             std::string_view svc, Ttl ttl, std::int64_t threshold,
                                             Callback<std::optional<PodIndex>> done,
                                             const CallOptions& call) {
  impl_->RunAsync(Operation::kComputeLinkedPodIfAbsent,
                  ComputeLinkedPodIfAbsentPlan(*impl_, ns, uid, svc, ttl, threshold),
                  std::move(done), call,
                  AuditOf(*impl_, ns, uid, svc, std::nullopt, ttl.seconds(), MaybePodAfter));
}

// The audit record's `previous` is the pod moved from (when it moved).
absl::StatusOr<bool> Executor::MoveLinkedPod(std::string_view ns, std::string_view uid,
                                             std::string_view svc, PodIndex from, PodIndex to,
                                             const CallOptions& call) {
  return impl_->RunSync(Operation::kMoveLinkedPod,
                        MoveLinkedPodPlan(*impl_, ns, uid, svc, from, to), call,
                        AuditOf(*impl_, ns, uid, svc, to, std::nullopt, Moved));
}
void Executor::MoveLinkedPodAsync(std::string_view ns, std::string_view uid, std::string_view svc,
                                  PodIndex from, PodIndex to, Callback<bool> done,
                                  const CallOptions& call) {
  impl_->RunAsync(Operation::kMoveLinkedPod, MoveLinkedPodPlan(*impl_, ns, uid, svc, from, to),
                  std::move(done), call, AuditOf(*impl_, ns, uid, svc, to, std::nullopt, Moved));
}

absl::StatusOr<MoveResult> Executor::MoveTemporaryLinkedPod(std::string_view ns,
                                                            std::string_view uid,
                                                            std::string_view svc, PodIndex from,
                                                            PodIndex to, Ttl ttl,
                                                            const CallOptions& call) {
  return impl_->RunSync(
      Operation::kMoveTemporaryLinkedPod,
      MoveLinkPlan(OperationName(Operation::kMoveTemporaryLinkedPod), ns, uid, svc, from, to, ttl),
      call, AuditOf(*impl_, ns, uid, svc, to, ttl.seconds(), MoveOutcome));
}
void Executor::MoveTemporaryLinkedPodAsync(std::string_view ns, std::string_view uid,
                                           std::string_view svc, PodIndex from, PodIndex to,
                                           Ttl ttl, Callback<MoveResult> done,
                                           const CallOptions& call) {
  impl_->RunAsync(
      Operation::kMoveTemporaryLinkedPod,
      MoveLinkPlan(OperationName(Operation::kMoveTemporaryLinkedPod), ns, uid, svc, from, to, ttl),
      std::move(done), call, AuditOf(*impl_, ns, uid, svc, to, ttl.seconds(), MoveOutcome));
}

// --- Scanning the links of a service (SPEC.md §11) ---------------------------

absl::StatusOr<std::vector<internal::HostPort>> Executor::Impl::Nodes(std::string_view operation,
                                                                      const CallOptions& call) {
  if (loop_->InLoopThread()) {
    return absl::FailedPreconditionError(
        StrCat(operation, ": a sync call inside an executor's callback would wait forever"));
  }
  struct Answer {
    internal::Notification done;
    absl::StatusOr<std::vector<internal::HostPort>> nodes;
  };
  auto answer = std::make_shared<Answer>();
  backend_->Nodes([answer](absl::StatusOr<std::vector<internal::HostPort>> nodes) {
    answer->nodes = std::move(nodes);
    answer->done.Notify();
  });
  if (!answer->done.WaitUntil(
          call.deadline.value_or(internal::SteadyClock::now() + command_timeout_))) {
    return absl::DeadlineExceededError(
        StrCat(operation, ": the list of nodes (the cluster's slot map) did not come in time"));
  }
  if (!answer->nodes.ok()) return internal::Annotate(answer->nodes.status(), operation);
  return std::move(answer->nodes);
}

namespace {

constexpr std::string_view kScanLinks = "ScanLinks";

// `text` as a SCAN pattern that matches only itself.
std::string GlobLiteral(std::string_view text) {
  std::string pattern;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  return pattern;
}

// One SCAN page of one node: the cursor to go on with ("0": done) and the
// keys.
struct ScanPage {
  std::string cursor;
  std::vector<std::string> keys;
};

Plan<ScanPage> ScanPagePlan(const internal::HostPort& node, std::string cursor,
                            const std::string& pattern, std::size_t count) {
  Plan<ScanPage> plan = OneCommand<ScanPage>(
      StrCat(kScanLinks, "(", pattern, " on ", node.Address(), ")"),
      internal::MakeCommand("SCAN", std::move(cursor), "MATCH", pattern, "COUNT",
                            std::to_string(count)),
      [](std::string_view context, const Reply& reply) -> absl::StatusOr<ScanPage> {
        if (reply.type != Reply::Type::kArray || reply.elements.size() != 2 ||
            reply.elements[0].type != Reply::Type::kString ||
            reply.elements[1].type != Reply::Type::kArray) {
          return internal::UnexpectedReply(context, reply);
        }
        ScanPage page{reply.elements[0].str, {}};
        for (const Reply& key : reply.elements[1].elements) {
          if (key.type != Reply::Type::kString) return internal::UnexpectedReply(context, reply);
          page.keys.push_back(key.str);
        }
        return page;
      });
  plan.batch.node = node;  // SCAN sees the keys of the node it runs on
  return plan;
}

// A link key found by SCAN whose value and TTL are still to be read.
struct FoundKey {
  std::string key;
  std::string uid;
};

// GET and PTTL of every key, in one pipeline (per node on a cluster). Keys
// that vanished, absent values and links to other pods are left out;
// corrupt values and keys of another type are logged and left out.
Plan<std::vector<LinkInfo>> ReadLinksPlan(Executor::Impl& impl, std::string_view ns,
                                          std::vector<FoundKey> found,
                                          std::optional<PodIndex> pod) {
  Batch batch;
  batch.commands.reserve(found.size() * 2);
  for (const FoundKey& link : found) {
    batch.commands.push_back(internal::MakeKeyCommand("GET", link.key));
    batch.commands.push_back(internal::MakeKeyCommand("PTTL", link.key));
  }
  return Plan<std::vector<LinkInfo>>{
      StrCat(kScanLinks, "(ns=", ns, ")"), std::move(batch),
      [&impl, found = std::move(found), pod](
          std::string_view, std::vector<Reply>& replies) -> Step<std::vector<LinkInfo>> {
        std::vector<LinkInfo> links;
        links.reserve(found.size());
        for (std::size_t i = 0; i < found.size(); ++i) {
          const internal::ShortText context = Context(kScanLinks, found[i].key);
          const Reply& value = replies[2 * i];
          const Reply& ttl = replies[2 * i + 1];
          bool unreadable = false;
          for (const Reply* reply : {&value, &ttl}) {
            if (!reply->is_error()) continue;
            absl::Status status = internal::StatusFromErrorReply(context, reply->str);
            if (status.code() != absl::StatusCode::kDataLoss) return status;
            impl.Log(LogLevel::kWarning, StrCat(status.message(), "; skipped"));
            unreadable = true;
            break;
          }
          if (unreadable) continue;
          auto stored = StoredPod(context, value);
          if (!stored.ok()) {
            impl.Log(LogLevel::kWarning, StrCat(stored.status().message(), "; skipped"));
            continue;
          }
          // No link (it vanished since SCAN, or holds an absent value), or
          // one it vanished between the GET and the PTTL.
          if (!stored->has_value() || ttl.type != Reply::Type::kInteger ||
              (ttl.integer != -1 && ttl.integer <= 0)) {
            continue;
          }
          if (pod.has_value() && **stored != *pod) continue;
          links.push_back(LinkInfo{
              found[i].uid, **stored,
              ttl.integer == -1 ? Ttl::Persistent() : Ttl::Seconds((ttl.integer + 999) / 1000)});
        }
        return links;
      }};
}

// A call of the scan started now and waited for later: the server works on
// the next page while the scan hands out this one.
template <typename T>
class Started {
 public:
  Started(Executor::Impl& impl, Plan<T> plan, const CallOptions& call)
      : state_(std::make_shared<State>()) {
    impl.RunAsync<T>(
        Operation::kScanLinks, std::move(plan),
        [state = state_](absl::StatusOr<T> result) {
          state->result = std::move(result);
          state->done.Notify();
        },
        call);
  }
  absl::StatusOr<T> Wait() {
    state_->done.Wait();  // the call's deadline ends it
    return *std::move(state_->result);
  }

 private:
  struct State {
    std::optional<absl::StatusOr<T>> result;
    internal::Notification done;
  };
  std::shared_ptr<State> state_;  // shared with the callback: a scan may stop before it runs
};

}  // namespace

absl::Status Executor::ScanLinks(std::string_view ns, std::string_view svc,
                                 std::optional<PodIndex> pod, std::size_t batch,
                                 absl::FunctionRef<bool(const std::vector<LinkInfo>&)> each,
                                 const CallOptions& call) {
  SFROUTE_RETURN_IF_ERROR(Validation(kScanLinks, ValidateServices(ns, {std::string(svc)})));
  if (pod.has_value()) SFROUTE_RETURN_IF_ERROR(Validation(kScanLinks, internal::ValidatePod(*pod)));
  if (batch < 1) {
    return absl::InvalidArgumentError(StrCat(kScanLinks, ": invalid batch: must be at least 1"));
  }
  // sf:{<ns>:lk:<uid>}<svc>; ns and svc may hold glob characters.
  const std::string prefix = StrCat("sf:{", ns, ":lk:");
  const std::string suffix = StrCat("}", svc);
  const std::string pattern = StrCat(GlobLiteral(prefix), "*", GlobLiteral(suffix));
  // SCAN's COUNT is the work of a page, not its size: big enough pages
  // make few round trips, small enough ones keep the server responsive.
  const std::size_t count = std::clamp<std::size_t>(batch, 1000, 10000);

  auto nodes = impl_->Nodes(kScanLinks, call);
  if (!nodes.ok()) return nodes.status();
  // SCAN may return a key twice (when the server resizes its table during
  // the scan): each uid is handed out once.
  std::unordered_set<std::string> seen;
  std::vector<LinkInfo> ready;
  // Hands out the full batches (all that is ready when `flush`); false
  // when `each` asked to stop.
  auto hand_out = [&](bool flush) {
    std::size_t from = 0;
    while (ready.size() - from >= batch || (flush && from < ready.size())) {
      const std::size_t n = std::min(batch, ready.size() - from);
      std::vector<LinkInfo> links(std::make_move_iterator(ready.begin() + from),
                                  std::make_move_iterator(ready.begin() + from + n));
      from += n;
      impl_->events().metrics().LinksScanned(links.size());
      if (!each(links)) return false;
    }
    ready.erase(ready.begin(), ready.begin() + from);
    return true;
  };
  // The link keys of a page not seen before.
  auto new_links = [&](std::vector<std::string>& keys) {
    std::vector<FoundKey> found;
    for (std::string& key : keys) {
      if (key.size() <= prefix.size() + suffix.size() || !key.starts_with(prefix) ||
          !key.ends_with(suffix)) {
        continue;
      }
      std::string uid = key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
      // Another writer's key that no valid uid makes (a uid with a "}").
      if (!internal::ValidateUid(uid).ok()) {
        impl_->Log(LogLevel::kWarning, StrCat(Context(kScanLinks, internal::Quoted(key)),
                                              ": not the link key of a valid uid; skipped"));
        continue;
      }
      if (!seen.insert(uid).second) continue;
      found.push_back(FoundKey{std::move(key), std::move(uid)});
    }
    return found;
  };
  // Three stages in flight: the next page's SCAN of every node and this
  // page's reads are out (pipelined on the node's connection) while the
  // reads of the page before are handed out. The nodes of a cluster are
  // scanned side by side, a page of each in turn.
  std::optional<Started<std::vector<LinkInfo>>> reading;
  auto take_read = [&]() -> absl::StatusOr<bool> {
    if (!reading.has_value()) return true;
    auto links = reading->Wait();
    reading.reset();
    if (!links.ok()) return links.status();
    for (LinkInfo& link : *links) ready.push_back(std::move(link));
    return hand_out(false);
  };
  struct NodeScan {
    internal::HostPort node;
    std::optional<Started<ScanPage>> next_page;  // none: the node is done
  };
  std::vector<NodeScan> scans;
  for (const internal::HostPort& node : *nodes) {
    scans.push_back(
        {node, Started<ScanPage>(*impl_, ScanPagePlan(node, "0", pattern, count), call)});
  }
  for (bool pending = true; pending;) {
    pending = false;
    for (NodeScan& scan : scans) {
      if (!scan.next_page.has_value()) continue;
      auto page = scan.next_page->Wait();
      scan.next_page.reset();
      if (!page.ok()) return page.status();
      if (page->cursor != "0") {
        scan.next_page.emplace(*impl_, ScanPagePlan(scan.node, page->cursor, pattern, count), call);
        pending = true;
      }
      std::optional<Started<std::vector<LinkInfo>>> read_now;
      if (std::vector<FoundKey> found = new_links(page->keys); !found.empty()) {
        read_now.emplace(*impl_, ReadLinksPlan(*impl_, ns, std::move(found), pod), call);
      }
      auto go_on = take_read();
      if (!go_on.ok()) return go_on.status();
      if (!*go_on) return absl::OkStatus();
      reading = std::move(read_now);
    }
  }
  auto go_on = take_read();
  if (!go_on.ok()) return go_on.status();
  if (!*go_on) return absl::OkStatus();
  hand_out(true);
  return absl::OkStatus();
}

}  // namespace sfroute
