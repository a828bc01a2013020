// The sfroute command line (SPEC.md §5, docs/cli.md), run by main.cc:
//
//   sfroute [--redis URL] [--timeout-ms N] <group> <command> [options]
//   sfroute [--redis URL] [--timeout-ms N] pods|route|report [options]
//
// Each run does one operation and prints one JSON object on stdout, or one
// {"error":{...}} object on stderr with exit code 2 (usage, INVALID_ARGUMENT),
// 3 (UNAVAILABLE, DEADLINE_EXCEEDED), 4 (PERMISSION_DENIED) or 1 (other).
// `sfroute demo` is the exception: a simulated day with a human-readable
// report, exit 1 when an invariant fails (demo_command.h). `sfroute bench`
// runs a load and prints one JSON report (bench_command.h).
#include "cli.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench_command.h"
#include "commands.h"
#include "demo_command.h"
#include "int_option.h"
#include "observability.h"
#include "output.h"
#include "sfroute/options.h"
#include "sfroute/sfroute.h"
#include "shown_words.h"
#include "utf8.h"

namespace sfroute::cli {
namespace {

constexpr char kDefaultRedisUrl[] = "redis://127.0.0.1:6379";

struct GlobalArgs {
  std::string redis_url = kDefaultRedisUrl;
  std::string cluster;  // host:port[,host:port...] or a redis-cluster:// URL
  std::optional<std::int64_t> timeout_ms;
  std::optional<std::int64_t> busy_poll_us;
  std::string audit_log;    // --audit-log FILE
  bool redis_flag = false;  // --redis was on the command line (not only in $SFROUTE_REDIS)
};

void AddGlobalOptions(CLI::App& app, GlobalArgs& global) {
  // CLI11 reads the environment only when the option is absent, which gives
  // the precedence --redis > $SFROUTE_REDIS > default. The default is stated
  // in the text rather than captured, so help never prints a URL that could
  // carry a password.
  app.add_option("--redis", global.redis_url,
                 std::string("Redis URL, redis://[[user]:password@]host[:port]"
                             "[/db]; default ") +
                     kDefaultRedisUrl)
      ->envname("SFROUTE_REDIS")
      ->check(Utf8Only());
  app.add_option("--cluster", global.cluster,
                 "Redis Cluster seed nodes, host:port[,host:port...] (or a "
                 "redis-cluster://[[user]:password@]... URL); default $SFROUTE_CLUSTER; "
                 "wins over --redis")
      ->check(Utf8Only());
  // The upper bound keeps the value meaningful as a socket timeout.
  AddIntOption(app, "--timeout-ms", &global.timeout_ms, 1, std::numeric_limits<std::int32_t>::max(),
               "Connect and command timeout in milliseconds (default 1000)");
  AddIntOption(app, "--busy-poll-us", &global.busy_poll_us, 0, 10000,
               "Microseconds a waiting thread polls before it sleeps (Options::busy_poll), "
               "default 50; 0 never spins");
  app.add_option("--audit-log", global.audit_log,
                 "Append one JSON line per link change (and failed attempt) to this file")
      ->check(Utf8Only());
}

// $SFROUTE_CLUSTER, or "" when unset. (CLI11 reads $SFROUTE_REDIS and
// checks it like --redis; this one is read here, after --redis is known.)
std::string ClusterFromEnvironment() {
  const char* value = std::getenv("SFROUTE_CLUSTER");
  return value == nullptr ? std::string() : std::string(value);
}

// Where to connect: --cluster, then --redis, then $SFROUTE_CLUSTER, then
// $SFROUTE_REDIS, then the default. A flag on the command line beats any
// variable of the environment.
std::string DeploymentUrl(const GlobalArgs& global) {
  std::string cluster = global.cluster;
  if (cluster.empty() && !global.redis_flag) cluster = ClusterFromEnvironment();
  if (cluster.empty()) return global.redis_url;
  return cluster.starts_with("redis-cluster://") ? cluster : "redis-cluster://" + cluster;
}

// True when the command line or the environment names a deployment.
bool DeploymentGiven(const CLI::App& app, const GlobalArgs& global) {
  return app.get_option("--redis")->count() > 0 || !global.cluster.empty() ||
         !ClusterFromEnvironment().empty();
}

Options MakeOptions(const GlobalArgs& global) {
  Options options;
  options.redis_url = DeploymentUrl(global);
  if (global.busy_poll_us.has_value()) {
    options.busy_poll = std::chrono::microseconds(*global.busy_poll_us);
  }
  if (global.timeout_ms.has_value()) {
    options.connect_timeout = std::chrono::milliseconds(*global.timeout_ms);
    options.command_timeout = std::chrono::milliseconds(*global.timeout_ms);
  }
  options.log_sink = LogToStderr;
  return options;
}

// The deepest group or command the command line selected, e.g. "link".
const CLI::App& DeepestSelected(const CLI::App& app) {
  const CLI::App* deepest = &app;
  while (!deepest->get_subcommands().empty()) {
    deepest = deepest->get_subcommands().front();
  }
  return *deepest;
}

// CLI11 says only "A subcommand is required", even when the user typed an
// unknown command; say which word was not understood and what would be.
std::string MissingCommandMessage(const CLI::App& app) {
  const CLI::App& parent = DeepestSelected(app);
  std::string where =
      parent.get_parent() == nullptr ? std::string("sfroute") : "sfroute " + parent.get_name();
  std::vector<std::string> unknown = parent.remaining();
  std::string message = unknown.empty() ? where + ": a command is required"
                                        : where + ": unknown command \"" + unknown.front() + "\"";
  std::string choices;
  for (const CLI::App* command : parent.get_subcommands({})) {
    choices += (choices.empty() ? "" : ", ") + command->get_name();
  }
  return message + " (expected one of: " + choices + ")";
}

// Help (and CLI11's other "successful" exits) goes to stdout with exit 0;
// every real parse error becomes the JSON error of a usage error. Those
// quote the command line back ("got ...", "not expected: ..."), so a URL
// typed in the wrong place is shown without its password (shown_words.h);
// so are the variables, in case a message ever quotes them.
int HandleParseError(const CLI::App& app, const CLI::ParseError& error,
                     const std::vector<std::string>& words) {
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    return app.exit(error, std::cout, std::cerr);
  }
  const bool missing_command = dynamic_cast<const CLI::RequiredError*>(&error) != nullptr &&
                               std::string_view(error.what()).starts_with("A subcommand");
  std::vector<std::string> quotable = words;
  for (const char* variable : {"SFROUTE_REDIS", "SFROUTE_CLUSTER"}) {
    if (const char* value = std::getenv(variable); value != nullptr) quotable.emplace_back(value);
  }
  return ReportUsageError(HidePasswordsOf(
      quotable, missing_command ? MissingCommandMessage(app) : std::string(error.what())));
}

// The command-line words after the program name.
std::vector<std::string> Arguments(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc && argv != nullptr && argv[i] != nullptr; ++i) {
    args.emplace_back(argv[i]);
  }
  return args;
}

