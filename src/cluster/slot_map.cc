#include "cluster/slot_map.h"

#include <charconv>
#include <string>

#include "cluster/slot.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

bool ParseInt(std::string_view text, int min, int max, int* out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return error == std::errc() && end == text.data() + text.size() && *out >= min && *out <= max;
}

// [host, port, id, ...]: the first node of a CLUSTER SLOTS range entry.
std::optional<HostPort> NodeOf(const Reply& node, const HostPort& asked) {
  if (node.type != Reply::Type::kArray || node.elements.size() < 2 ||
      node.elements[1].type != Reply::Type::kInteger) {
    return std::nullopt;
  }
  HostPort address;
  const Reply& host = node.elements[0];
  address.host = host.type == Reply::Type::kString ? host.str : "";
  // Redis 7 sends "?" (or "") when the node does not know its own address.
  if (address.host.empty() || address.host == "?") address.host = asked.host;
  address.port = static_cast<int>(node.elements[1].integer);
  if (address.port <= 0 || address.port > 65535) return std::nullopt;
  return address;
}

}  // namespace

SlotMap::SlotMap() : owner_(kClusterSlots, -1) {}

absl::StatusOr<SlotMap> SlotMap::FromClusterSlots(const Reply& reply, const HostPort& asked) {
  const std::string context = StrCat("CLUSTER SLOTS from ", asked.Address());
  if (reply.type != Reply::Type::kArray) return UnexpectedReply(context, reply);
  SlotMap map;
  for (const Reply& range : reply.elements) {
    if (range.type != Reply::Type::kArray || range.elements.size() < 3 ||
        range.elements[0].type != Reply::Type::kInteger ||
        range.elements[1].type != Reply::Type::kInteger) {
      return UnexpectedReply(context, range);
    }
    const std::int64_t first = range.elements[0].integer;
    const std::int64_t last = range.elements[1].integer;
    std::optional<HostPort> primary = NodeOf(range.elements[2], asked);
    if (first < 0 || last >= kClusterSlots || first > last || !primary) {
      return absl::InternalError(StrCat(context, ": malformed slot range"));
    }
    std::size_t index = 0;
    while (index < map.primaries_.size() && !(map.primaries_[index] == *primary)) ++index;
    if (index == map.primaries_.size()) map.primaries_.push_back(*std::move(primary));
    for (std::int64_t slot = first; slot <= last; ++slot) {
      map.owner_[slot] = static_cast<std::int16_t>(index);
    }
  }
  if (map.primaries_.empty()) {
    return absl::UnavailableError(StrCat(context, ": no slot is served (cluster not set up?)"));
  }
  return map;
}

std::optional<Redirect> ParseRedirect(std::string_view error, const HostPort& replier) {
  Redirect redirect{};
  if (error.starts_with("MOVED ")) {
    redirect.kind = Redirect::Kind::kMoved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    redirect.kind = Redirect::Kind::kAsk;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const std::size_t space = error.find(' ');
  if (space == std::string_view::npos ||
      !ParseInt(error.substr(0, space), 0, kClusterSlots - 1, &redirect.slot)) {
    return std::nullopt;
  }
  const std::string_view address = error.substr(space + 1);
  const std::size_t colon = address.rfind(':');  // an IPv6 host has colons too
  if (colon == std::string_view::npos ||
      !ParseInt(address.substr(colon + 1), 1, 65535, &redirect.target.port)) {
    return std::nullopt;
  }
  redirect.target.host = std::string(address.substr(0, colon));
  if (redirect.target.host.empty()) redirect.target.host = replier.host;
  return redirect;
}

}  // namespace sfroute::internal
