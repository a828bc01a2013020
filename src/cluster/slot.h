// Which Redis Cluster slot a key belongs to, and which arguments of a
// command are keys. Pure functions, unit-tested without a server.
#ifndef SFROUTE_SRC_CLUSTER_SLOT_H_
#define SFROUTE_SRC_CLUSTER_SLOT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "backend.h"

namespace sfroute::internal {

inline constexpr int kClusterSlots = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum
// the Redis Cluster spec hashes keys with.
std::uint16_t Crc16(std::string_view data);

// The part of `key` that is hashed: the text between the first '{' and the
// first '}' after it, when that text is not empty; else the whole key.
std::string_view HashTag(std::string_view key);

// CRC16(HashTag(key)) mod 16384.
int KeySlot(std::string_view key);
// The slot of a hash tag as HashTag() gives it (KeySlot(key) is
// TagSlot(HashTag(key))).
int TagSlot(std::string_view tag);

// Where in command.args the keys the command touches are (KeyRange):
// as the command says (Command::keys), else known by its name
// (case-insensitive): GET, SET, HSET, HGETALL, HDEL, EXPIRE, TTL, DEL ...
// -> one key at 1; MGET -> every argument (separable: each key stands
// alone, so the command may be cut into one per slot); EVALSHA/EVAL sha
// numkeys key... -> the numkeys keys. No keys for keyless commands (WAIT)
// and for commands this table does not know: those go to the node of the
// batch's first keyed command, and a MOVED reply corrects a wrong guess.
KeyRange KeysByName(const Command& command);
inline KeyRange Keys(const Command& command) {
  // As the command says (a range past its arguments is not believed).
  if (command.keys && command.keys->end() <= command.args.size()) return *command.keys;
  return KeysByName(command);
}

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_CLUSTER_SLOT_H_