int RunCommand(const CLI::App& app, const GlobalArgs& global, const CLI::App* demo,
               const DemoArgs& demo_args, const CLI::App* bench, BenchArgs& bench_args,
               const std::vector<Command>& commands, CommandArgs& args,
               const std::function<Options()>& make_options);

int RunArguments(const std::vector<std::string>& words) {
  CLI::App app("sfroute: routing state of stateful services, kept in Redis", "sfroute");
  GlobalArgs global;
  CommandArgs args;
  AddGlobalOptions(app, global);
  std::vector<Command> commands = AddCommands(app, args);
  DemoArgs demo_args;
  const CLI::App* demo = AddDemoCommand(app, demo_args);
  BenchArgs bench_args;
  const CLI::App* bench = AddBenchCommand(app, bench_args);
  app.require_subcommand(1);
  for (const std::string& arg : words) {
    if (arg == "--redis" || arg.starts_with("--redis=")) global.redis_flag = true;
  }
  try {
    // CLI11 takes the words last first.
    app.parse(std::vector<std::string>(words.rbegin(), words.rend()));
  } catch (const CLI::ParseError& error) {
    return HandleParseError(app, error, words);
  }
  // $SFROUTE_CLUSTER is read outside CLI11 (DeploymentUrl): check it when
  // it is the one used.
  if (global.cluster.empty() && !global.redis_flag &&
      FirstInvalidUtf8(ClusterFromEnvironment()).has_value()) {
    return ReportUsageError("$SFROUTE_CLUSTER: not valid UTF-8; the CLI takes UTF-8 text only");
  }
  // --audit-log: one sink for whatever runs; a record that could not be
  // written fails the command at the end.
  std::unique_ptr<AuditLog> audit_log;
  if (!global.audit_log.empty()) {
    auto opened = AuditLog::Open(global.audit_log);
    if (!opened.ok()) return ReportError(opened.status());
    audit_log = *std::move(opened);
  }
  auto make_options = [&global, &audit_log] {
    Options options = MakeOptions(global);
    if (audit_log != nullptr) options.audit_sink = audit_log->Sink();
    return options;
  };
  const int exit_code =
      RunCommand(app, global, demo, demo_args, bench, bench_args, commands, args, make_options);
  if (audit_log != nullptr && !audit_log->status().ok()) {
    const int failed = ReportError(audit_log->status());
    return exit_code == kExitOk ? failed : exit_code;
  }
  return exit_code;
}

int RunCommand(const CLI::App& app, const GlobalArgs& global, const CLI::App* demo,
               const DemoArgs& demo_args, const CLI::App* bench, BenchArgs& bench_args,
               const std::vector<Command>& commands, CommandArgs& args,
               const std::function<Options()>& make_options) {
  if (demo->parsed()) {
    Options options = make_options();
    // The demo needs no server unless one is named: --redis, --cluster or
    // their variables (CLI11 counts $SFROUTE_REDIS as a result of --redis).
    if (!DeploymentGiven(app, global)) options.redis_url = kDemoDefaultRedisUrl;
    return RunDemo(demo_args, options);
  }
  if (bench->parsed()) return RunBench(bench_args, make_options());
  const Command* command = SelectedCommand(commands);
  if (command == nullptr) return ReportUsageError("a command is required");

  // A one-shot command's error line already says why a connection failed.
  Options options = make_options();
  options.log_connection_events = false;
  absl::StatusOr<std::unique_ptr<Executor>> executor = Executor::Open(options);
  if (!executor.ok()) return ReportError(executor.status());
  absl::StatusOr<Json> result = command->run(**executor, args);
  if (!result.ok()) return ReportError(result.status());
  PrintResult(*result);
  return kExitOk;
}

// An exception that escaped a command, as an INTERNAL error; even printing
// it may fail (out of memory), and that is swallowed too.
int ReportException(const char* what) noexcept {
  try {
    return ReportError(absl::InternalError(std::string("unexpected exception: ") + what));
  } catch (...) {
    return kExitFailure;
  }
}

}  // namespace

int Run(int argc, char** argv) {
  // Nothing may escape to the caller (a test, a fuzz target): the library
  // throws nothing, but CLI11, the JSON library and allocations may.
  try {
    return RunArguments(Arguments(argc, argv));
  } catch (const std::exception& error) {
    return ReportException(error.what());
  } catch (...) {
    return ReportException("not a std::exception");
  }
}

}  // namespace sfroute::cli
