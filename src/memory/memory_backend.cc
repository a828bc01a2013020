#include "memory/memory_backend.h"

#include <utility>

#include "memory/memory_server.h"
#include "str_cat.h"

namespace sfroute::internal {

MemoryBackend::MemoryBackend(std::shared_ptr<const Clock> clock)
    : server_(std::make_unique<MemoryServer>(std::move(clock))) {}

MemoryBackend::~MemoryBackend() = default;

void MemoryBackend::Send(const Batch& batch, std::shared_ptr<CallControl> call, BatchDone done) {
  if (call != nullptr && call->is_stopped()) {
    absl::Status why = call->stopped();
    std::move(done)(NotSent(absl::Status(why.code(), StrCat(why.message(), "; nothing was run"))));
    return;
  }
  std::move(done)(Execute(batch.commands));
}

std::vector<Reply> MemoryBackend::Execute(const std::vector<Command>& commands) {
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  MutexLock lock(&mutex_);
  server_->PurgeExpired();
  for (const Command& command : commands) replies.push_back(server_->Run(command.args));
  return replies;
}

}  // namespace sfroute::internal
