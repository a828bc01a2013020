// What the CLI writes: one JSON object per line, results on stdout and
// errors on stderr, and the exit code that goes with each error.
#ifndef SFROUTE_TOOLS_SFROUTE_OUTPUT_H_
#define SFROUTE_TOOLS_SFROUTE_OUTPUT_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "sfroute/options.h"

namespace sfroute::cli {

// Ordered so that pod-keyed objects keep the numeric order in which the
// library's std::map hands them over ("2" before "10").
using Json = nlohmann::ordered_json;

// Exit codes of SPEC.md §5.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnavailable = 3;
inline constexpr int kExitPermissionDenied = 4;

int ExitCodeFor(absl::StatusCode code);

// Replaces the user-info part of every "scheme://user:password@host" in
// `text` with "***". Errors may quote the command line back (for example a
// misplaced --redis URL among unexpected arguments), and passwords must never
// be printed.
std::string RedactUserInfo(std::string_view text);

// Writes `result` to stdout as one line.
void PrintResult(const Json& result);

// {"code":...,"message":...} for a failed status, the message redacted.
Json ErrorJson(const absl::Status& status);

// Writes {"error":{"code":...,"message":...}} to stderr; returns the exit
// code for `status` (which must not be OK).
int ReportError(const absl::Status& status);

// A command-line mistake: reported as INVALID_ARGUMENT with exit code 2.
int ReportUsageError(std::string_view message);

// Log sink for the library: warnings and errors go to stderr as JSON lines,
// like everything else the CLI writes there.
void LogToStderr(LogLevel level, std::string_view message);

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_OUTPUT_H_
