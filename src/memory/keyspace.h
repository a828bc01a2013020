// The keys of the in-memory Redis: strings and hashes, with deadlines.
#ifndef SFROUTE_SRC_MEMORY_KEYSPACE_H_
#define SFROUTE_SRC_MEMORY_KEYSPACE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "memory/hash_value.h"
#include "memory/string_hash.h"

namespace sfroute::internal {

struct Entry {
  std::variant<std::string, HashValue> value;
  std::optional<std::int64_t> expire_at_ms;  // none: the key is persistent
  // StringHash of the key, kept: SCAN orders keys by it on every page.
  std::uint64_t key_hash = 0;
};

// Not thread-safe. A key whose deadline is at or before now() does not
// exist: every lookup checks (lazy expiry, as Redis does), and
// PurgeExpired() drops the ones nobody looks at any more (Redis's active
// expiry), so memory does not grow with keys that expired long ago.
class Keyspace {
 public:
  // The time lookups compare deadlines with, in the Clock's milliseconds.
  void set_now(std::int64_t now_ms) { now_ms_ = now_ms; }
  std::int64_t now() const { return now_ms_; }

  // The live entry of `key`, or nullptr. Deletes the key if it has expired.
  Entry* Find(std::string_view key);
  // The live entry of `key`, created (holding `T`, persistent) if there is
  // none.
  template <typename T>
  Entry& FindOrCreate(std::string_view key) {
    if (Entry* entry = Find(key)) return *entry;
    return entries_.emplace(std::string(key), Entry{T{}, std::nullopt, StringHash{}(key)})
        .first->second;
  }
  // Returns true if the key existed (and had not expired).
  bool Erase(std::string_view key);

  // Gives `entry` (the entry of `key`) a deadline.
  void SetExpiry(std::string_view key, Entry& entry, std::int64_t at_ms);

  // Drops every key whose deadline has passed. Amortized O(1) per deadline
  // ever set.
  void PurgeExpired();
  // The number of keys, some of which may have expired: PurgeExpired() first
  // for the live count.
  std::size_t size() const { return entries_.size(); }
  void Clear();

  // Calls visit(key, entry) for every live key. visit must not add or
  // remove keys.
  template <typename Visit>
  void ForEachLive(Visit&& visit) const {
    for (const auto& [key, entry] : entries_) {
      if (!IsExpired(entry)) visit(key, entry);
    }
  }

 private:
  struct Deadline {
    std::int64_t at_ms;
    std::string key;
  };

  bool IsExpired(const Entry& entry) const {
    return entry.expire_at_ms.has_value() && *entry.expire_at_ms <= now_ms_;
  }
  void RebuildDeadlines();

  std::int64_t now_ms_ = 0;
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries_;
  // A min-heap of every deadline set, including ones made stale by a later
  // SET, EXPIRE or PERSIST: a stale one is recognized and skipped when popped.
  std::vector<Deadline> deadlines_;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_MEMORY_KEYSPACE_H_
