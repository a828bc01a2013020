#include "cluster/slot.h"

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

// Whether `name` is `upper` in any case (command names are case-blind).
bool NameIs(std::string_view name, std::string_view upper) {
  if (name.size() != upper.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    // ASCII only, as Redis compares command names (no locale call).
    const char c = name[i];
    if ((c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c) != upper[i]) return false;
  }
  return true;
}

bool IsSingleKeyCommand(std::string_view name) {
  // The commands sfroute sends, and the few a test or tool may add.
  static constexpr std::string_view kNames[] = {"GET",    "SET",    "HSET",   "HGETALL", "HDEL",
                                                "HGET",   "EXPIRE", "TTL",    "PTTL",    "DEL",
                                                "EXISTS", "TYPE",   "PERSIST"};
  for (std::string_view known : kNames) {
    if (NameIs(name, known)) return true;
  }
  return false;
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
  const std::string_view name = command.args.empty() ? "" : std::string_view(command.args[0]);
  const std::size_t size = command.args.size();
  if (IsSingleKeyCommand(name)) return size > 1 ? KeyRange{1, 1} : KeyRange{};
  if (NameIs(name, "MGET")) return KeyRange{1, size - 1};
  if ((NameIs(name, "EVALSHA") || NameIs(name, "EVAL")) && size > 2) {
    const std::string& text = command.args[2];
    std::size_t numkeys = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), numkeys);
    if (error == std::errc() && end == text.data() + text.size() && 3 + numkeys <= size) {
      return KeyRange{3, numkeys};
    }
  }
  return KeyRange{};
}

}  // namespace sfroute::internal
