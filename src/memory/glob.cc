#include "memory/glob.h"

#include <cstddef>
#include <utility>

namespace sfroute::internal {
namespace {

// Matches the set that starts after the `[` at pattern[pos] against `c`.
// Returns whether it matched and sets `end` to the index after the set.
bool MatchSet(std::string_view pattern, std::size_t pos, unsigned char c, std::size_t& end) {
  std::size_t i = pos + 1;
  const bool negate = i < pattern.size() && pattern[i] == '^';
  if (negate) ++i;
  bool match = false;
  while (i < pattern.size() && pattern[i] != ']') {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      match |= static_cast<unsigned char>(pattern[i + 1]) == c;
      i += 2;
    } else if (i + 2 < pattern.size() && pattern[i + 1] == '-') {
      auto low = static_cast<unsigned char>(pattern[i]);
      auto high = static_cast<unsigned char>(pattern[i + 2]);
      if (low > high) std::swap(low, high);
      match |= c >= low && c <= high;
      i += 3;
    } else {
      match |= static_cast<unsigned char>(pattern[i]) == c;
      ++i;
    }
  }
  end = i < pattern.size() ? i + 1 : i;  // past the `]`, if there is one
  return match != negate;
}

// Matches the one-byte element at pattern[pos] (anything but `*`) against
// `c`; on a match sets `end` to the index after the element.
bool MatchOne(std::string_view pattern, std::size_t pos, unsigned char c, std::size_t& end) {
  switch (pattern[pos]) {
    case '?':
      end = pos + 1;
      return true;
    case '[':
      return MatchSet(pattern, pos, c, end);
    case '\\':
      if (pos + 1 < pattern.size()) ++pos;
      [[fallthrough]];
    default:
      end = pos + 1;
      return static_cast<unsigned char>(pattern[pos]) == c;
  }
}

}  // namespace

// Every element but `*` matches exactly one byte, so on a mismatch it is
// enough to let the most recent `*` swallow one more byte: linear in
// practice, never exponential.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0;
  std::size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    std::size_t next = 0;
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = ++p;
      star_t = t;
    } else if (p < pattern.size() &&
               MatchOne(pattern, p, static_cast<unsigned char>(text[t]), next)) {
      p = next;
      ++t;
    } else if (star_p != std::string_view::npos) {
      p = star_p;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace sfroute::internal
