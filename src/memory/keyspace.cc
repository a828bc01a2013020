#include "memory/keyspace.h"

#include <algorithm>
#include <utility>

namespace sfroute::internal {
namespace {

// Orders the heap so that the earliest deadline is on top.
struct Later {
  template <typename Deadline>
  bool operator()(const Deadline& a, const Deadline& b) const {
    return a.at_ms > b.at_ms;
  }
};

// Stale deadlines may pile up (a key whose TTL is refreshed again and again
// before it expires); past this many per key the heap is rebuilt.
constexpr std::size_t kStaleDeadlineSlack = 1024;

}  // namespace

Entry* Keyspace::Find(std::string_view key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (IsExpired(it->second)) {
    entries_.erase(it);
    return nullptr;
  }
  return &it->second;
}

bool Keyspace::Erase(std::string_view key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  const bool live = !IsExpired(it->second);
  entries_.erase(it);
  return live;
}

void Keyspace::SetExpiry(std::string_view key, Entry& entry, std::int64_t at_ms) {
  entry.expire_at_ms = at_ms;
  deadlines_.push_back(Deadline{at_ms, std::string(key)});
  std::push_heap(deadlines_.begin(), deadlines_.end(), Later());
  if (deadlines_.size() > 2 * entries_.size() + kStaleDeadlineSlack) RebuildDeadlines();
}

void Keyspace::PurgeExpired() {
  while (!deadlines_.empty() && deadlines_.front().at_ms <= now_ms_) {
    std::pop_heap(deadlines_.begin(), deadlines_.end(), Later());
    auto it = entries_.find(deadlines_.back().key);
    if (it != entries_.end() && IsExpired(it->second)) entries_.erase(it);
    deadlines_.pop_back();
  }
}

void Keyspace::Clear() {
  entries_.clear();
  deadlines_.clear();
}

// Keeps only the current deadlines; O(keys), paid for by the many stale
// deadlines pushed since the last rebuild.
void Keyspace::RebuildDeadlines() {
  deadlines_.clear();
  for (const auto& [key, entry] : entries_) {
    if (entry.expire_at_ms.has_value()) deadlines_.push_back(Deadline{*entry.expire_at_ms, key});
  }
  std::make_heap(deadlines_.begin(), deadlines_.end(), Later());
}

}  // namespace sfroute::internal
