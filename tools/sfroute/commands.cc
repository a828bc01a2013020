#include "commands.h"

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "CLI/CLI.hpp"
#include "float_option.h"
#include "int_option.h"
#include "runners.h"
#include "sfroute/router.h"
#include "utf8.h"

namespace sfroute::cli {
namespace {

// The options a command takes, as bits so that the command table below reads
// like the table of SPEC.md §5.
enum OptionBits : unsigned {
  kNs = 1u << 0,
  kSvc = 1u << 1,
  kSvcs = 1u << 2,
  kUid = 1u << 3,
  kUids = 1u << 4,
  kState = 1u << 5,
  kPod = 1u << 6,
  kTtl = 1u << 7,
  kKeep = 1u << 8,
  kIfPod = 1u << 9,
  kThreshold = 1u << 10,
  kIfPersistent = 1u << 11,
  kLinks = 1u << 12,
  kLoad = 1u << 13,
  kLinkTtl = 1u << 14,
  kFreshness = 1u << 15,
  kPodFilter = 1u << 16,  // --pod, optional
  kEvacuate = 1u << 17,   // --to, --rate, --dry-run
};

constexpr unsigned kLinkWrite = kNs | kUid | kSvc | kPod | kTtl;

struct CommandSpec {
  const char* group;  // nullptr: a top-level command (SPEC.md §10)
  const char* name;
  const char* description;
  unsigned options;
  absl::StatusOr<Json> (*run)(Executor&, const CommandArgs&);
};

constexpr CommandSpec kCommands[] = {
    {"state", "set", "Set the state a pod reports", kNs | kSvc | kPod | kState, RunStateSet},
    {"state", "get", "Get the states of all pods of a service", kNs | kSvc, RunStateGet},
    {"workload", "set", "Set the workload state of a service", kNs | kSvc | kState, RunWorkloadSet},
    {"workload", "get", "Get the workload states of services", kNs | kSvcs, RunWorkloadGet},
    {"link", "set", "Link a uid to a pod, whatever was there", kLinkWrite, RunLinkSet},
    {"link", "try-set", "Link a uid to a pod unless another pod holds a persistent link",
     kLinkWrite, RunLinkTrySet},
    {"link", "set-if-absent", "Link a uid to a pod only if it has no link", kLinkWrite,
     RunLinkSetIfAbsent},
    {"link", "get", "Get the pod a uid is linked to", kNs | kUid | kSvc | kIfPersistent,
     RunLinkGet},
    {"link", "batch-get", "Get the pods of many uids for one service", kNs | kSvc | kUids,
     RunLinkBatchGet},
    {"link", "remove", "Remove the link of a uid to a service", kNs | kUid | kSvc | kKeep | kIfPod,
     RunLinkRemove},
    {"link", "services", "Get the persistent links of a uid", kNs | kUid, RunLinkServices},
    {"link", "set-many", "Link many uids of one service in one pipeline",
     kNs | kSvc | kLinks | kTtl, RunLinkSetMany},
    {"link", "compute", "Link a uid to the least-loaded pod unless linked",
     kNs | kUid | kSvc | kTtl | kThreshold, RunLinkCompute},
    {"link", "scan", "List every link of a service (of one pod with --pod), one JSON line each",
     kNs | kSvc | kPodFilter, RunLinkScan},
    {"pod", "evacuate", "Move every link of a pod to another pod, or spread them over live pods",
     kNs | kSvc | kPod | kEvacuate | kFreshness, RunPodEvacuate},
    {nullptr, "pods", "Show the pods of a service: state, load, age and whether live",
     kNs | kSvc | kFreshness, RunPods},
    {nullptr, "route",
     "Route a uid as a Router does: its live pod, or place it on the least loaded",
     kNs | kSvc | kUid | kLinkTtl | kFreshness, RunRoute},
    {nullptr, "report", "Report a pod's load as a PodReporter does (<load>-<unix_ms>)",
     kNs | kSvc | kPod | kLoad, RunReport},
};

// --link uid=pod, checked while parsing so that a mistake is a usage error
// naming the option.
CLI::Validator LinkSyntax() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (ParseLinkOption(value).has_value()) return "";
        return "expected uid=pod with pod a decimal integer from 0 to 2147483647, got \"" + value +
               "\"";
      },
      "", "uid=pod");
}

constexpr std::int64_t kMaxPod = std::numeric_limits<PodIndex>::max();

// --to M or --to live, checked while parsing (a usage error naming --to).
CLI::Option* AddToOption(CLI::App& command, std::optional<std::int64_t>* to) {
  return command
      .add_option_function<std::string>(
          "--to",
          [to](const std::string& value) {
            if (value == "live") {
              to->reset();
              return;
            }
            *to = ParseDecimal(value);
          },
          "Where the links go: a pod index, or \"live\" (the live pods, least loaded first; "
          "the default)")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            if (value == "live") return "";
            const std::optional<std::int64_t> pod = ParseDecimal(value);
            if (pod.has_value() && *pod >= 0 && *pod <= kMaxPod) return "";
            return "expected a pod index from 0 to 2147483647 or \"live\", got \"" + value + "\"";
          },
          "", "POD|live"));
}
constexpr std::int64_t kMinInt64 = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();

