// UTF-8 checks of the CLI: its output is JSON, which carries only UTF-8, so
// it takes nothing else in its options and warns about stored values that
// are not (docs/cli.md).
#ifndef SFROUTE_TOOLS_SFROUTE_UTF8_H_
#define SFROUTE_TOOLS_SFROUTE_UTF8_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace CLI {
class Validator;
}  // namespace CLI

namespace sfroute::cli {

// The offset of the first byte of `text` that does not start a well-formed
// UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF), or empty when all of `text` is UTF-8. This is the rule of the
// JSON library, so that what passes is printed unchanged.
std::optional<std::size_t> FirstInvalidUtf8(std::string_view text);

// How much of a stored value a warning quotes.
inline constexpr std::size_t kQuotedPrefixBytes = 32;

// At most the first `max_bytes` bytes of `text`, fit to quote in a message:
// UTF-8 characters other than controls as they are, every other byte as
// \xNN; "..." when cut.
std::string QuotablePrefix(std::string_view text, std::size_t max_bytes);

// A CLI11 check refusing a value that is not UTF-8; the error names the
// option and the offset of the first bad byte, never the value.
CLI::Validator Utf8Only();

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_UTF8_H_
