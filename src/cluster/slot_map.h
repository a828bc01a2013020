// The slot map of a Redis Cluster (which primary serves each slot), parsed
// from CLUSTER SLOTS, and the redirects (MOVED, ASK) that correct it.
#ifndef SFROUTE_SRC_CLUSTER_SLOT_MAP_H_
#define SFROUTE_SRC_CLUSTER_SLOT_MAP_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cluster/slot.h"
#include "redis_url.h"
#include "reply.h"

namespace sfroute::internal {

// Immutable once built; shared between threads through shared_ptr<const>.
class SlotMap {
 public:
  // Parses a CLUSTER SLOTS reply. `asked` is the node that answered: a
  // node listed without an address ("" or "?") is that node.
  static absl::StatusOr<SlotMap> FromClusterSlots(const Reply& reply, const HostPort& asked);

  // The index in primaries() of the primary that serves `slot`, or -1 when
  // no node does.
  int OwnerIndex(int slot) const { return slot < 0 || slot >= kClusterSlots ? -1 : owner_[slot]; }

  // Every primary of the map, in the order CLUSTER SLOTS listed them.
  const std::vector<HostPort>& primaries() const { return primaries_; }

 private:
  SlotMap();
  std::vector<HostPort> primaries_;
  std::vector<std::int16_t> owner_;  // slot -> index into primaries_, -1: none
};

// A MOVED or ASK error reply: "MOVED 3999 127.0.0.1:6381".
struct Redirect {
  enum class Kind { kMoved, kAsk };
  Kind kind;
  int slot;
  HostPort target;
};

// nullopt when `error` is not a well-formed MOVED or ASK. An empty host in
// the target means the host of `replier`, the node that sent it.
std::optional<Redirect> ParseRedirect(std::string_view error, const HostPort& replier);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_CLUSTER_SLOT_MAP_H_
