// Integer command-line options, parsed strictly as decimal.
#ifndef SFROUTE_TOOLS_SFROUTE_INT_OPTION_H_
#define SFROUTE_TOOLS_SFROUTE_INT_OPTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace sfroute::cli {

// Parses a canonical decimal integer: an optional '-', then digits without a
// leading zero ("0" itself is one; "-0", "00", "010", "-01" are not); no '+',
// no spaces, nothing else. Empty when `text` is not one or does not fit in
// 64 bits. Every integer the CLI takes goes through here.
std::optional<std::int64_t> ParseDecimal(std::string_view text);

// Adds option `name` to `app`, storing its value in `*target` once parsed.
// A value that is not a decimal integer in [min, max] is a CLI11
// ValidationError naming the option, so it is reported like any usage error.
// CLI11's own integer conversion is not used because it accepts octal and
// hex ("010" would be pod 8) and does not report every overflow.
CLI::Option* AddIntOption(CLI::App& app, const std::string& name,
                          std::optional<std::int64_t>* target, std::int64_t min, std::int64_t max,
                          const std::string& description);

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_INT_OPTION_H_
