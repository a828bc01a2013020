#include "keys.h"

#include <limits>

#include "str_cat.h"

namespace sfroute::internal {
namespace {

constexpr std::size_t kMaxNameBytes = 253;
constexpr std::size_t kMaxUidBytes = 512;
constexpr std::size_t kMaxStateBytes = 4096;

absl::Status Invalid(std::string_view field, std::string_view rule) {
  return absl::InvalidArgumentError(StrCat("invalid ", field, ": ", rule));
}

// ns and svc: printable ASCII without the characters that would make a key
// ambiguous ('{', '}' delimit the hash tag, ':' separates its parts).
absl::Status ValidateName(std::string_view field, std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return Invalid(field, StrCat("must be 1-", kMaxNameBytes, " bytes, got ", name.size()));
  }
  for (unsigned char c : name) {
    if (c < 0x21 || c > 0x7e || c == '{' || c == '}' || c == ':') {
      return Invalid(field, "must be printable ASCII (0x21-0x7E) without '{', '}' or ':'");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateNamespace(std::string_view ns) { return ValidateName("ns", ns); }

absl::Status ValidateService(std::string_view svc) { return ValidateName("svc", svc); }

absl::Status ValidateUid(std::string_view uid) {
  if (uid.empty() || uid.size() > kMaxUidBytes) {
    return Invalid("uid", StrCat("must be 1-", kMaxUidBytes, " bytes, got ", uid.size()));
  }
  for (unsigned char c : uid) {
    if (c == '{' || c == '}') return Invalid("uid", "must not contain '{' or '}'");
    if (c <= 0x20 || c == 0x7f) {
      return Invalid("uid", "must not contain spaces or ASCII control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateState(std::string_view state) {
  if (state.empty() || state.size() > kMaxStateBytes) {
    return Invalid("state", StrCat("must be 1-", kMaxStateBytes, " bytes, got ", state.size()));
  }
  return absl::OkStatus();
}

absl::Status ValidatePod(PodIndex pod, std::string_view field) {
  if (pod < 0) return Invalid(field, StrCat("must be 0 or more, got ", pod));
  return absl::OkStatus();
}

absl::Status ValidateTtl(Ttl ttl) {
  if (ttl.seconds() != -1 && (ttl.seconds() <= 0 || ttl.seconds() > Ttl::kMaxSeconds)) {
    return Invalid("ttl", StrCat("must be -1 (persistent) or seconds from 1 to ", Ttl::kMaxSeconds,
                                 ", got ", ttl.seconds()));
  }
  return absl::OkStatus();
}

absl::Status ValidateKeepSeconds(std::int64_t keep) {
  if (keep < -1 || keep > Ttl::kMaxSeconds) {
    return Invalid("keep", StrCat("must be -1, 0 (remove now) or seconds from 1 to ",
                                  Ttl::kMaxSeconds, ", got ", keep));
  }
  return absl::OkStatus();
}

std::string LinkKey(std::string_view ns, std::string_view uid, std::string_view svc) {
  return StrCat("sf:{", ns, ":lk:", uid, "}", svc);
}

std::string LinksHashKey(std::string_view ns, std::string_view uid) {
  return StrCat("sf:{", ns, ":lk:", uid, "}");
}

std::string StateKey(std::string_view ns, std::string_view svc) {
  return StrCat("sf:{", ns, ":state:", svc, "}");
}

std::string WorkloadKey(std::string_view ns, std::string_view svc) {
  return StrCat("sf:{", ns, ":workload:", svc, "}");
}

bool IsAbsentValue(std::string_view value) {
  return value.empty() || value == "null" || value == "nil";
}

std::optional<PodIndex> ParsePodIndex(std::string_view text) {
  if (text.empty() || text.size() > 10 || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > std::numeric_limits<PodIndex>::max()) return std::nullopt;
  return static_cast<PodIndex>(value);
}

std::string PodText(PodIndex pod) { return std::to_string(pod); }

}  // namespace sfroute::internal
