#include "cluster/batch_plan.h"

#include <strings.h>

#include <map>
#include <utility>

#include "cluster/slot.h"

namespace sfroute::internal {
namespace {

// One MGET per slot, in the order the slots first appear.
void SplitMget(const Command& mget, std::size_t origin, BatchPlan& plan) {
  std::map<int, std::size_t> part_of_slot;  // slot -> index into plan.parts
  for (std::size_t i = 1; i < mget.args.size(); ++i) {
    const int slot = KeySlot(mget.args[i]);
    auto [it, inserted] = part_of_slot.emplace(slot, plan.parts.size());
    if (inserted) plan.parts.push_back(BatchPart{Command{{mget.args[0]}}, slot, origin, {}});
    BatchPart& part = plan.parts[it->second];
    part.command.args.push_back(mget.args[i]);
    part.positions.push_back(i - 1);
  }
}

}  // namespace

BatchPlan PlanBatch(const std::vector<Command>& commands) {
  BatchPlan plan;
  plan.split_keys.assign(commands.size(), 0);
  for (std::size_t origin = 0; origin < commands.size(); ++origin) {
    const Command& command = commands[origin];
    const auto keys = KeyPositions(command);
    const int slot = keys.empty() ? -1 : KeySlot(command.args[keys.front()]);
    bool one_slot = true;
    for (std::size_t i = 1; i < keys.size() && one_slot; ++i) {
      one_slot = KeySlot(command.args[keys[i]]) == slot;
    }
    // Only MGET is split: the keys of a script must share a slot, and the
    // node says so (CROSSSLOT) if they do not.
    if (!one_slot && strcasecmp(command.args[0].c_str(), "MGET") == 0) {
      plan.split = true;
      plan.split_keys[origin] = keys.size();
      if (!plan.anchor) plan.anchor = plan.parts.size();
      SplitMget(command, origin, plan);
      continue;
    }
    if (slot >= 0 && !plan.anchor) plan.anchor = plan.parts.size();
    plan.parts.push_back(BatchPart{command, slot, origin, {}});
  }
  return plan;
}

int OneSlot(const std::vector<Command>& commands) {
  int slot = -1;
  std::string_view slot_tag;  // the hashed part of a key of `slot`
  for (const Command& command : commands) {
    for (const std::size_t position : KeyPositions(command)) {
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

std::vector<Reply> MergeReplies(const BatchPlan& plan,
                                absl::Span<std::optional<Reply>> part_replies) {
  if (!plan.split) {  // a part per command, in order
    std::vector<Reply> replies;
    replies.reserve(part_replies.size());
    for (auto& reply : part_replies) replies.push_back(*std::move(reply));
    return replies;
  }
  std::vector<Reply> replies(plan.split_keys.size());
  std::vector<bool> failed(plan.split_keys.size(), false);
  for (std::size_t i = 0; i < plan.parts.size(); ++i) {
    const BatchPart& part = plan.parts[i];
    Reply& reply = *part_replies[i];
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
