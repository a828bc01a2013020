// StrCat for std::string_view. (Debian's abseil is built with its own
// absl::string_view, which std::string_view does not convert to, so
// absl::StrCat cannot take the std::string_view used throughout sfroute.)
#ifndef SFROUTE_SRC_STR_CAT_H_
#define SFROUTE_SRC_STR_CAT_H_

#include <array>
#include <charconv>
#include <concepts>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace sfroute::internal {

// One piece as text: strings as they are, integers in decimal.
class Piece {
 public:
  Piece(std::string_view text) : text_(text) {}    // NOLINT: implicit on purpose
  Piece(const std::string& text) : text_(text) {}  // NOLINT
  Piece(const char* text) : text_(text) {}         // NOLINT
  // absl::Status::message() is an absl::string_view.
  template <typename View>
  requires std::same_as<View, absl::string_view> Piece(const View& text)
      : text_(text.data(), text.size()) {}  // NOLINT
  template <std::integral Number>
  requires(!std::same_as<Number, bool> && !std::same_as<Number, char>)
      Piece(Number number) {  // NOLINT
    const auto end = std::to_chars(digits_, digits_ + sizeof digits_, number).ptr;
    text_ = std::string_view(digits_, static_cast<std::size_t>(end - digits_));
  }
  Piece(const Piece&) = delete;
  Piece& operator=(const Piece&) = delete;

  std::string_view text() const { return text_; }

 private:
  char digits_[24];
  std::string_view text_;
};

// The pieces one after the other, in one allocation.
template <typename... Pieces>
std::string StrCat(const Pieces&... pieces) {
  return [](const auto&... piece) {
    std::string out;
    out.reserve((piece.text().size() + ... + 0));
    (out.append(piece.text()), ...);
    return out;
  }(Piece(pieces)...);
}

// Text kept in place when short, on the heap only when long: what every
// call builds and almost never reads (the "Operation(key)" its error
// messages start with) costs no allocation in the common case.
class ShortText {
 public:
  static constexpr std::size_t kInline = 80;

  ShortText() = default;
  ShortText(std::string text) {  // NOLINT: implicit on purpose
    if (text.size() > kInline) {
      heap_.swap(text);
      return;
    }
    Append(text);
  }
  // The pieces one after the other, as StrCat.
  template <typename... Pieces>
  static ShortText Cat(const Pieces&... pieces) {
    return [](const auto&... piece) {
      if ((piece.text().size() + ... + 0) > kInline) return ShortText(StrCat(piece.text()...));
      ShortText out;
      (out.Append(piece.text()), ...);
      return out;
    }(Piece(pieces)...);
  }

  std::string_view view() const {
    return heap_.empty() ? std::string_view(inline_.data(), size_) : std::string_view(heap_);
  }
  operator std::string_view() const { return view(); }  // NOLINT: implicit on purpose

 private:
  void Append(std::string_view text) {  // fits: the callers checked
    std::memcpy(inline_.data() + size_, text.data(), text.size());
    size_ += text.size();
  }

  std::array<char, kInline> inline_;
  std::size_t size_ = 0;  // of inline_
  std::string heap_;      // the text when longer than kInline; empty otherwise
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_STR_CAT_H_
