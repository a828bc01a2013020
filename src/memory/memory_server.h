// One in-memory Redis database: the keyspace, the command table and the
// scripts, without the locking (MemoryBackend adds that).
#ifndef SFROUTE_SRC_MEMORY_MEMORY_SERVER_H_
#define SFROUTE_SRC_MEMORY_MEMORY_SERVER_H_

#include <memory>

#include "memory/commands.h"
#include "memory/keyspace.h"
#include "memory/script_engine.h"
#include "reply.h"
#include "sfroute/clock.h"

namespace sfroute::internal {

// Not thread-safe.
class MemoryServer {
 public:
  explicit MemoryServer(std::shared_ptr<const Clock> clock);

  // Reads the clock and drops keys that have expired; call it now and then
  // (once per batch) so that expired keys nobody reads do not pile up.
  void PurgeExpired();
  // Runs a command as a client sent it; the reply, or an error reply worded
  // as Redis words it.
  Reply Run(Args args);

 private:
  // What redis.call runs. Time stands still during a script, as in Redis 7.
  Reply RunFromScript(Args args);

  std::shared_ptr<const Clock> clock_;
  Keyspace keyspace_;
  ScriptEngine scripts_;
  CommandEnv env_;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_MEMORY_MEMORY_SERVER_H_
