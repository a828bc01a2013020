// The commands of the sfroute CLI (SPEC.md §5): their options and how each
// one calls the library and turns the answer into JSON.
#ifndef SFROUTE_TOOLS_SFROUTE_COMMANDS_H_
#define SFROUTE_TOOLS_SFROUTE_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "output.h"
#include "sfroute/sfroute.h"

namespace CLI {
class App;
}  // namespace CLI

namespace sfroute::cli {

// The option values of whichever command was given. One struct serves all
// commands because a run parses exactly one; each command binds only the
// fields it uses. Integers stay empty until their option is seen.
struct CommandArgs {
  std::string ns;
  std::string svc;
  std::vector<std::string> svcs;  // workload get: --svc may repeat
  std::string uid;
  std::vector<std::string> uids;   // link batch-get: --uid may repeat
  std::vector<std::string> links;  // link set-many: --link uid=pod, repeated
  std::string state;
  std::optional<std::int64_t> pod;
  std::optional<std::int64_t> ttl;
  std::optional<std::int64_t> keep;
  std::optional<std::int64_t> if_pod;
  std::optional<std::int64_t> threshold;
  std::optional<std::int64_t> load;          // report
  std::optional<std::int64_t> link_ttl;      // route: seconds
  std::optional<std::int64_t> freshness_ms;  // pods, route
  bool if_persistent = false;
  std::optional<std::int64_t> to;  // pod evacuate --to M; empty: --to live
  std::optional<double> rate;      // pod evacuate: moves per second
  bool dry_run = false;            // pod evacuate
};

using Runner = std::function<absl::StatusOr<Json>(Executor&, const CommandArgs&)>;

struct Command {
  const CLI::App* app;  // the leaf subcommand, e.g. "link set" or "route"
  Runner run;
};

// Adds the groups (state, workload, link, pod) and their commands, and the
// top-level commands (pods, route, report), to `root`, binding their options
// to `args`. Returns one entry per command.
std::vector<Command> AddCommands(CLI::App& root, CommandArgs& args);

// The command the parsed command line selected, or nullptr.
const Command* SelectedCommand(const std::vector<Command>& commands);

// The routing commands of SPEC.md §10 (the drivers of §8), in runners.cc
// with the others.
absl::StatusOr<Json> RunPods(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunRoute(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunReport(Executor& executor, const CommandArgs& args);
// The operations commands of SPEC.md §11.
absl::StatusOr<Json> RunLinkScan(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunPodEvacuate(Executor& executor, const CommandArgs& args);

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_COMMANDS_H_
