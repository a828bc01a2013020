// How a batch of commands is cut up for a cluster, and put back together:
// each command goes to the slot of its keys; an MGET whose keys live in
// several slots is split into one MGET per slot (a node refuses keys of
// different slots in one command, CROSSSLOT) and its replies are merged in
// the input order; keyless commands (WAIT) follow the batch's
// first keyed command, so that they run on the same connection as it.
#ifndef SFROUTE_SRC_CLUSTER_BATCH_PLAN_H_
#define SFROUTE_SRC_CLUSTER_BATCH_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "backend.h"
#include "redis/resp.h"
#include "reply.h"

namespace sfroute::internal {

// A command of the plan. It points into the planned commands (a call's
// batch, which outlives the call): no command is copied; AppendPart
// encodes it straight from there.
struct BatchPart {
  const Command* command = nullptr;  // the input command it is, or is cut from
  int slot = -1;                     // the slot of its keys; -1: keyless
  std::size_t origin = 0;            // index of the input command
  // A part of a split MGET: its keys are BatchPlan::split_positions
  // [first_key, first_key + keys). 0 keys: the whole command.
  std::uint32_t first_key = 0;
  std::uint32_t keys = 0;
};

struct BatchPlan {
  std::vector<BatchPart> parts;       // in input order
  std::optional<std::size_t> anchor;  // the first keyed part
  // Per input command: the number of keys of a split MGET, 0 if not split.
  // Empty when no MGET was split.
  std::vector<std::size_t> split_keys;
  // The keys of split MGETs' parts, as their positions among the input
  // MGET's keys (argument position + 1), part after part.
  std::vector<std::size_t> split_positions;
  // Some MGET was split: the parts are not the commands.
  bool split() const { return !split_keys.empty(); }
};

// The keys of a split MGET's part (see BatchPart::keys).
inline absl::Span<const std::size_t> Positions(const BatchPlan& plan, const BatchPart& part) {
  return absl::MakeConstSpan(plan.split_positions).subspan(part.first_key, part.keys);
}

// The plan points into `commands`: they must outlive it, unchanged.
BatchPlan PlanBatch(const std::vector<Command>& commands);

// Appends the plan's part's command to `out`, in RESP (a split MGET's part:
// AppendSplitPart).
void AppendSplitPart(const BatchPlan& plan, const BatchPart& part, std::string& out);
inline void AppendPart(const BatchPlan& plan, const BatchPart& part, std::string& out) {
  if (part.keys == 0) {
    AppendCommand(*part.command, out);
  } else {
    AppendSplitPart(plan, part, out);
  }
}

// The slot of every key of `commands` when they all share one (then the
// batch needs no plan: it goes to that slot's node as it is); -1 when
// their keys are in several slots or there is no key.
int OneSlot(const std::vector<Command>& commands);

// One reply per input command from one reply per part (`part_replies`
// itself when no MGET was split). A split MGET whose parts all answered
// arrays becomes one array; else its first part reply that is not an array
// (an error) stands for it.
std::vector<Reply> MergeReplies(const BatchPlan& plan, std::vector<Reply> part_replies);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_CLUSTER_BATCH_PLAN_H_
