// One connection to a Redis node, shared by every caller: each call's
// commands are appended to the pipeline, and its replies are picked out in
// order (Redis answers a connection's commands in the order sent).
//
// Callers write (the first one in sends what the others queued meanwhile,
// with at most two writes of theirs awaiting replies: later ones wait and
// go out together); the event loop reads — except when a sync caller finds the connection
// idle: it then reads its own reply, and hands reading to the loop only if
// others queued behind it. Each request ends on its own: a deadline or a
// cancel drops a request not yet written, and completes a written one at
// once while its late replies are read and discarded in order; the
// connection and its other requests go on. The connection fails (every
// request UNAVAILABLE) only when it is lost, the stream is not RESP, or the
// server sends nothing for command_timeout while replies are due.
// Thread-safe.
#ifndef SFROUTE_SRC_REDIS_CONNECTION_H_
#define SFROUTE_SRC_REDIS_CONNECTION_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "call_control.h"
#include "command.h"
#include "loop/busy_poll.h"
#include "loop/event_loop.h"
#include "observability/events.h"
#include "redis/resp.h"
#include "redis/tls.h"
#include "redis/transport.h"
#include "redis_url.h"
#include "sync.h"

namespace sfroute::internal {

// How to reach and log in to one Redis node.
struct ConnectionOptions {
  HostPort node;
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH
  int db = 0;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};
  std::chrono::microseconds busy_poll{0};  // Options::busy_poll
  std::shared_ptr<Events> events;          // told what happens; may be null
  std::shared_ptr<const TlsClient> tls;    // null: plain TCP
};

class ReplyCheck;

// Where a send's replies go before its `done`: a cluster's direct send
// (ClusterBackend::Send) has them checked for refusals and sends again
// what was refused, with no callable of its own around `done`.
struct CheckedBy {
  ReplyCheck* check = nullptr;     // null: `done` gets the replies as they are
  const Batch* batch = nullptr;    // what was sent, to send it again
  const HostPort* node = nullptr;  // where it went
};

// Takes a send's replies (or why there are none) in place of its `done`.
// Outlives every send it is given to: its owner shuts the connections down
// (which completes their requests) before it goes.
class ReplyCheck {
 public:
  // Gives `done` the replies, or takes the call over and gives it the final
  // ones later. Runs once per send.
  virtual void Check(const CheckedBy& sent, const std::shared_ptr<CallControl>& call,
                     BatchDone done, absl::StatusOr<std::vector<Reply>> replies) = 0;

 protected:
  ~ReplyCheck() = default;
};

// Gives `done` the replies, through `sent.check` when there is one.
inline void GiveReplies(const CheckedBy& sent, const std::shared_ptr<CallControl>& call,
                        BatchDone done, absl::StatusOr<std::vector<Reply>> replies) {
  if (sent.check == nullptr) {
    std::move(done)(std::move(replies));
  } else {
    sent.check->Check(sent, call, std::move(done), std::move(replies));
  }
}

// A batch already in RESP: what a node's connections write. A cluster
// encodes the parts of a plan straight from its callers' commands, with
// no copy of them into a Batch of each node.
struct WireBatch {
  std::string_view bytes;  // the commands, encoded (AppendCommand)
  std::size_t commands = 0;
  bool exclusive_connection = false;  // as Batch's
  bool caller_waits = false;          // as Batch's
  CheckedBy checked;                  // where the replies go before `done`
};

class Connection : public EventLoop::Handler, public std::enable_shared_from_this<Connection> {
 public:
  // Starts connecting; the loop goes on with it (connect, TLS handshake,
  // AUTH and SELECT, or a PING) without blocking anyone. Requests sent
  // meanwhile are written once the connection is logged in, or fail with
  // its error.
  static std::shared_ptr<Connection> Open(const ConnectionOptions& options,
                                          std::shared_ptr<EventLoop> loop);
  ~Connection() override;

  // Queues the batch's commands (its bytes are read before it returns;
  // exclusive_connection is its caller's business) and takes `done`, which
  // gets their replies, or why not, exactly once (through batch.checked).
  // Returns false, leaving `done` to the caller, when the connection has
  // failed already: nothing was sent, the caller picks another connection.
  // caller_waits: the calling thread will wait for the replies (see
  // ReadForCaller).
  bool Send(const WireBatch& batch, const std::shared_ptr<CallControl>& call, BatchDone& done);

  // Ends the connection: every request gets `why` (UNAVAILABLE or
  // CANCELLED), with "nothing was sent" for those not written.
  void Fail(const absl::Status& why);

  bool failed() const { return failed_.load(std::memory_order_acquire); }
  // Nothing queued, nothing awaiting replies.
  bool idle() const;
  // Called by its owner from time to time (SweepPeriod): stops the calls
  // whose deadline has passed (the default deadlines have no timer of
  // their own), and fails the connection if replies are due and nothing
  // came for command_timeout.
  void Sweep(SteadyClock::time_point now);
  const std::string& address() const { return address_; }

