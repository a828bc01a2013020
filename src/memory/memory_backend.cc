#include "memory/memory_backend.h"

#include <utility>

#include "memory/memory_server.h"

namespace sfroute::internal {

MemoryBackend::MemoryBackend(std::shared_ptr<const Clock> clock)
    : server_(std::make_unique<MemoryServer>(std::move(clock))) {}

MemoryBackend::~MemoryBackend() = default;

absl::StatusOr<std::vector<Reply>> MemoryBackend::Execute(const std::vector<Command>& commands) {
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  absl::MutexLock lock(&mutex_);
  server_->PurgeExpired();
  for (const Command& command : commands) replies.push_back(server_->Run(command.args));
  return replies;
}

}  // namespace sfroute::internal
