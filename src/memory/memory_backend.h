// A Backend that is its own Redis: keys, types, TTLs and Lua scripts kept in
// memory, for tests and benchmarks without a server (memory:// URLs).
#ifndef SFROUTE_SRC_MEMORY_MEMORY_BACKEND_H_
#define SFROUTE_SRC_MEMORY_MEMORY_BACKEND_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "backend.h"
#include "sfroute/clock.h"
#include "sync.h"

namespace sfroute::internal {

class MemoryServer;

// Thread-safe. Keys, types and TTLs as Redis keeps them, in memory; TTLs
// follow `clock`. Replies, including error replies, are those of Redis 7.0
// for the commands sfroute sends (see memory/commands.cc for the list), and
// scripts run the same Lua text as on Redis, in an embedded Lua 5.1.
class MemoryBackend : public Backend {
 public:
  explicit MemoryBackend(std::shared_ptr<const Clock> clock);
  ~MemoryBackend() override;

  // Never fails: a command Redis would refuse gets Redis's error reply. The
  // whole batch runs under one lock, so a script, like any command, never
  // interleaves with another.
  std::vector<Reply> Execute(const std::vector<Command>& commands);

  // Runs the batch at once, on the calling thread: `done` runs before Send
  // returns (unless the call was stopped already: nothing runs then).
  void Send(const Batch& batch, std::shared_ptr<CallControl> call, BatchDone done) override;
  // One node, named "memory:0" in messages.
  void Nodes(NodesDone done) override {
    std::move(done)(std::vector<HostPort>{HostPort{"memory", 0}});
  }
  void Shutdown(const absl::Status&) override {}

 private:
  Mutex mutex_;
  const std::unique_ptr<MemoryServer> server_ ABSL_PT_GUARDED_BY(mutex_);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_MEMORY_MEMORY_BACKEND_H_
