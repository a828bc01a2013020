// Key formatting and identifier validation: the wire format of SPEC.md §1.
// Pure functions, unit-tested without a server.
#ifndef SFROUTE_SRC_KEYS_H_
#define SFROUTE_SRC_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "sfroute/types.h"

namespace sfroute::internal {

// Each returns INVALID_ARGUMENT naming the field when the value breaks the
// rules of SPEC.md §1, else OK.
absl::Status ValidateNamespace(std::string_view ns);
absl::Status ValidateService(std::string_view svc);
absl::Status ValidateUid(std::string_view uid);
absl::Status ValidateState(std::string_view state);
absl::Status ValidatePod(PodIndex pod, std::string_view field = "pod");
absl::Status ValidateTtl(Ttl ttl);                    // -1 or > 0
absl::Status ValidateKeepSeconds(std::int64_t keep);  // >= -1

// sf:{<ns>:lk:<uid>}<svc>: the link of a uid to one service (string).
std::string LinkKey(std::string_view ns, std::string_view uid, std::string_view svc);
// sf:{<ns>:lk:<uid>}: the persistent links of a uid (hash svc -> pod).
std::string LinksHashKey(std::string_view ns, std::string_view uid);
// sf:{<ns>:state:<svc>}: the pod states of a service (hash pod -> state).
std::string StateKey(std::string_view ns, std::string_view svc);
// sf:{<ns>:workload:<svc>}: the workload state of a service (string).
std::string WorkloadKey(std::string_view ns, std::string_view svc);

// "", "null" and "nil" are written by other clients for "no value".
bool IsAbsentValue(std::string_view value);

// A canonical decimal pod index ("0", "17"; no sign, no leading zeros,
// at most 2^31-1), else empty.
std::optional<PodIndex> ParsePodIndex(std::string_view text);

// The decimal text of a pod index.
std::string PodText(PodIndex pod);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_KEYS_H_
