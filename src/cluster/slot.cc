#include "cluster/slot.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

namespace sfroute::internal {
namespace {

// kCrc16Tables[k][byte]: the CRC of `byte` followed by k zero bytes. The
// CRC is linear, so eight bytes are hashed with eight lookups that do not
// wait on each other ("slicing by 8"), instead of a chain of eight.
using Crc16Tables = std::array<std::array<std::uint16_t, 256>, 8>;

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
  for (; size >= 8; bytes += 8, size -= 8) {
    // The running CRC folds into the first two bytes.
    crc = static_cast<std::uint16_t>(t[7][(crc >> 8) ^ bytes[0]] ^ t[6][(crc & 0xff) ^ bytes[1]] ^
                                     t[5][bytes[2]] ^ t[4][bytes[3]] ^ t[3][bytes[4]] ^
                                     t[2][bytes[5]] ^ t[1][bytes[6]] ^ t[0][bytes[7]]);
  }
  for (; size > 0; ++bytes, --size) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ t[0][(crc >> 8) ^ *bytes]);
  }
  return crc;
}

std::string_view HashTag(std::string_view key) {
  const std::size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const std::size_t close = key.find('}', open + 1);
  // "{}" (an empty tag) or no '}' at all: the whole key is hashed.
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

int TagSlot(std::string_view tag) { return Crc16(tag) % kClusterSlots; }

int KeySlot(std::string_view key) { return TagSlot(HashTag(key)); }

KeyRange Keys(const Command& command) {
  const KnownCommand* known = command.args.empty() ? nullptr : Known(command.args[0]);
  if (known == nullptr) return KeyRange{};
  const std::size_t size = command.args.size();
  switch (known->keys) {
    case KeysAt::kFirst:
      return size > 1 ? KeyRange{1, 1} : KeyRange{};
    case KeysAt::kAllButName:
      return KeyRange{1, size - 1, /*separable=*/true};
    case KeysAt::kAfterNumkeys: {
      if (size < 3) return KeyRange{};
      const std::string& text = command.args[2];
      std::size_t numkeys = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), numkeys);
      if (error != std::errc() || end != text.data() + text.size() || 3 + numkeys > size) {
        return KeyRange{};
      }
      return KeyRange{3, numkeys};
    }
  }
  return KeyRange{};
}

}  // namespace sfroute::internal