// Every string option must be UTF-8 (utf8.h); beyond that, identifier and
// state options take any string: the library validates them (and names the
// field in its error), so the CLI does not duplicate the rules.
void AddStringOptions(CLI::App& command, unsigned options, CommandArgs& args) {
  auto text = [&command](const std::string& name, auto& target, const std::string& help) {
    return command.add_option(name, target, help)->required()->check(Utf8Only());
  };
  if (options & kNs) text("--ns", args.ns, "Namespace");
  if (options & kUid) text("--uid", args.uid, "User id");
  if (options & kUids) text("--uid", args.uids, "User id (repeat for more)");
  if (options & kSvc) text("--svc", args.svc, "Service");
  if (options & kSvcs) text("--svc", args.svcs, "Service (repeat for more)");
  if (options & kLinks) {
    text("--link", args.links, "uid=pod (repeat for more)")->check(LinkSyntax());
  }
  if (options & kState) text("--state", args.state, "State string");
}

void AddIntOptions(CLI::App& command, unsigned options, CommandArgs& args) {
  if (options & kPod) {
    AddIntOption(command, "--pod", &args.pod, 0, kMaxPod, "Pod index")->required();
  }
  if (options & kPodFilter) {
    AddIntOption(command, "--pod", &args.pod, 0, kMaxPod, "Only the links to this pod");
  }
  if (options & kEvacuate) {
    AddToOption(command, &args.to);
    AddFloatOption(command, "--rate", &args.rate, 0.001, 1e9,
                   "At most this many moves per second (default: as fast as the server goes)");
    // A flag takes no value, like --if-persistent.
    command.add_flag("--dry-run", args.dry_run, "Write nothing; report what would move")
        ->disable_flag_override();
  }
  if (options & kTtl) {
    AddIntOption(command, "--ttl", &args.ttl, kMinInt64, kMaxInt64,
                 "Seconds the link lives; -1 = persistent")
        ->required();
  }
  if (options & kKeep) {
    AddIntOption(command, "--keep", &args.keep, kMinInt64, kMaxInt64,
                 "Keep the link as temporary for this many seconds (default 0)");
  }
  if (options & kIfPod) {
    AddIntOption(command, "--if-pod", &args.if_pod, 0, kMaxPod,
                 "Remove only if the link is to this pod");
  }
  if (options & kThreshold) {
    AddIntOption(command, "--threshold", &args.threshold, kMinInt64, kMaxInt64,
                 "Least number a pod state must carry to qualify")
        ->required();
  }
  if (options & kLoad) {
    AddIntOption(command, "--load", &args.load, 0, kMaxInt64,
                 "The pod's load (players, rooms...), 0 or more")
        ->required();
  }
  // The link a router writes is temporary by design (SPEC.md §8): -1 and 0
  // are refused here, naming the option, rather than by Router::Open.
  if (options & kLinkTtl) {
    AddIntOption(command, "--link-ttl", &args.link_ttl, 1, Ttl::kMaxSeconds,
                 "Seconds the temporary link written when placing lives (default " +
                     std::to_string(RouterOptions{}.link_ttl.seconds()) + ")");
  }
  if (options & kFreshness) {
    AddIntOption(command, "--freshness-ms", &args.freshness_ms, 1, kMaxInt64,
                 "A pod is live while its last report is at most this old (default " +
                     std::to_string(RouterOptions{}.freshness.count()) + ")");
  }
}

// Returns the group subcommand `name` of `root`, adding it on first use.
// (CLI11's own lookups throw when a subcommand is missing.)
CLI::App& Group(CLI::App& root, const std::string& name, std::map<std::string, CLI::App*>& groups) {
  CLI::App*& group = groups[name];
  if (group == nullptr) {
    group = root.add_subcommand(name, name + " commands");
    group->require_subcommand(1);
  }
  return *group;
}

}  // namespace

std::vector<Command> AddCommands(CLI::App& root, CommandArgs& args) {
  std::vector<Command> commands;
  std::map<std::string, CLI::App*> groups;
  for (const CommandSpec& spec : kCommands) {
    CLI::App& parent = spec.group == nullptr ? root : Group(root, spec.group, groups);
    CLI::App* command = parent.add_subcommand(spec.name, spec.description);
    AddStringOptions(*command, spec.options, args);
    AddIntOptions(*command, spec.options, args);
    if (spec.options & kIfPersistent) {
      // A flag takes no value: "--if-persistent=010" is refused, not read.
      command->add_flag("--if-persistent", args.if_persistent, "Only a persistent link counts")
          ->disable_flag_override();
    }
    commands.push_back({command, spec.run});
  }
  return commands;
}

const Command* SelectedCommand(const std::vector<Command>& commands) {
  for (const Command& command : commands) {
    if (command.app->parsed()) return &command;
  }
  return nullptr;
}

}  // namespace sfroute::cli
