// StrCat for std::string_view. (Debian's abseil is built with its own
// absl::string_view, which std::string_view does not convert to, so
// absl::StrCat cannot take the std::string_view used throughout sfroute.)
#ifndef SFROUTE_SRC_STR_CAT_H_
#define SFROUTE_SRC_STR_CAT_H_

#include <concepts>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace sfroute::internal {

inline void AppendPiece(std::string& out, std::string_view piece) { out.append(piece); }

// absl::Status::message() is an absl::string_view.
template <typename View>
requires std::same_as<View, absl::string_view>
void AppendPiece(std::string& out, const View& piece) { out.append(piece.data(), piece.size()); }

template <std::integral Number>
requires(!std::same_as<Number, bool> &&
         !std::same_as<Number, char>) void AppendPiece(std::string& out, Number number) {
  out.append(std::to_string(number));
}

template <typename... Pieces>
std::string StrCat(const Pieces&... pieces) {
  std::string out;
  (AppendPiece(out, pieces), ...);
  return out;
}

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_STR_CAT_H_
