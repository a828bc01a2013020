#include "cluster/slot.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string>
#include <utility>

namespace sfroute::internal {
namespace {

// kCrc16Tables[k][byte]: the CRC of `byte` followed by k zero bytes. The
// CRC is linear, so n bytes are hashed with n lookups that do not wait on
// each other ("slicing by n"), instead of a chain of n: a key's hash tag
// (ns:lk:uid, some 20 bytes) in two steps.
constexpr std::size_t kSlice = 16;
using Crc16Tables = std::array<std::array<std::uint16_t, 256>, kSlice>;

constexpr Crc16Tables MakeCrc16Tables() {
  Crc16Tables tables{};
  for (int byte = 0; byte < 256; ++byte) {
    std::uint16_t crc = static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<std::uint16_t>(crc << 1);
    }
    tables[0][byte] = crc;
  }
  for (std::size_t k = 1; k < tables.size(); ++k) {
    for (int byte = 0; byte < 256; ++byte) {
      const std::uint16_t previous = tables[k - 1][byte];
      tables[k][byte] = static_cast<std::uint16_t>((previous << 8) ^ tables[0][previous >> 8]);
    }
  }
  return tables;
}

constexpr Crc16Tables kCrc16Tables = MakeCrc16Tables();

// The lookups of a full step's bytes after its first two, unrolled: byte
// 2 + i goes through table kSlice - 3 - i.
constexpr auto kSliceRest = std::make_index_sequence<kSlice - 2>();
template <std::size_t... I>
unsigned SliceRest(const unsigned char* bytes, std::index_sequence<I...>) {
  return (0u ^ ... ^ kCrc16Tables[kSlice - 3 - I][bytes[2 + I]]);
}

// Where a command's keys are, by its name in upper case.
enum class KeysAt { kFirst, kAllButName, kAfterNumkeys };
struct KnownCommand {
  std::string_view name;
  KeysAt keys;
};
// The commands sfroute sends (the most sent first), and the few a test or
// tool may add.
constexpr KnownCommand kKnownCommands[] = {
    {"GET", KeysAt::kFirst},       {"EVALSHA", KeysAt::kAfterNumkeys},
    {"HGETALL", KeysAt::kFirst},   {"HSET", KeysAt::kFirst},
    {"MGET", KeysAt::kAllButName}, {"EVAL", KeysAt::kAfterNumkeys},
    {"SET", KeysAt::kFirst},       {"HDEL", KeysAt::kFirst},
    {"HGET", KeysAt::kFirst},      {"EXPIRE", KeysAt::kFirst},
    {"TTL", KeysAt::kFirst},       {"PTTL", KeysAt::kFirst},
    {"DEL", KeysAt::kFirst},       {"EXISTS", KeysAt::kFirst},
    {"TYPE", KeysAt::kFirst},      {"PERSIST", KeysAt::kFirst}};
constexpr std::size_t kLongestKnownName = [] {
  std::size_t longest = 0;
  for (const KnownCommand& known : kKnownCommands) longest = std::max(longest, known.name.size());
  return longest;
}();

// The known command `name` is, in any case (command names are
// case-blind); null when it is none of them.
const KnownCommand* Known(std::string_view name) {
  // As sfroute spells them: no case folding.
  for (const KnownCommand& known : kKnownCommands) {
    if (known.name == name) return &known;
  }
  if (name.size() > kLongestKnownName) return nullptr;
  char upper[kLongestKnownName];
  for (std::size_t i = 0; i < name.size(); ++i) {
    // ASCII only, as Redis compares command names (no locale call).
    const char c = name[i];
    upper[i] = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  }
  const std::string_view upper_name(upper, name.size());
  for (const KnownCommand& known : kKnownCommands) {
    if (known.name == upper_name) return &known;
  }
  return nullptr;
}

}  // namespace

std::uint16_t Crc16(std::string_view data) {
  const auto& t = kCrc16Tables;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t size = data.size();
  std::uint16_t crc = 0;
  // A step hashes n >= 2 bytes: the running CRC folds into the first two.
  const auto fold = [&](std::size_t n) {
    return t[n - 1][(crc >> 8) ^ bytes[0]] ^ t[n - 2][(crc & 0xff) ^ bytes[1]];
  };
  for (; size >= kSlice; bytes += kSlice, size -= kSlice) {
    crc = static_cast<std::uint16_t>(fold(kSlice) ^ SliceRest(bytes, kSliceRest));
  }
  if (size >= 2) {
    unsigned next = fold(size);
    for (std::size_t i = 2; i < size; ++i) next ^= t[size - 1 - i][bytes[i]];
    crc = static_cast<std::uint16_t>(next);
  } else if (size == 1) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ t[0][(crc >> 8) ^ bytes[0]]);
  }
  return crc;
}

std::string_view HashTag(std::string_view key) {
  // The '{' is a few bytes in (sfroute's keys start "sf:{"): looked for
  // in place; the '}' by memchr (string_view::find wraps it in as many
  // instructions again, on every key of a batch).
  std::size_t open = 0;
  while (open < key.size() && key[open] != '{') ++open;
  if (open == key.size()) return key;
  const char* const tag = key.data() + open + 1;
  const auto* close = static_cast<const char*>(std::memchr(tag, '}', key.size() - open - 1));
  // "{}" (an empty tag) or no '}' at all: the whole key is hashed.
  if (close == nullptr || close == tag) return key;
  return std::string_view(tag, close - tag);
}

int TagSlot(std::string_view tag) { return Crc16(tag) % kClusterSlots; }

int KeySlot(std::string_view key) { return TagSlot(HashTag(key)); }

KeyRange KeysByName(const Command& command) {
  const KnownCommand* known = command.args.empty() ? nullptr : Known(command.args[0]);
  if (known == nullptr) return KeyRange{};
  const std::size_t size = command.args.size();
  switch (known->keys) {
    case KeysAt::kFirst:
      return size > 1 ? KeyRange{1, 1} : KeyRange{};
    case KeysAt::kAllButName:
      return KeyRange{1, static_cast<std::uint32_t>(size - 1), /*separable=*/true};
    case KeysAt::kAfterNumkeys: {
      if (size < 3) return KeyRange{};
      const std::string& text = command.args[2];
      std::uint32_t numkeys = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), numkeys);
      if (error != std::errc() || end != text.data() + text.size() ||
          3 + std::size_t{numkeys} > size) {
        return KeyRange{};
      }
      return KeyRange{3, numkeys};
    }
  }
  return KeyRange{};
}

}  // namespace sfroute::internal
