// The value of a Redis hash, kept in the order Redis keeps it.
#ifndef SFROUTE_SRC_MEMORY_HASH_VALUE_H_
#define SFROUTE_SRC_MEMORY_HASH_VALUE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "memory/string_hash.h"

namespace sfroute::internal {

// Not thread-safe. Like Redis, a small hash is a list in insertion order (so
// HGETALL answers in the same order as a real server), and a big one (more
// than 128 fields, or a field or value longer than 64 bytes: Redis's default
// hash-max-listpack-* settings) becomes a hash table of no particular order.
class HashValue {
 public:
  // nullptr when there is no such field.
  const std::string* Find(std::string_view field) const;
  // Returns true if the field is new.
  bool Set(std::string_view field, std::string_view value);
  // Returns true if the field was there.
  bool Erase(std::string_view field);
  std::size_t size() const { return is_table_ ? table_.size() : list_.size(); }
  bool empty() const { return size() == 0; }

  // Calls visit(field, value) for every field.
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    if (is_table_) {
      for (const auto& [field, value] : table_) visit(field, value);
    } else {
      for (const auto& [field, value] : list_) visit(field, value);
    }
  }

 private:
  void ConvertToTable();

  bool is_table_ = false;
  std::vector<std::pair<std::string, std::string>> list_;
  std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> table_;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_MEMORY_HASH_VALUE_H_
