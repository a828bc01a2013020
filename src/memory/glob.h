// The glob patterns of KEYS, with Redis's rules.
#ifndef SFROUTE_SRC_MEMORY_GLOB_H_
#define SFROUTE_SRC_MEMORY_GLOB_H_

#include <string_view>

namespace sfroute::internal {

// True if `pattern` matches all of `text`. `*` matches any run of bytes, `?`
// one byte, `[abc]`, `[a-z]` and `[^...]` one byte of (or not of) a set, and
// `\` makes the next byte literal. As in Redis, an unclosed `[` takes the
// rest of the pattern as its set.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_MEMORY_GLOB_H_
