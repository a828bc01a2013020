#include "cluster/batch_plan.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "cluster/slot.h"
#include "redis/resp.h"

namespace sfroute::internal {
namespace {

// The slot of keys one after the other, and whether they all share it.
// Keys that share a hash tag (those of a link script) are hashed once.
class SharedSlot {
 public:
  // False when `key` is in another slot than the keys before it.
  bool Add(std::string_view key) {
    const std::string_view tag = HashTag(key);
    if (slot_ >= 0 && tag == tag_) return true;
    const int slot = TagSlot(tag);
    if (slot_ >= 0 && slot != slot_) return false;
    slot_ = slot;
    tag_ = tag;
    return true;
  }
  int slot() const { return slot_; }  // -1: no key yet

 private:
  int slot_ = -1;
  std::string_view tag_;  // the hashed part of a key of slot_
};

// One MGET per slot of its keys, in the order the slots first appear.
// `slots` holds the slot of each key.
void SplitMget(const Command& mget, absl::Span<const int> slots, std::size_t origin,
               BatchPlan& plan) {
  const std::size_t first_part = plan.parts.size();
  absl::flat_hash_map<int, std::size_t> part_of_slot;  // slot -> index into plan.parts
  part_of_slot.reserve(slots.size());
  absl::InlinedVector<std::size_t, 16> part_of_key;
  for (const int slot : slots) {
    auto [it, inserted] = part_of_slot.try_emplace(slot, plan.parts.size());
    if (inserted) plan.parts.push_back(BatchPart{&mget, slot, origin, 0, 0});
    ++plan.parts[it->second].keys;
    part_of_key.push_back(it->second);
  }
  // The parts' keys one part after the other.
  auto next = static_cast<std::uint32_t>(plan.split_positions.size());
  for (std::size_t part = first_part; part < plan.parts.size(); ++part) {
    plan.parts[part].first_key = next;
    next += plan.parts[part].keys;
    plan.parts[part].keys = 0;  // counted again as they are placed
  }
  plan.split_positions.resize(next);
  for (std::size_t key = 0; key < slots.size(); ++key) {
    BatchPart& part = plan.parts[part_of_key[key]];
    plan.split_positions[part.first_key + part.keys++] = key;
  }
}

}  // namespace

BatchPlan PlanBatch(const std::vector<Command>& commands) {
  BatchPlan plan;
  plan.parts.reserve(commands.size());
  absl::InlinedVector<int, 16> slots;  // of a split MGET's keys
  for (std::size_t origin = 0; origin < commands.size(); ++origin) {
    const Command& command = commands[origin];
    const KeyRange keys = Keys(command);
    SharedSlot shared;
    bool one_slot = true;
    for (std::size_t position = keys.first; position < keys.end() && one_slot; ++position) {
      one_slot = shared.Add(command.args[position]);
    }
    // Only MGET is split: the keys of a script must share a slot, and the
    // node says so (CROSSSLOT) if they do not.
    if (!one_slot && keys.separable) {
      slots.clear();
      for (std::size_t position = keys.first; position < keys.end(); ++position) {
        slots.push_back(KeySlot(command.args[position]));
      }
      if (!plan.split()) plan.split_keys.assign(commands.size(), 0);
      plan.split_keys[origin] = keys.count;
      if (!plan.anchor) plan.anchor = plan.parts.size();
      SplitMget(command, slots, origin, plan);
      continue;
    }
    if (shared.slot() >= 0 && !plan.anchor) plan.anchor = plan.parts.size();
    plan.parts.push_back(BatchPart{&command, shared.slot(), origin, 0, 0});
  }
  return plan;
}

void AppendSplitPart(const BatchPlan& plan, const BatchPart& part, std::string& out) {
  const Command& command = *part.command;
  AppendArrayHeader(part.keys + 1, out);
  AppendArgument(command.args[0], out);
  for (const std::size_t key : Positions(plan, part)) AppendArgument(command.args[key + 1], out);
}

int OneSlot(const std::vector<Command>& commands) {
  SharedSlot shared;
  for (const Command& command : commands) {
    const KeyRange keys = Keys(command);
    for (std::size_t position = keys.first; position < keys.end(); ++position) {
      if (!shared.Add(command.args[position])) return -1;
    }
  }
  return shared.slot();
}

std::vector<Reply> MergeReplies(const BatchPlan& plan, std::vector<Reply> part_replies) {
  if (!plan.split()) return part_replies;  // a part per command, in order
  std::vector<Reply> replies(plan.split_keys.size());
  std::vector<bool> failed(plan.split_keys.size(), false);
  for (std::size_t i = 0; i < plan.parts.size(); ++i) {
    const BatchPart& part = plan.parts[i];
    Reply& reply = part_replies[i];
    const std::size_t keys = plan.split_keys[part.origin];
    if (keys == 0) {
      replies[part.origin] = std::move(reply);
      continue;
    }
    Reply& merged = replies[part.origin];
    if (failed[part.origin]) continue;
    const absl::Span<const std::size_t> positions = Positions(plan, part);
    if (reply.type != Reply::Type::kArray || reply.elements.size() != positions.size()) {
      merged = std::move(reply);
      failed[part.origin] = true;
      continue;
    }
    if (merged.type != Reply::Type::kArray) merged = Reply::Array(std::vector<Reply>(keys));
    for (std::size_t k = 0; k < positions.size(); ++k) {
      merged.elements[positions[k]] = std::move(reply.elements[k]);
    }
  }
  return replies;
}

}  // namespace sfroute::internal
