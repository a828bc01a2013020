#include "redis/connection.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "redis/resp.h"
#include "reply.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

// hiredis writes with write(2): a write to a connection the server has
// closed raises SIGPIPE, which would kill the application. Block it on this
// thread while logging in and swallow one that a write raised, leaving the
// process's signal handling as the application set it. (Once open, the
// connection is written with send(MSG_NOSIGNAL).)
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &old_mask_);
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec no_wait{0, 0};
        sigtimedwait(&sigpipe_, nullptr, &no_wait);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }

 private:
  sigset_t sigpipe_;
  sigset_t old_mask_;
  bool was_pending_ = false;
};

struct ContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

// AUTH and SELECT as one pipeline on the blocking context.
absl::Status LogIn(redisContext& context, const ConnectionOptions& options,
                   const std::string& address) {
  std::vector<Command> handshake;
  if (!options.password.empty()) {
    handshake.push_back(options.user.empty() ? Command{{"AUTH", options.password}}
                                             : Command{{"AUTH", options.user, options.password}});
  }
  if (options.db != 0) handshake.push_back(Command{{"SELECT", std::to_string(options.db)}});
  ScopedSigpipeBlock no_sigpipe;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const Command& command : handshake) {
    argv.clear();
    lengths.clear();
    for (const std::string& arg : command.args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    redisAppendCommandArgv(&context, static_cast<int>(argv.size()), argv.data(), lengths.data());
  }
  for (std::size_t i = 0; i < handshake.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(&context, &raw) != REDIS_OK || raw == nullptr) {
      const int saved_errno = errno;
      const std::string message = StrCat("handshake with ", address, " failed: ", context.errstr);
      const bool timed_out =
          context.err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == ETIMEDOUT);
      return timed_out ? absl::DeadlineExceededError(message) : absl::UnavailableError(message);
    }
    auto* reply = static_cast<redisReply*>(raw);
    const Reply converted = ConvertReply(*reply);
    freeReplyObject(reply);
    // The reply names no password; AUTH errors say WRONGPASS or similar.
    if (converted.is_error()) {
      const bool select = handshake[i].args.front() == "SELECT";
      return StatusFromErrorReply(
          select ? StrCat("selecting db ", options.db, " (redis_url's /", options.db, ") on ",
                          address)
                 : StrCat("logging in to ", address),
          converted.str);
    }
  }
  return absl::OkStatus();
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<UniqueFd> OpenConnection(const ConnectionOptions& options) {
  const std::string address = options.node.Address();
  ContextPtr context(redisConnectWithTimeout(options.node.host.c_str(), options.node.port,
                                             ToTimeval(options.connect_timeout)));
  if (context == nullptr) {
    return absl::UnavailableError(StrCat("cannot connect to ", address, ": out of memory"));
  }
  if (context->err != 0) {
    return absl::UnavailableError(StrCat("cannot connect to ", address, ": ", context->errstr));
  }
  redisSetTimeout(context.get(), ToTimeval(options.command_timeout));
  redisEnableKeepAlive(context.get());
  if (absl::Status logged_in = LogIn(*context, options, address); !logged_in.ok()) {
    return logged_in;
  }
  UniqueFd fd(redisFreeKeepFd(context.release()));
  const int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    return absl::InternalError(StrCat("cannot make the socket to ", address, " non-blocking"));
  }
  return fd;
}

}  // namespace sfroute::internal
