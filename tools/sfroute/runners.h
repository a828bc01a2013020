// One function per CLI command: calls the library with the parsed options
// and shapes its answer as the JSON object of SPEC.md §5. Options that a
// command requires are known to be set (CLI11 enforces that before these run).
#ifndef SFROUTE_TOOLS_SFROUTE_RUNNERS_H_
#define SFROUTE_TOOLS_SFROUTE_RUNNERS_H_

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "commands.h"
#include "output.h"
#include "sfroute/sfroute.h"

namespace sfroute::cli {

// The uid and pod of a --link uid=pod value (split at the last '=', since a
// uid may hold one; the pod a canonical decimal 0 ... 2^31-1), or empty.
std::optional<UidPod> ParseLinkOption(std::string_view link);

absl::StatusOr<Json> RunStateSet(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunStateGet(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunWorkloadSet(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunWorkloadGet(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunLinkSet(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunLinkTrySet(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunLinkSetIfAbsent(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunLinkGet(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunLinkBatchGet(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunLinkRemove(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunLinkServices(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunLinkSetMany(Executor& executor, const CommandArgs& args);
absl::StatusOr<Json> RunLinkCompute(Executor& executor, const CommandArgs& args);

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_RUNNERS_H_
