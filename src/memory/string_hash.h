// A transparent hash, so that maps keyed by std::string are searched with a
// std::string_view without building a string.
#ifndef SFROUTE_SRC_MEMORY_STRING_HASH_H_
#define SFROUTE_SRC_MEMORY_STRING_HASH_H_

#include <cstddef>
#include <functional>
#include <string_view>

namespace sfroute::internal {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>{}(text);
  }
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_MEMORY_STRING_HASH_H_