  bool OnReady(std::uint32_t epoll_events) override;

  // A sync caller whose Send made it the connection's reader reads the
  // replies of its call here, on its own thread, until none of its
  // requests on this connection awaits replies, or its deadline passes
  // (the call is then stopped). Then reading goes back to the loop if
  // others still wait for replies. Returns at once if this thread has
  // nothing to read.
  static void ReadForCaller(CallControl& call);
  // Whether this thread became a reader in a Send (ReadForCaller is due).
  static bool HasReadDuty();

 private:
  struct Request;
  enum class Phase { kConnecting, kLoggingIn, kReady, kFailed };
  enum class Reader { kNone, kLoop, kCaller };

  Connection(const ConnectionOptions& options, std::shared_ptr<EventLoop> loop);

  // Connecting, on the loop's thread.
  void StartConnecting();
  void ConnectTo(std::vector<struct SocketAddress> addresses, std::size_t next);
  void OnConnected();
  void StepHandshake();
  void LogIn();
  void OnLoggedIn(absl::StatusOr<std::vector<Reply>> replies);

  // Writing: by the one writer at a time (writing_).
  void Flush(int passes);
  // Moves the queued requests' bytes to sending_ (when `allowed`); returns
  // whether there was any.
  bool TakePendingLocked(bool allowed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool HasQueuedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool WriteHeldBackLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void StartWriterLocked(bool* write_now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  // Reading: by the one reader at a time (reader_).
  // Reads what is there; false when the connection failed.
  bool ReadAvailable();
  void Deliver(std::vector<Reply>& replies);
  void ReleaseCallerReader();
  bool HasRepliesFor(const CallControl& call) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  bool LoggingIn() const;
  // Why the connection failed when `result` ended it during the log-in.
  absl::Status LostLoggingIn(const IoResult& result) const;

  void Stop(Request& request, const absl::Status& why);
  void FailLocked(const absl::Status& why, std::vector<std::shared_ptr<Request>>& completed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  static void Complete(std::vector<std::shared_ptr<Request>>& completed);
  // The epoll events the connection's state calls for.
  void UpdateEventsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const ConnectionOptions options_;
  const std::string address_;  // host:port, for messages
  const std::shared_ptr<EventLoop> loop_;
  Events::Node* const node_events_;  // null when nobody listens; lives as long as options_.events
  std::atomic<bool> failed_{false};

  // Set once under mutex_ on the loop's thread while connecting; read
  // without it once the phase is kLoggingIn or later.
  std::unique_ptr<Transport> transport_;
  UniqueFd connecting_;  // the loop's: the socket while its TCP connect runs

  ReplyParser parser_;                               // the reader's
  std::vector<Reply> read_;                          // the reader's: replies of one read
  std::vector<std::shared_ptr<Request>> delivered_;  // the reader's: requests they completed
  std::string sending_;                              // the writer's: bytes taken from the queue
  std::size_t sent_ = 0;                             // the writer's: how much of sending_ is sent
  BusyPoll busy_poll_;                               // the reader's (a sync caller reading)

  mutable Mutex mutex_;
  Phase phase_ ABSL_GUARDED_BY(mutex_) = Phase::kConnecting;
  bool ever_ready_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mutex_);
  std::deque<std::shared_ptr<Request>> pending_ ABSL_GUARDED_BY(mutex_);   // not written yet
  std::deque<std::shared_ptr<Request>> awaiting_ ABSL_GUARDED_BY(mutex_);  // written, in order
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;                           // a writer is sending
  int writes_in_flight_ ABSL_GUARDED_BY(mutex_) = 0;  // writes whose last reply is due
  bool loop_writes_ ABSL_GUARDED_BY(mutex_) = false;  // ... and it is the loop (EPOLLOUT)
  bool flush_at_round_end_ ABSL_GUARDED_BY(mutex_) = false;
  // The RESP bytes of the requests in pending_, in order; a request stopped
  // before it was written keeps its place there (and in pending_), dead.
  std::string outbox_ ABSL_GUARDED_BY(mutex_);
  std::size_t stopped_in_outbox_ ABSL_GUARDED_BY(mutex_) = 0;
  Reader reader_ ABSL_GUARDED_BY(mutex_) = Reader::kNone;
  bool loop_reading_ ABSL_GUARDED_BY(mutex_) = false;  // inside the loop's read
  std::uint32_t events_ ABSL_GUARDED_BY(mutex_) = 0;   // as epoll has them
  bool watched_ ABSL_GUARDED_BY(mutex_) = false;
  // Since when replies have been due without a byte read.
  SteadyClock::time_point silent_since_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_CONNECTION_H_
