#include "redis/shared_connection.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/time/time.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

constexpr std::size_t kBufferKept = 1 << 20;
// How many times a caller refills the send buffer from the outbox (other
// callers' commands) before it leaves the rest to the loop.
constexpr int kCallerPasses = 4;

}  // namespace

absl::StatusOr<std::vector<Reply>> InFlight::Wait() {
  const auto remaining = deadline_ - std::chrono::steady_clock::now();
  if (!request_->done.WaitForNotificationWithTimeout(absl::FromChrono(remaining))) {
    connection_->TimeOut(*request_);
    request_->done.WaitForNotification();  // now or very soon: answered or failed
  }
  if (!request_->status.ok()) return request_->status;
  return std::move(request_->replies);
}

absl::StatusOr<std::shared_ptr<SharedConnection>> SharedConnection::Watch(
    UniqueFd socket, std::string address, std::chrono::milliseconds command_timeout, IoLoop& loop) {
  const int fd = socket.get();
  std::shared_ptr<SharedConnection> connection(
      new SharedConnection(std::move(socket), std::move(address), command_timeout, loop));
  if (absl::Status watched = loop.Watch(fd, connection); !watched.ok()) return watched;
  return connection;
}

absl::StatusOr<InFlight> SharedConnection::Send(const std::vector<Command>& commands,
                                                bool only_when_idle) {
  auto request = std::make_shared<Request>(commands.size());
  const auto deadline = std::chrono::steady_clock::now() + command_timeout_;
  if (commands.empty()) {
    request->done.Notify();
    return InFlight(shared_from_this(), std::move(request), deadline);
  }
  std::string bytes;
  for (const Command& command : commands) AppendCommand(command, bytes);
  bool write_now = false;
  {
    absl::MutexLock lock(&mutex_);
    if (failed()) {
      return absl::UnavailableError(
          StrCat("connection to ", address_, " was lost; nothing was sent"));
    }
    if (only_when_idle && !waiting_.empty()) {
      return absl::FailedPreconditionError("the connection is in use");
    }
    if (outbox_.empty()) {
      outbox_.swap(bytes);
    } else {
      outbox_.append(bytes);
    }
    waiting_.push_back(request);
    write_now = !writing_;
    writing_ = true;
  }
  // One writer at a time: the others leave their bytes in the outbox, and
  // the writer takes them along (several callers' commands in one send).
  if (write_now) Flush(kCallerPasses);
  return InFlight(shared_from_this(), std::move(request), deadline);
}

void SharedConnection::Flush(int passes) {
  for (int refills = 0;;) {
    if (sent_ == sending_.size()) {
      absl::MutexLock lock(&mutex_);
      sending_.clear();
      sent_ = 0;
      if (failed() || outbox_.empty()) {
        writing_ = false;
        // A big batch leaves big buffers behind; keep only small ones.
        if (sending_.capacity() > kBufferKept) std::string().swap(sending_);
        if (outbox_.capacity() > kBufferKept) std::string().swap(outbox_);
        return;
      }
      // Bounded, so that a caller returns to wait for its own replies and
      // the loop's thread returns to reading: the loop takes over.
      if (refills++ == passes) break;
      sending_.swap(outbox_);
    }
    const ssize_t sent =
        send(socket_.get(), sending_.data() + sent_, sending_.size() - sent_, MSG_NOSIGNAL);
    if (sent > 0) {
      sent_ += static_cast<std::size_t>(sent);
    } else if (sent < 0 && errno == EINTR) {
      continue;
    } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;  // the socket's buffer is full: the loop goes on when it drains
    } else {
      const int saved_errno = errno;
      Fail(absl::UnavailableError(StrCat("connection to ", address_,
                                         " failed while sending: ", std::strerror(saved_errno),
                                         "; the commands may or may not have run")));
      return;
    }
  }
  // Still the writer, on the loop's behalf: sending_ keeps what is left.
  // Under the lock, which the loop takes before it goes on, so that it sees
  // sending_ and sent_ as they are now.
  absl::MutexLock lock(&mutex_);
  if (!loop_.WatchWritable(socket_.get(), this, true)) {
    FailLocked(absl::UnavailableError(StrCat("connection to ", address_,
                                             ": cannot wait for the socket to drain; the "
                                             "commands may or may not have run")));
  }
}

