// One connection to a Redis node shared by every caller: each caller's
// commands are appended to the pipeline and its replies are picked out in
// order (Redis answers a connection's commands in the order sent). Callers
// write; the I/O loop's thread reads and wakes each caller when its replies
// are in. Thread-safe.
#ifndef SFROUTE_SRC_REDIS_SHARED_CONNECTION_H_
#define SFROUTE_SRC_REDIS_SHARED_CONNECTION_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "backend.h"
#include "redis/connection.h"
#include "redis/io_loop.h"
#include "redis/resp.h"
#include "reply.h"

namespace sfroute::internal {

class SharedConnection;

// The replies one caller is waiting for.
class InFlight {
 public:
  // Waits for every reply, at most until the command timeout from the send.
  // DEADLINE_EXCEEDED past it, UNAVAILABLE when the connection was lost:
  // either way the commands may or may not have run, and the connection is
  // dropped (replies behind a missing one cannot be trusted to arrive).
  absl::StatusOr<std::vector<Reply>> Wait();

 private:
  friend class SharedConnection;
  struct Request {
    explicit Request(std::size_t count) : expected(count) { replies.reserve(count); }
    const std::size_t expected;
    std::vector<Reply> replies;
    absl::Status status;    // set instead of the replies when the connection fails
    bool answered = false;  // guarded by the connection's mutex
    absl::Notification done;
  };
  InFlight(std::shared_ptr<SharedConnection> connection, std::shared_ptr<Request> request,
           std::chrono::steady_clock::time_point deadline)
      : connection_(std::move(connection)), request_(std::move(request)), deadline_(deadline) {}

  std::shared_ptr<SharedConnection> connection_;
  std::shared_ptr<Request> request_;
  std::chrono::steady_clock::time_point deadline_;
};

class SharedConnection : public IoLoop::Handler,
                         public std::enable_shared_from_this<SharedConnection> {
 public:
  // Takes an open, logged-in, non-blocking socket; `loop` must outlive the
  // connection's writes (it is the loop that watches it).
  static absl::StatusOr<std::shared_ptr<SharedConnection>> Watch(
      UniqueFd socket, std::string address, std::chrono::milliseconds command_timeout,
      IoLoop& loop);

  // Sends the commands behind those already in the pipeline. An error means
  // that nothing was sent: UNAVAILABLE when the connection had failed
  // already; FAILED_PRECONDITION when `only_when_idle` and other calls'
  // replies are still to come.
  absl::StatusOr<InFlight> Send(const std::vector<Command>& commands, bool only_when_idle = false);

  // True once the connection is lost or dropped; it is replaced then.
  bool failed() const { return failed_.load(std::memory_order_acquire); }

  bool OnReady(std::uint32_t epoll_events) override;

 private:
  friend class InFlight;
  using Request = InFlight::Request;

  SharedConnection(UniqueFd socket, std::string address, std::chrono::milliseconds timeout,
                   IoLoop& loop)
      : socket_(std::move(socket)),
        address_(std::move(address)),
        command_timeout_(timeout),
        loop_(loop) {}

  // Sends the outbox until it is empty, refilling the send buffer from it
  // at most `passes` times; past that, or when the socket is full, leaves
  // the rest to the loop (EPOLLOUT). Run by the one current writer.
  void Flush(int passes);
  void ReadAvailable();
  void Deliver(std::vector<Reply>& replies);
  // Ends the connection: every waiting caller gets `status`.
  void Fail(const absl::Status& status);
  void FailLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // A caller's deadline passed: drops the connection unless its replies
  // came in meanwhile.
  void TimeOut(const Request& request);

  const UniqueFd socket_;
  const std::string address_;  // host:port, for messages
  const std::chrono::milliseconds command_timeout_;
  IoLoop& loop_;
  ReplyParser parser_;    // the loop's thread only
  std::string sending_;   // the writer only: bytes taken from the outbox
  std::size_t sent_ = 0;  // the writer only: how much of sending_ is sent

  absl::Mutex mutex_;
  std::atomic<bool> failed_{false};
  std::string outbox_ ABSL_GUARDED_BY(mutex_);    // bytes not yet handed to send()
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;  // a writer is flushing the outbox
  std::deque<std::shared_ptr<Request>> waiting_ ABSL_GUARDED_BY(mutex_);  // in send order
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_SHARED_CONNECTION_H_
