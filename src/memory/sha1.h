// SHA-1, only to name scripts the way Redis does (SCRIPT LOAD, EVALSHA,
// redis.sha1hex). Not for anything security related.
#ifndef SFROUTE_SRC_MEMORY_SHA1_H_
#define SFROUTE_SRC_MEMORY_SHA1_H_

#include <string>
#include <string_view>

namespace sfroute::internal {

// The 40 lowercase hex digits of the SHA-1 of `data`.
std::string Sha1Hex(std::string_view data);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_MEMORY_SHA1_H_
