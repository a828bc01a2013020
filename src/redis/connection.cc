#include "redis/connection.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include <cerrno>

#include "str_cat.h"

namespace sfroute::internal {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

Reply ConvertReply(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(reply.integer);
    case REDIS_REPLY_STRING:
      return Reply::String(std::string(reply.str, reply.len));
    case REDIS_REPLY_STATUS:
      return Reply::Status(std::string(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(reply.str, reply.len));
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) {
        elements.push_back(ConvertReply(*reply.element[i]));
      }
      return Reply::Array(std::move(elements));
    }
    default:
      return Reply::Nil();
  }
}

// hiredis writes with write(2): a write to a connection the server has
// closed raises SIGPIPE, which would kill the application. Block it on this
// thread while writing and swallow one that the write raised, leaving the
// process's signal handling as the application set it.
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

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const ConnectionOptions& options) {
  const std::string address = options.node.Address();
  redisContext* context = redisConnectWithTimeout(options.node.host.c_str(), options.node.port,
                                                  ToTimeval(options.connect_timeout));
  if (context == nullptr) {
    return absl::UnavailableError(StrCat("cannot connect to ", address, ": out of memory"));
  }
  if (context->err != 0) {
    absl::Status status = absl::UnavailableError(
        StrCat("cannot connect to ", address, ": ", context->errstr));
    redisFree(context);
    return status;
  }
  redisSetTimeout(context, ToTimeval(options.command_timeout));
  redisEnableKeepAlive(context);
  std::unique_ptr<Connection> connection(new Connection(context, address));

  std::vector<Command> handshake;
  if (!options.password.empty()) {
    handshake.push_back(options.user.empty()
                            ? Command{{"AUTH", options.password}}
                            : Command{{"AUTH", options.user, options.password}});
  }
  if (options.db != 0) handshake.push_back(Command{{"SELECT", std::to_string(options.db)}});
  if (handshake.empty()) return connection;

  auto replies = connection->Execute(handshake);
  if (!replies.ok()) return Annotate(replies.status(), "handshake");
  for (const Reply& reply : *replies) {
    if (reply.is_error()) {
      // The reply names no password; AUTH errors say WRONGPASS or similar.
      return StatusFromErrorReply(StrCat("handshake with ", address), reply.str);
    }
  }
  return connection;
}

Connection::Connection(redisContext* context, std::string address)
    : context_(context), address_(std::move(address)) {}

Connection::~Connection() { redisFree(context_); }

absl::StatusOr<std::vector<Reply>> Connection::Execute(const std::vector<Command>& commands) {
  if (absl::Status sent = Send(commands); !sent.ok()) return sent;
  return Receive(commands.size());
}

absl::Status Connection::Send(const std::vector<Command>& commands) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const Command& command : commands) {
    argv.clear();
    lengths.clear();
    for (const std::string& arg : command.args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) != REDIS_OK) {
      return TransportError("sending", errno);
    }
  }
  {
    ScopedSigpipeBlock no_sigpipe;
    int done = 0;
    while (done == 0) {
      if (redisBufferWrite(context_, &done) != REDIS_OK) return TransportError("sending", errno);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Reply>> Connection::Receive(std::size_t count) {
  std::vector<Reply> replies;
  replies.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      return TransportError("waiting for the reply", errno);
    }
    auto* reply = static_cast<redisReply*>(raw);
    replies.push_back(ConvertReply(*reply));
    freeReplyObject(reply);
  }
  return replies;
}

absl::Status Connection::TransportError(const char* doing, int saved_errno) {
  failed_ = true;
  const std::string message =
      StrCat("connection to ", address_, " failed while ", doing, ": ", context_->errstr);
  if (context_->err == REDIS_ERR_IO &&
      (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT)) {
    // The socket timeout (command_timeout) ran out: the command may still run.
    return absl::DeadlineExceededError(
        StrCat("no reply from ", address_, " within the command timeout while ", doing,
                     "; the command may or may not have run"));
  }
  if (context_->err == REDIS_ERR_PROTOCOL) return absl::InternalError(message);
  return absl::UnavailableError(message);
}

bool Connection::ClosedByPeer() const {
  // An idle connection has nothing to read; readable means the server closed
  // it (EOF) or sent something nobody asked for. Either way it is unusable.
  pollfd descriptor{context_->fd, POLLIN | POLLRDHUP, 0};
  const int ready = poll(&descriptor, 1, 0);
  return ready != 0;
}

}  // namespace sfroute::internal
