#include "memory/hash_value.h"

#include <algorithm>

namespace sfroute::internal {
namespace {

// Redis's defaults for hash-max-listpack-entries and -value.
constexpr std::size_t kMaxListEntries = 128;
constexpr std::size_t kMaxListValueBytes = 64;

}  // namespace

const std::string* HashValue::Find(std::string_view field) const {
  if (is_table_) {
    auto it = table_.find(field);
    return it == table_.end() ? nullptr : &it->second;
  }
  for (const auto& entry : list_) {
    if (entry.first == field) return &entry.second;
  }
  return nullptr;
}

bool HashValue::Set(std::string_view field, std::string_view value) {
  if (!is_table_ && (field.size() > kMaxListValueBytes || value.size() > kMaxListValueBytes)) {
    ConvertToTable();
  }
  if (is_table_) {
    auto it = table_.find(field);
    if (it != table_.end()) {
      it->second.assign(value);
      return false;
    }
    table_.emplace(std::string(field), std::string(value));
    return true;
  }
  for (auto& entry : list_) {
    if (entry.first == field) {
      entry.second.assign(value);
      return false;
    }
  }
  list_.emplace_back(std::string(field), std::string(value));
  if (list_.size() > kMaxListEntries) ConvertToTable();
  return true;
}

bool HashValue::Erase(std::string_view field) {
  if (is_table_) {
    auto it = table_.find(field);
    if (it == table_.end()) return false;
    table_.erase(it);
    return true;
  }
  auto it = std::find_if(list_.begin(), list_.end(),
                         [&](const auto& entry) { return entry.first == field; });
  if (it == list_.end()) return false;
  list_.erase(it);  // keeps the order, as a listpack does
  return true;
}

void HashValue::ConvertToTable() {
  table_.reserve(list_.size() + 1);
  for (auto& [field, value] : list_) table_.emplace(std::move(field), std::move(value));
  list_.clear();
  list_.shrink_to_fit();
  is_table_ = true;
}

}  // namespace sfroute::internal
