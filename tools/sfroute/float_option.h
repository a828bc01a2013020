// Floating-point command-line options (bench --seconds), parsed strictly as
// plain decimals and range-checked.
#ifndef SFROUTE_TOOLS_SFROUTE_FLOAT_OPTION_H_
#define SFROUTE_TOOLS_SFROUTE_FLOAT_OPTION_H_

#include <optional>
#include <string>
#include <string_view>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace sfroute::cli {

// Parses a plain decimal number: digits, optionally '.' and more digits
// ("5", "0.25"), the integer part without a leading zero unless it is "0".
// Nothing else: no sign, no exponent, no "nan" or "inf", no spaces. Empty
// when `text` is not one.
std::optional<double> ParsePlainDecimal(std::string_view text);

// Adds option `name` to `app`, storing its value in `*target` once parsed.
// A value that is not a plain decimal in [min, max] is a CLI11
// ValidationError naming the option (a usage error). CLI11's own conversion
// is not used: it takes "nan", "inf" and "1e300".
CLI::Option* AddFloatOption(CLI::App& app, const std::string& name, std::optional<double>* target,
                            double min, double max, const std::string& description);

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_FLOAT_OPTION_H_