bool SharedConnection::OnReady(std::uint32_t epoll_events) {
  if ((epoll_events & EPOLLOUT) != 0) {
    {
      absl::MutexLock lock(&mutex_);
      loop_.WatchWritable(socket_.get(), this, false);
    }
    Flush(1);  // then back to reading; if there is more, it comes back here
  }
  if ((epoll_events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) ReadAvailable();
  return !failed();
}

void SharedConnection::ReadAvailable() {
  char buffer[16 * 1024];
  std::vector<Reply> replies;
  for (;;) {
    const ssize_t received = recv(socket_.get(), buffer, sizeof buffer, 0);
    if (received > 0) {
      parser_.Feed(buffer, static_cast<std::size_t>(received));
      for (;;) {
        auto reply = parser_.Next();
        if (!reply.ok()) {
          Fail(absl::UnavailableError(StrCat("connection to ", address_, ": ",
                                             reply.status().message(),
                                             "; the commands may or may not have run")));
          return;
        }
        if (!reply->has_value()) break;
        replies.push_back(**std::move(reply));
      }
      if (!replies.empty()) Deliver(replies);
      replies.clear();
      // Level-triggered: if more arrives, the loop calls again.
      if (static_cast<std::size_t>(received) < sizeof buffer) return;
    } else if (received == 0) {
      Fail(absl::UnavailableError(StrCat("connection to ", address_,
                                         " was closed by the server; the commands may or may "
                                         "not have run")));
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      const int saved_errno = errno;
      Fail(absl::UnavailableError(
          StrCat("connection to ", address_, " failed while waiting for replies: ",
                 std::strerror(saved_errno), "; the commands may or may not have run")));
      return;
    }
  }
}

void SharedConnection::Deliver(std::vector<Reply>& replies) {
  std::vector<std::shared_ptr<Request>> answered;
  bool unasked = false;
  {
    absl::MutexLock lock(&mutex_);
    for (Reply& reply : replies) {
      if (waiting_.empty()) {
        unasked = !failed();
        break;
      }
      Request& oldest = *waiting_.front();
      oldest.replies.push_back(std::move(reply));
      if (oldest.replies.size() == oldest.expected) {
        oldest.answered = true;
        answered.push_back(std::move(waiting_.front()));
        waiting_.pop_front();
      }
    }
  }
  for (const auto& request : answered) request->done.Notify();
  if (unasked) {
    Fail(absl::UnavailableError(StrCat("connection to ", address_,
                                       ": the server sent a reply nobody asked for; the "
                                       "commands may or may not have run")));
  }
}

void SharedConnection::TimeOut(const Request& request) {
  absl::MutexLock lock(&mutex_);
  if (request.answered) return;  // its replies came in meanwhile
  FailLocked(absl::DeadlineExceededError(
      StrCat("no reply from ", address_, " within the command timeout (", command_timeout_.count(),
             " ms); the command may or may not have run")));
}

void SharedConnection::Fail(const absl::Status& status) {
  absl::MutexLock lock(&mutex_);
  FailLocked(status);
}

void SharedConnection::FailLocked(const absl::Status& status) {
  if (failed()) return;
  failed_.store(true, std::memory_order_release);
  for (const auto& request : waiting_) {
    request->status = status;
    request->answered = true;
    request->done.Notify();
  }
  waiting_.clear();
  outbox_.clear();
  // Wakes the loop, which then lets go of the connection; the server sees
  // it closed. The socket itself is closed when the last owner lets go.
  shutdown(socket_.get(), SHUT_RDWR);
}

}  // namespace sfroute::internal
