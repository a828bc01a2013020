#include "int_option.h"

#include <charconv>
#include <limits>
#include <system_error>

#include "CLI/CLI.hpp"

namespace sfroute::cli {

std::optional<std::int64_t> ParseDecimal(std::string_view text) {
  // One spelling per number: no leading zero ("010", "00") and no "-0"
  // (so no "-01" either). "0" itself is fine.
  const std::string_view digits = text.starts_with('-') ? text.substr(1) : text;
  if (digits.empty() || (digits.front() == '0' && (digits.size() > 1 || digits != text))) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  // std::from_chars takes decimal only, rejects a leading '+' or space and
  // reports overflow.
  auto [parsed_end, error] = std::from_chars(text.data(), end, value, 10);
  if (error != std::errc() || parsed_end != end) return std::nullopt;
  return value;
}

namespace {

std::string RangeText(std::int64_t min, std::int64_t max) {
  if (min == std::numeric_limits<std::int64_t>::min() &&
      max == std::numeric_limits<std::int64_t>::max()) {
    return "a decimal integer";
  }
  return "a decimal integer from " + std::to_string(min) + " to " + std::to_string(max);
}

}  // namespace

CLI::Option* AddIntOption(CLI::App& app, const std::string& name,
                          std::optional<std::int64_t>* target, std::int64_t min, std::int64_t max,
                          const std::string& description) {
  auto store = [target, name, min, max](const std::string& text) {
    std::optional<std::int64_t> value = ParseDecimal(text);
    if (!value.has_value() || *value < min || *value > max) {
      throw CLI::ValidationError(name, "expected " + RangeText(min, max) +
                                           " (no leading zero, no '+'), got \"" + text + "\"");
    }
    *target = *value;
  };
  CLI::Option* option = app.add_option_function<std::string>(name, store, description);
  option->type_name("INT");
  return option;
}

}  // namespace sfroute::cli
