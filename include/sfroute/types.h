// Value types of the sfroute API: pod indices, TTLs and operation results.
#ifndef SFROUTE_TYPES_H_
#define SFROUTE_TYPES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sfroute {

// Index of a pod within a service: 0 ... 2^31-1. Pod 0 is a real pod; "no pod"
// is always an empty std::optional, never a magic number.
using PodIndex = std::int32_t;

// Lifetime of a link. Persistent links have no TTL in Redis and are also
// recorded in the uid's links hash; temporary ones expire after `seconds`.
// Valid values are Persistent() and Seconds(n) with 0 < n <= kMaxSeconds;
// anything else is rejected with INVALID_ARGUMENT (field "ttl") before any
// I/O.
class Ttl {
 public:
  // 100 years of 365 days: the longest TTL (and remove grace period) taken.
  // Redis itself refuses TTLs whose expiry in milliseconds passes 2^63; a
  // bound well below that, and the same for every writer, is easier to
  // state.
  static constexpr std::int64_t kMaxSeconds = 3'153'600'000;

  static constexpr Ttl Persistent() { return Ttl(-1); }
  static constexpr Ttl Seconds(std::int64_t seconds) { return Ttl(seconds); }

  // -1 for persistent, else the number of seconds (the wire value).
  constexpr std::int64_t seconds() const { return seconds_; }
  constexpr bool is_persistent() const { return seconds_ == -1; }
  constexpr bool operator==(const Ttl&) const = default;

 private:
  constexpr explicit Ttl(std::int64_t seconds) : seconds_(seconds) {}
  std::int64_t seconds_;
};

// Result of TrySetLinkedPod.
struct TrySetResult {
  bool applied = false;              // the link now points at the asked pod
  PodIndex pod = 0;                  // the pod linked after the call
  std::optional<PodIndex> previous;  // the pod linked before the call
  bool operator==(const TrySetResult&) const = default;
};

// Result of MoveTemporaryLinkedPod: what is linked after the call.
struct MoveResult {
  bool moved = false;           // the link was moved to the asked pod
  std::optional<PodIndex> pod;  // the pod linked after the call; none: no link
  bool persistent = false;      // that link is persistent
  bool operator==(const MoveResult&) const = default;
};

// One link found by Executor::ScanLinks.
struct LinkInfo {
  std::string uid;
  PodIndex pod = 0;
  Ttl ttl = Ttl::Persistent();  // Persistent(), or the whole seconds left (rounded up)
  bool operator==(const LinkInfo&) const = default;
};

// One link of SetLinkedPods.
struct UidPod {
  std::string uid;
  PodIndex pod = 0;
};

// pod -> state string, as reported by the pods of one service.
using PodStates = std::map<PodIndex, std::string>;
// service -> its pod states.
using ServicePodStates = std::map<std::string, PodStates>;
// pod -> uids linked to it, in the order the uids were asked for.
using PodUids = std::map<PodIndex, std::vector<std::string>>;
// service -> pod, the persistent links of one uid.
using ServicePods = std::map<std::string, PodIndex>;
// service -> workload state.
using WorkloadStates = std::map<std::string, std::string>;

}  // namespace sfroute

#endif  // SFROUTE_TYPES_H_
