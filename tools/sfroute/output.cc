#include "output.h"

#include <iostream>
#include <mutex>

namespace sfroute::cli {
namespace {

// Redis values are opaque bytes and may not be valid UTF-8; replacing bad
// sequences keeps the output valid JSON instead of aborting with an exception.
std::string Dump(const Json& json) {
  return json.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                   nlohmann::ordered_json::error_handler_t::replace);
}

Json ErrorObject(std::string_view code, std::string_view message) {
  return {{"code", std::string(code)}, {"message", std::string(message)}};
}

void PrintErrorLine(std::string_view code, std::string_view message) {
  std::cerr << Dump(Json{{"error", ErrorObject(code, message)}}) << '\n' << std::flush;
}

// Debian's Abseil has its own string_view type, not std::string_view.
std::string_view MessageOf(const absl::Status& status) {
  const absl::string_view message = status.message();
  return std::string_view(message.data(), message.size());
}

}  // namespace

int ExitCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    case absl::StatusCode::kPermissionDenied:
      return kExitPermissionDenied;
    default:
      return kExitFailure;
  }
}

void PrintResult(const Json& result) {
  if (result.is_discarded()) return;
  std::cout << Dump(result) << '\n' << std::flush;
}

std::string JsonLine(const Json& json) { return Dump(json); }

Json ErrorJson(const absl::Status& status) {
  return ErrorObject(absl::StatusCodeToString(status.code()), MessageOf(status));
}

int ReportError(const absl::Status& status) {
  PrintErrorLine(absl::StatusCodeToString(status.code()), MessageOf(status));
  return ExitCodeFor(status.code());
}

int ReportUsageError(std::string_view message) {
  PrintErrorLine(absl::StatusCodeToString(absl::StatusCode::kInvalidArgument), message);
  return kExitUsage;
}

void LogToStderr(LogLevel level, std::string_view message) {
  if (level != LogLevel::kWarning && level != LogLevel::kError) return;
  const char* level_name = level == LogLevel::kWarning ? "WARNING" : "ERROR";
  Json line = {{"log", {{"level", level_name}, {"message", std::string(message)}}}};
  // The library may log from several threads; keep lines whole.
  static std::mutex* const mutex = new std::mutex;
  std::lock_guard<std::mutex> lock(*mutex);
  std::cerr << Dump(line) << '\n' << std::flush;
}

}  // namespace sfroute::cli
