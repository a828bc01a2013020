#include "cluster/batch_plan.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "cluster/slot.h"
#include "redis/resp.h"

namespace sfroute::internal {
namespace {

// One MGET per slot of its keys, in the order the slots first appear.
// `slots` holds the slot of each key.
void SplitMget(const Command& mget, absl::Span<const int> slots, std::size_t origin,
               BatchPlan& plan) {
  absl::flat_hash_map<int, std::size_t> part_of_slot;  // slot -> index into plan.parts
  part_of_slot.reserve(slots.size());
  for (std::size_t key = 0; key < slots.size(); ++key) {
    auto [it, inserted] = part_of_slot.try_emplace(slots[key], plan.parts.size());
    if (inserted) plan.parts.push_back(BatchPart{&mget, slots[key], origin, {}});
    plan.parts[it->second].positions.push_back(key);
  }
}

}  // namespace

BatchPlan PlanBatch(const std::vector<Command>& commands) {
  BatchPlan plan;
  plan.parts.reserve(commands.size());
  plan.split_keys.assign(commands.size(), 0);
  absl::InlinedVector<int, 16> slots;  // of the command's keys
  for (std::size_t origin = 0; origin < commands.size(); ++origin) {
    const Command& command = commands[origin];
    const KeyRange keys = Keys(command);
    slots.clear();
    bool one_slot = true;
    std::string_view last_tag;  // the keys of a link script share theirs: hashed once
    for (std::size_t position = keys.first; position < keys.end(); ++position) {
      const std::string_view tag = HashTag(command.args[position]);
      slots.push_back(!slots.empty() && tag == last_tag ? slots.back() : TagSlot(tag));
      last_tag = tag;
      one_slot = one_slot && slots.back() == slots.front();
    }
    const int slot = keys.count == 0 ? -1 : slots.front();
    // Only MGET is split: the keys of a script must share a slot, and the
    // node says so (CROSSSLOT) if they do not.
    if (!one_slot && keys.separable) {
      plan.split = true;
      plan.split_keys[origin] = keys.count;
      if (!plan.anchor) plan.anchor = plan.parts.size();
      SplitMget(command, slots, origin, plan);
      continue;
    }
    if (slot >= 0 && !plan.anchor) plan.anchor = plan.parts.size();
    plan.parts.push_back(BatchPart{&command, slot, origin, {}});
  }
  return plan;
}

void AppendPart(const BatchPart& part, std::string& out) {
  const Command& command = *part.command;
  if (part.positions.empty()) {
    AppendCommand(command, out);
    return;
  }
  AppendArrayHeader(part.positions.size() + 1, out);
  AppendArgument(command.args[0], out);
  for (const std::size_t key : part.positions) AppendArgument(command.args[key + 1], out);
}

int OneSlot(const std::vector<Command>& commands) {
  int slot = -1;
  std::string_view slot_tag;  // the hashed part of a key of `slot`
  for (const Command& command : commands) {
    const KeyRange keys = Keys(command);
    for (std::size_t position = keys.first; position < keys.end(); ++position) {
      // The keys of a link script share their tag: hashed once.
      const std::string_view tag = HashTag(command.args[position]);
      if (slot >= 0 && tag == slot_tag) continue;
      const int key_slot = TagSlot(tag);
      if (slot >= 0 && key_slot != slot) return -1;
      slot = key_slot;
      slot_tag = tag;
    }
  }
  return slot;
}

std::vector<Reply> MergeReplies(const BatchPlan& plan, std::vector<Reply> part_replies) {
  if (!plan.split) return part_replies;  // a part per command, in order
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
    if (reply.type != Reply::Type::kArray || reply.elements.size() != part.positions.size()) {
      merged = std::move(reply);
      failed[part.origin] = true;
      continue;
    }
    if (merged.type != Reply::Type::kArray) merged = Reply::Array(std::vector<Reply>(keys));
    for (std::size_t k = 0; k < part.positions.size(); ++k) {
      merged.elements[part.positions[k]] = std::move(reply.elements[k]);
    }
  }
  return replies;
}

}  // namespace sfroute::internal
