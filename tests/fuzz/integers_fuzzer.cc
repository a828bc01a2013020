// Fuzz target: the integer parsers of the library.
//  - ParsePodIndex (src/keys.h) accepts exactly the canonical decimals
//    0 ... 2^31-1 (no sign, no leading zero, digits only), and round-trips
//    with PodText both ways;
//  - ParseInt64 (src/memory/commands.h, the in-memory Redis) accepts
//    exactly what Redis's string2ll does: "0" or an optional '-' and a
//    digit 1-9 followed by digits, within 64 bits; and round-trips with
//    std::to_string.
// The input is the text; its first 4 and 8 bytes are also read as a pod and
// an int64 for the other direction of each round trip.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "keys.h"
#include "memory/commands.h"

namespace sfroute::fuzz {
namespace {

// The magnitude of "[-]digits" if it is one without a leading zero (but
// "0"), at most `limit`; else empty.
std::optional<std::uint64_t> ReferenceMagnitude(std::string_view digits, std::uint64_t limit) {
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0')) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (limit - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<PodIndex> ReferencePod(std::string_view text) {
  auto value = ReferenceMagnitude(text, std::numeric_limits<PodIndex>::max());
  if (!value.has_value()) return std::nullopt;
  return static_cast<PodIndex>(*value);
}

std::optional<std::int64_t> ReferenceInt64(std::string_view text) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (text.starts_with('-')) {
    const std::string_view digits = text.substr(1);
    if (digits.starts_with('0')) return std::nullopt;  // "-0", "-01"
    auto value = ReferenceMagnitude(digits, kMax + 1);
    if (!value.has_value()) return std::nullopt;
    return *value == kMax + 1 ? std::numeric_limits<std::int64_t>::min()
                              : -static_cast<std::int64_t>(*value);
  }
  auto value = ReferenceMagnitude(text, kMax);
  if (!value.has_value()) return std::nullopt;
  return static_cast<std::int64_t>(*value);
}

std::string Show(std::optional<std::int64_t> value) {
  return value.has_value() ? std::to_string(*value) : "(rejected)";
}

void CheckPodText(std::string_view text) {
  const std::optional<PodIndex> parsed = internal::ParsePodIndex(text);
  const std::optional<PodIndex> expected = ReferencePod(text);
  const std::string context =
      "ParsePodIndex(\"" + Escape(text) + "\") = " + Show(parsed) + ", expected " + Show(expected);
  FUZZ_CHECK(parsed == expected, context);
  if (parsed.has_value()) FUZZ_CHECK(internal::PodText(*parsed) == text, context);
}

void CheckPodValue(PodIndex pod) {
  const std::string text = internal::PodText(pod);
  const std::optional<PodIndex> parsed = internal::ParsePodIndex(text);
  const std::string context =
      "pod " + std::to_string(pod) + " -> \"" + text + "\" -> " + Show(parsed);
  FUZZ_CHECK(text == std::to_string(pod), context);
  // Negative pods are not pods: their text is not accepted.
  FUZZ_CHECK(pod >= 0 ? parsed == pod : !parsed.has_value(), context);
}

void CheckInt64Text(std::string_view text) {
  const std::optional<std::int64_t> parsed = internal::ParseInt64(text);
  const std::optional<std::int64_t> expected = ReferenceInt64(text);
  const std::string context =
      "ParseInt64(\"" + Escape(text) + "\") = " + Show(parsed) + ", expected " + Show(expected);
  FUZZ_CHECK(parsed == expected, context);
  if (parsed.has_value()) FUZZ_CHECK(std::to_string(*parsed) == text, context);
}

void CheckInt64Value(std::int64_t value) {
  const std::string text = std::to_string(value);
  const std::optional<std::int64_t> parsed = internal::ParseInt64(text);
  FUZZ_CHECK(parsed == value, std::to_string(value) + " -> " + Show(parsed));
}

}  // namespace
}  // namespace sfroute::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sfroute::fuzz::CheckPodText(text);
  sfroute::fuzz::CheckInt64Text(text);
  if (size >= sizeof(std::int32_t)) {
    std::int32_t pod = 0;
    std::memcpy(&pod, data, sizeof pod);
    sfroute::fuzz::CheckPodValue(pod);
  }
  if (size >= sizeof(std::int64_t)) {
    std::int64_t value = 0;
    std::memcpy(&value, data, sizeof value);
    sfroute::fuzz::CheckInt64Value(value);
  }
  return 0;
}
