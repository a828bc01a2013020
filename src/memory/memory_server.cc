#include "memory/memory_server.h"

#include <string>
#include <utility>

#include "str_cat.h"

namespace sfroute::internal {
namespace {

Reply UnknownCommandError(Args args) {
  std::string quoted_args;
  for (std::size_t i = 1; i < args.size() && quoted_args.size() < kMaxQuotedBytes; ++i) {
    const std::size_t room = kMaxQuotedBytes - quoted_args.size();
    quoted_args += StrCat("'", std::string_view(args[i]).substr(0, room), "' ");
  }
  Reply error = Reply::Error(StrCat("ERR unknown command '",
                                    std::string_view(args[0]).substr(0, kMaxQuotedBytes),
                                    "', with args beginning with: ", quoted_args));
  ReplaceNewlines(error.str);
  return error;
}

}  // namespace

MemoryServer::MemoryServer(std::shared_ptr<const Clock> clock)
    : clock_(std::move(clock)),
      scripts_([this](Args args) { return RunFromScript(args); }),
      env_{keyspace_, scripts_} {}

void MemoryServer::PurgeExpired() {
  keyspace_.set_now(clock_->Now().count());
  keyspace_.PurgeExpired();
}

Reply MemoryServer::Run(Args args) {
  if (args.empty()) return Reply::Error("ERR empty command");
  const CommandSpec* command = FindCommand(args[0]);
  if (command == nullptr) return UnknownCommandError(args);
  if (!command->AcceptsArgCount(args.size())) return WrongArityError(command->name);
  keyspace_.set_now(clock_->Now().count());
  return command->run(env_, args);
}

Reply MemoryServer::RunFromScript(Args args) {
  const CommandSpec* command = FindCommand(args[0]);
  if (command == nullptr) return Reply::Error("ERR Unknown Redis command called from script");
  if (!command->AcceptsArgCount(args.size())) {
    return Reply::Error("ERR Wrong number of args calling Redis command from script");
  }
  if (!command->allowed_in_scripts) {
    return Reply::Error("ERR This Redis command is not allowed from script");
  }
  return command->run(env_, args);
}

}  // namespace sfroute::internal
