#include "float_option.h"

#include <charconv>
#include <cmath>
#include <sstream>
#include <system_error>

#include "CLI/CLI.hpp"

namespace sfroute::cli {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "5" or "0.25": the shape checked before any conversion, so that nothing
// std::from_chars would also take ("inf", "1e3", ".5") slips through.
bool IsPlainDecimal(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && IsDigit(text[i])) ++i;
  const std::size_t integer_digits = i;
  if (integer_digits == 0 || (integer_digits > 1 && text.front() == '0')) return false;
  if (i == text.size()) return true;
  if (text[i] != '.') return false;
  ++i;
  const std::size_t fraction_start = i;
  while (i < text.size() && IsDigit(text[i])) ++i;
  return i > fraction_start && i == text.size();
}

// Without trailing zeros: 86400 rather than 86400.000000.
std::string NumberText(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

std::optional<double> ParsePlainDecimal(std::string_view text) {
  if (!IsPlainDecimal(text)) return std::nullopt;
  double value = 0;
  const char* end = text.data() + text.size();
  auto [parsed_end, error] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
  if (error != std::errc() || parsed_end != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

CLI::Option* AddFloatOption(CLI::App& app, const std::string& name, std::optional<double>* target,
                            double min, double max, const std::string& description) {
  auto store = [target, name, min, max](const std::string& text) {
    std::optional<double> value = ParsePlainDecimal(text);
    if (!value.has_value() || *value < min || *value > max) {
      throw CLI::ValidationError(name, "expected a decimal number from " + NumberText(min) +
                                           " to " + NumberText(max) +
                                           " (like 5 or 0.25; no sign, exponent, nan or inf), "
                                           "got \"" +
                                           text + "\"");
    }
    *target = *value;
  };
  CLI::Option* option = app.add_option_function<std::string>(name, store, description);
  option->type_name("NUMBER");
  return option;
}

}  // namespace sfroute::cli
