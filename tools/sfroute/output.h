// What the CLI writes: one JSON object per line, results on stdout and
// errors on stderr, and the exit code that goes with each error.
//
// Messages are printed as they come: the library never puts a URL or a
// password in its messages and logs (include/sfroute/options.h), and the
// usage errors that quote the command line hide its URL passwords first
// (shown_words.h).
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

// Writes `result` to stdout as one line; nothing when it is AlreadyPrinted().
void PrintResult(const Json& result);

// What a command that printed its own lines (link scan) returns.
inline Json AlreadyPrinted() { return Json(Json::value_t::discarded); }

// `json` as one line of text, without the newline (bad UTF-8 replaced).
std::string JsonLine(const Json& json);

// {"code":...,"message":...} for a failed status.
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
