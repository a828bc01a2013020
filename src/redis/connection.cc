#include "redis/connection.h"

#include <poll.h>
#include <sys/epoll.h>

#include <algorithm>
#include <utility>

#include "redis/socket.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

constexpr std::size_t kBufferKept = 1 << 20;
// How many times a caller refills the send buffer from the queue (other
// callers' commands) before it leaves the rest to the loop.
constexpr int kCallerPasses = 4;
constexpr std::size_t kReadChunk = 16 * 1024;
// On the loop's thread, queued bytes are sent at the end of the round, or
// once there are this many.
constexpr std::size_t kLoopFlushBytes = 4 * 1024;
// Callers' threads have at most this many writes awaiting their replies on
// a connection; what they queue meanwhile goes out in one write when
// replies come (or with the loop's next flush). Many callers each writing
// their own small request cost every side a system call per request: held
// back, they go in batches (GetLinkedPod at 50 sync callers +11% on
// standalone, +27% on the cluster, measured). The loop's own writes, already
// one per round, are not held back — except over TLS, where Redis reads one
// TLS record per connection and event-loop round: there a batch costs it
// one round where many small writes cost a round each.
constexpr int kWritesInFlight = 2;

// The connection this thread became the reader of in its last Send, for
// the sync call it is about to wait for (Connection::ReadForCaller).
thread_local std::shared_ptr<Connection> tls_reader_duty;

std::string Millis(std::chrono::milliseconds ms) { return StrCat(ms.count(), " ms"); }

}  // namespace

struct Connection::Request : StopTarget {
  enum class State { kQueued, kWritten, kCompleted };
  // The call was stopped (deadline, cancel): drop or abandon this request.
  void Stop(const absl::Status& why) override {
    if (auto connection = owner.lock()) connection->Stop(*this, why);
  }
  std::weak_ptr<Connection> owner;
  std::size_t size = 0;  // its RESP bytes in the connection's outbox_, until written
  std::string bytes;     // the log-in's RESP (it goes out before the outbox)
  std::size_t expected = 0;
  std::size_t received = 0;  // replies read, also for a request completed early
  std::vector<Reply> replies;
  absl::Status status;  // why it completed without replies
  State state = State::kQueued;
  bool caller_waits = false;
  bool login = false;       // AUTH/SELECT: written before the connection is ready
  bool ends_write = false;  // the last request of one write (writes_in_flight_)
  std::shared_ptr<CallControl> call;
  BatchDone done;
  CheckedBy checked;  // where the replies go before `done`
};

std::shared_ptr<Connection> Connection::Open(const ConnectionOptions& options,
                                             std::shared_ptr<EventLoop> loop) {
  std::shared_ptr<Connection> connection(new Connection(options, loop));
  loop->Post([connection] { connection->StartConnecting(); });
  return connection;
}

Connection::Connection(const ConnectionOptions& options, std::shared_ptr<EventLoop> loop)
    : options_(options),
      address_(options.node.Address()),
      loop_(std::move(loop)),
      node_events_(options.events != nullptr ? &options.events->ForNode(address_) : nullptr),
      busy_poll_(options.busy_poll) {}

Connection::~Connection() = default;

// --- Connecting (the loop's thread) -------------------------------------

void Connection::StartConnecting() {
  // The TCP connect and the TLS handshake have connect_timeout: a TLS
  // handshake against a plain port is never answered (Redis waits for the
  // end of a line), so this is what ends it.
  loop_->RunAt(SteadyClock::now() + options_.connect_timeout, [weak = weak_from_this()] {
    auto self = weak.lock();
    if (self == nullptr) return;
    bool handshaking = false;
    {
      MutexLock lock(&self->mutex_);
      if (self->phase_ != Phase::kConnecting) return;
      handshaking = self->transport_ != nullptr;
    }
    self->Fail(absl::UnavailableError(
        handshaking
            ? StrCat("cannot connect to ", self->address_, ": TLS: no TLS handshake answer within ",
                     Millis(self->options_.connect_timeout),
                     " (connect_timeout): is the port a TLS port? (use redis:// for a "
                     "plain one)")
            : StrCat("cannot connect to ", self->address_, ": no TCP connection within ",
                     Millis(self->options_.connect_timeout), " (connect_timeout)")));
  });
  // The whole open, connect and log-in, has this long.
  const auto give_up = SteadyClock::now() + options_.connect_timeout + options_.command_timeout;
  loop_->RunAt(give_up, [weak = weak_from_this()] {
    auto self = weak.lock();
    if (self == nullptr) return;
    bool late = false;
    {
      MutexLock lock(&self->mutex_);
      late = self->phase_ == Phase::kConnecting || self->phase_ == Phase::kLoggingIn;
    }
    if (late) {
      self->Fail(absl::UnavailableError(
          StrCat("cannot connect to ", self->address_, ": no answer within ",
                 Millis(self->options_.connect_timeout + self->options_.command_timeout))));
    }
  });
  if (auto literal = LiteralAddress(options_.node.host, options_.node.port)) {
    ConnectTo({*literal}, 0);
    return;
  }
  ResolveAsync(options_.node.host, options_.node.port,
               [weak = weak_from_this(), loop = loop_](auto addresses) mutable {
                 loop->Post([weak, addresses = std::move(addresses)]() mutable {
                   auto self = weak.lock();
                   if (self == nullptr) return;
                   if (!addresses.ok()) {
                     self->Fail(addresses.status());
                   } else {
                     self->ConnectTo(*std::move(addresses), 0);
                   }
                 });
               });
}

void Connection::ConnectTo(std::vector<SocketAddress> addresses, std::size_t next) {
  if (failed()) return;
  absl::Status last = absl::UnavailableError("no address");
  for (; next < addresses.size(); ++next) {
    auto socket = StartConnect(addresses[next]);
    if (!socket.ok()) {
      last = socket.status();
      continue;
    }
    connecting_ = *std::move(socket);
    const int fd = connecting_.get();
    {
      MutexLock lock(&mutex_);
      events_ = EPOLLOUT;
      watched_ = true;
    }
    if (absl::Status watched = loop_->Watch(fd, EPOLLOUT, shared_from_this()); !watched.ok()) {
      Fail(watched);
    }
    return;
  }
  Fail(absl::UnavailableError(StrCat("cannot connect to ", address_, ": ", last.message())));
}

void Connection::OnConnected() {
  if (absl::Status result = ConnectResult(connecting_.get()); !result.ok()) {
    Fail(absl::UnavailableError(StrCat("cannot connect to ", address_, ": ", result.message())));
    return;
  }
  MutexLock lock(&mutex_);
  if (phase_ == Phase::kFailed) return;
  transport_ = options_.tls != nullptr ? options_.tls->Wrap(std::move(connecting_))
                                       : PlainTransport(std::move(connecting_));
}

void Connection::StepHandshake() {
  const IoResult step = transport_->Handshake();
  if (step.kind == IoResult::kWantRead || step.kind == IoResult::kWantWrite) {
    MutexLock lock(&mutex_);
    events_ = step.kind == IoResult::kWantRead ? EPOLLIN : EPOLLOUT;
    loop_->Modify(transport_->fd(), events_, this);
    return;
  }
  if (step.kind != IoResult::kDone) {
    Fail(absl::UnavailableError(StrCat("cannot connect to ", address_, ": ",
                                       step.error.ok() ? "closed" : step.error.message())));
    return;
  }
  {
    MutexLock lock(&mutex_);
    if (phase_ == Phase::kFailed) return;
    phase_ = Phase::kLoggingIn;
    reader_ = Reader::kLoop;  // the log-in replies
    UpdateEventsLocked();
  }
  LogIn();
}

void Connection::LogIn() {
  std::vector<Command> handshake;
  if (!options_.password.empty()) {
    handshake.push_back(options_.user.empty()
                            ? MakeCommand("AUTH", options_.password)
                            : MakeCommand("AUTH", options_.user, options_.password));
  }
  if (options_.db != 0) handshake.push_back(MakeCommand("SELECT", std::to_string(options_.db)));
  // With nothing else to send, a PING: the first exchange shows at connect
  // time a server that does not speak RESP over this stream (a TLS port
  // for a plain connection, or a TLS 1.3 server refusing the client's
  // certificate, whose alert comes only after the handshake), instead of
  // failing the first call after it was sent. Once per connection.
  if (handshake.empty()) handshake.push_back(MakeCommand("PING"));
  auto request = std::make_shared<Request>();
  for (const Command& command : handshake) AppendCommand(command, request->bytes);
  request->expected = handshake.size();
  request->login = true;
  request->done = [weak = weak_from_this()](absl::StatusOr<std::vector<Reply>> replies) {
    if (auto self = weak.lock()) self->OnLoggedIn(std::move(replies));
  };
  bool write_now = false;
  {
    MutexLock lock(&mutex_);
    // Ahead of every request queued while connecting: they must not run
    // before the log-in, nor at all if it fails (SELECT refused would put
    // them in db 0).
    pending_.push_front(std::move(request));
    StartWriterLocked(&write_now);
  }
  if (write_now) Flush(kCallerPasses);
}

void Connection::OnLoggedIn(absl::StatusOr<std::vector<Reply>> replies) {
  if (!replies.ok()) return;  // the connection failed; its requests know
  for (const Reply& reply : *replies) {
    // The PING's error (NOAUTH, NOPERM, BUSY...) is what the calls get
    // too: they report it themselves. Any reply shows the stream works.
    if (!reply.is_error() || (options_.password.empty() && options_.db == 0)) continue;
    const bool select =
        reply.str.find("DB index") != std::string::npos || reply.str.starts_with("ERR SELECT");
    const std::string context = select ? StrCat("selecting db ", options_.db, " (redis_url's /",
                                                options_.db, ") on ", address_)
                                       : StrCat("logging in to ", address_);
    Fail(StatusFromErrorReply(context, reply.str));  // names no password
    return;
  }
  bool write_now = false;
  {
    MutexLock lock(&mutex_);
    if (phase_ != Phase::kLoggingIn) return;
    phase_ = Phase::kReady;
    ever_ready_ = true;
    if (node_events_ != nullptr) node_events_->Opened();
    if (!pending_.empty()) StartWriterLocked(&write_now);
  }
  if (write_now) Flush(kCallerPasses);
}

// --- Sending ------------------------------------------------------------

bool Connection::HasReadDuty() { return tls_reader_duty != nullptr; }

bool Connection::Send(const WireBatch& batch, const std::shared_ptr<CallControl>& call,
                      BatchDone& done) {
  const bool caller_waits = batch.caller_waits;
  auto request = std::make_shared<Request>();
  request->size = batch.bytes.size();
  request->expected = batch.commands;
  request->replies.reserve(batch.commands);
  request->caller_waits = caller_waits;
  request->checked = batch.checked;
  request->call = call;
  request->owner = weak_from_this();
  bool write_now = false;
  bool disarm = false;
  absl::Status refused;
  {
    MutexLock lock(&mutex_);
    if (phase_ == Phase::kFailed) {
      // Lost after it worked: the caller tries a new connection. Never
      // opened (the server is down, or refused the log-in): that is this
      // call's answer too, as it is for every call that queued meanwhile
      // (told outside the lock).
      if (ever_ready_) return false;
      refused = failure_;
    } else {
      request->done = std::move(done);
      // A sync caller that finds the connection idle reads its own replies:
      // no hand-off to the loop's thread and back.
      if (caller_waits && phase_ == Phase::kReady && awaiting_.empty() && pending_.empty() &&
          !loop_reading_ && tls_reader_duty == nullptr && !loop_->InLoopThread() &&
          (reader_ == Reader::kNone || reader_ == Reader::kLoop)) {
        disarm = reader_ == Reader::kLoop;
        reader_ = Reader::kCaller;
        tls_reader_duty = shared_from_this();
        if (disarm) UpdateEventsLocked();
      }
      outbox_.append(batch.bytes);
      pending_.push_back(request);
      if (phase_ == Phase::kReady) StartWriterLocked(&write_now);
    }
  }
  if (!refused.ok()) {
    GiveReplies(batch.checked, call, std::move(done), NotSent(refused));
    return true;
  }
  if (call != nullptr) call->OnStop(request);
  if (write_now) Flush(kCallerPasses);
  return true;
}

void Connection::StartWriterLocked(bool* write_now) {
  if (writing_) return;               // the current writer takes the new bytes along
  if (WriteHeldBackLocked()) return;  // Deliver starts one
  // Callbacks of one round of the loop often start new calls: send them
  // together, in one system call, when the round ends — or as soon as a
  // few kilobytes are queued, so that the server works on them while the
  // loop goes on with the round.
  if (loop_->InLoopThread() && outbox_.size() < kLoopFlushBytes) {
    if (!flush_at_round_end_) {
      flush_at_round_end_ = true;
      loop_->AtRoundEnd([self = shared_from_this()] {
        bool write = false;
        {
          MutexLock lock(&self->mutex_);
          self->flush_at_round_end_ = false;
          if (!self->writing_ && self->phase_ != Phase::kFailed &&
              self->phase_ != Phase::kConnecting) {
            self->writing_ = true;
            write = true;
          }
        }
        if (write) self->Flush(kCallerPasses);
      });
    }
    return;
  }
  writing_ = true;
  *write_now = true;
}

bool Connection::TakePendingLocked(bool allowed) {
  if (!allowed || pending_.empty() || WriteHeldBackLocked()) return false;
  if (phase_ != Phase::kReady) {
    // Only the log-in goes before the connection is ready, with bytes of
    // its own: the outbox waits for its replies.
    std::shared_ptr<Request>& login = pending_.front();
    if (!login->login || login->state != Request::State::kQueued) return false;
    sending_.append(login->bytes);
    login->state = Request::State::kWritten;
    silent_since_ = SteadyClock::now();
    awaiting_.push_back(std::move(login));
    pending_.pop_front();
    return true;
  }
  // The outbox holds the bytes of every queued request, in order; those
  // stopped before they went out are cut out of it here.
  if (stopped_in_outbox_ == 0) {
    if (sending_.empty()) {
      sending_.swap(outbox_);
    } else {
      sending_.append(outbox_);
    }
  } else {
    std::size_t at = 0;
    for (const auto& request : pending_) {
      if (request->state == Request::State::kQueued) sending_.append(outbox_, at, request->size);
      at += request->size;
    }
    stopped_in_outbox_ = 0;
  }
  outbox_.clear();
  if (outbox_.capacity() > kBufferKept) std::string().swap(outbox_);
  bool took = false;
  for (auto& request : pending_) {
    if (request->state != Request::State::kQueued) continue;
    request->state = Request::State::kWritten;
    if (awaiting_.empty()) silent_since_ = SteadyClock::now();
    awaiting_.push_back(std::move(request));
    took = true;
  }
  pending_.clear();
  if (took) {
    awaiting_.back()->ends_write = true;
    ++writes_in_flight_;
  }
  // Someone must read what was written: the loop, unless a caller does.
  if (took && reader_ == Reader::kNone) {
    reader_ = Reader::kLoop;
    UpdateEventsLocked();
  }
  return took;
}

void Connection::Flush(int passes) {
  for (int refills = 0;;) {
    if (sent_ == sending_.size()) {
      MutexLock lock(&mutex_);
      sending_.clear();
      sent_ = 0;
      if (sending_.capacity() > kBufferKept) std::string().swap(sending_);
      // Bounded, so that a caller returns to its own call under load and
      // the loop returns to reading: past it, the loop writes on (EPOLLOUT).
      const bool more = phase_ != Phase::kFailed && TakePendingLocked(refills++ < passes);
      if (!more) {
        loop_writes_ = writing_ = phase_ != Phase::kFailed && HasQueuedLocked();
        UpdateEventsLocked();
        return;
      }
    }
    const IoResult sent = transport_->Send(sending_.data() + sent_, sending_.size() - sent_);
    if (sent.kind == IoResult::kDone) {
      sent_ += sent.bytes;
    } else if (sent.kind == IoResult::kWantWrite || sent.kind == IoResult::kWantRead) {
      MutexLock lock(&mutex_);
      loop_writes_ = true;  // the loop goes on when the socket drains
      UpdateEventsLocked();
      return;
    } else {
      Fail(LoggingIn()
               ? LostLoggingIn(sent)
               : absl::UnavailableError(StrCat(
                     "connection to ", address_,
                     " failed while sending: ", sent.error.ok() ? "closed" : sent.error.message(),
                     "; the commands may or may not have run")));
      return;
    }
  }
}

bool Connection::WriteHeldBackLocked() const {
  return writes_in_flight_ >= kWritesInFlight &&
         (options_.tls != nullptr || !loop_->InLoopThread());
}

bool Connection::HasQueuedLocked() const {
  if (phase_ == Phase::kReady && WriteHeldBackLocked()) return false;
  for (const auto& request : pending_) {
    if (request->state == Request::State::kQueued && (phase_ == Phase::kReady || request->login)) {
      return true;
    }
  }
  return false;
}

// --- Reading ------------------------------------------------------------

bool Connection::OnReady(std::uint32_t epoll_events) {
  bool connecting = false;
  bool handshaking = false;
  {
    MutexLock lock(&mutex_);
    if (phase_ == Phase::kFailed) return false;
    connecting = phase_ == Phase::kConnecting && transport_ == nullptr;
    handshaking = phase_ == Phase::kConnecting && transport_ != nullptr;
  }
  if (connecting) {
    OnConnected();
    if (!failed()) StepHandshake();
    return !failed();
  }
  if (handshaking) {
    StepHandshake();
    return !failed();
  }
  if ((epoll_events & EPOLLOUT) != 0) {
    bool write = false;
    {
      MutexLock lock(&mutex_);
      if (loop_writes_) {
        loop_writes_ = false;
        UpdateEventsLocked();
        write = true;
      }
    }
    if (write) Flush(1);  // then back to reading; if there is more, it comes back here
  }
  if ((epoll_events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0) return !failed();
  bool read = false;
  {
    MutexLock lock(&mutex_);
    if (reader_ == Reader::kLoop) {
      loop_reading_ = true;
      read = true;
    } else if (reader_ == Reader::kCaller) {
      // The caller reads and sees the close itself; stop reporting it here.
      events_ = 0;
      loop_->Modify(transport_->fd(), 0, this);
    }
  }
  if (!read) {
    // Closed (or unasked-for bytes) while nobody reads: idle and lost.
    bool reading_caller = false;
    {
      MutexLock lock(&mutex_);
      reading_caller = reader_ == Reader::kCaller;
    }
    if (!reading_caller) {
      Fail(absl::UnavailableError(StrCat("connection to ", address_, " was closed while idle")));
    }
    return !failed();
  }
  const bool alive = ReadAvailable();
  MutexLock lock(&mutex_);
  loop_reading_ = false;
  return alive && phase_ != Phase::kFailed;
}

bool Connection::ReadAvailable() {
  for (;;) {
    // Straight into the parser's buffer: no copy on the way.
    const IoResult received = transport_->Receive(parser_.Reserve(kReadChunk), kReadChunk);
    if (received.kind == IoResult::kDone) {
      parser_.Commit(received.bytes);
      for (;;) {
        auto more = parser_.Next(read_);
        if (!more.ok()) {
          Fail(LoggingIn()
                   ? absl::UnavailableError(StrCat(
                         "cannot connect to ", address_, ": the server's answer is not RESP (",
                         more.status().message(), ")",
                         options_.tls == nullptr ? ": if the port is a TLS port, use rediss://"
                                                 : ""))
                   : absl::UnavailableError(StrCat("connection to ", address_, ": ",
                                                   more.status().message(),
                                                   "; the commands may or may not have run")));
          return false;
        }
        if (!*more) break;
      }
      if (!read_.empty()) Deliver(read_);
      read_.clear();  // keeps its capacity: no big allocation per read
      if (failed()) return false;
      // Level-triggered: if more arrives, the loop calls again.
      if (received.bytes < kReadChunk && !transport_->HasBufferedInput()) return true;
    } else if (received.kind == IoResult::kWantRead || received.kind == IoResult::kWantWrite) {
      return true;
    } else if (LoggingIn()) {
      Fail(LostLoggingIn(received));
      return false;
    } else {
      Fail(absl::UnavailableError(
          received.kind == IoResult::kClosed
              ? StrCat("connection to ", address_,
                       " was closed by the server; the commands may or may not have run")
              : StrCat("connection to ", address_, " failed while waiting for replies: ",
                       received.error.message(), "; the commands may or may not have run")));
      return false;
    }
  }
}

void Connection::Deliver(std::vector<Reply>& replies) {
  std::vector<std::shared_ptr<Request>>& completed = delivered_;
  bool unasked = false;
  bool write_now = false;
  {
    MutexLock lock(&mutex_);
    silent_since_ = SteadyClock::now();
    for (Reply& reply : replies) {
      if (awaiting_.empty()) {
        unasked = phase_ != Phase::kFailed;
        break;
      }
      Request& oldest = *awaiting_.front();
      // A request completed early (stopped) still takes its replies off
      // the stream, and drops them.
      if (oldest.state == Request::State::kWritten) oldest.replies.push_back(std::move(reply));
      if (++oldest.received == oldest.expected) {
        if (oldest.ends_write) --writes_in_flight_;
        if (oldest.state == Request::State::kWritten) {
          oldest.state = Request::State::kCompleted;
          completed.push_back(std::move(awaiting_.front()));
        }
        awaiting_.pop_front();
      }
    }
    // A write came back: what callers queued meanwhile goes out together.
    if (phase_ == Phase::kReady && !pending_.empty()) {
      StartWriterLocked(&write_now);
    }
  }
  if (write_now) Flush(kCallerPasses);
  Complete(completed);
  completed.clear();  // keeps its capacity: no big allocation per read
  if (unasked) {
    Fail(absl::UnavailableError(StrCat("connection to ", address_,
                                       ": the server sent a reply nobody asked for; the "
                                       "commands may or may not have run")));
  }
}

void Connection::ReadForCaller(CallControl& call) {
  std::shared_ptr<Connection> self = std::move(tls_reader_duty);
  if (self == nullptr) return;
  const int fd = self->transport_->fd();
  for (;;) {
    SteadyClock::time_point wake;
    {
      MutexLock lock(&self->mutex_);
      if (self->phase_ == Phase::kFailed || !self->HasRepliesFor(call)) break;
      // Until the deadline, or until the server has been silent for the
      // command timeout while replies are due (not yet: another writer may
      // still be sending this call's bytes).
      wake = call.deadline();
      if (!self->awaiting_.empty()) {
        wake = std::min(wake, self->silent_since_ + self->options_.command_timeout);
      }
    }
    const auto now = SteadyClock::now();
    if (!self->transport_->HasBufferedInput()) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
      pollfd ready{fd, POLLIN, 0};
      // Options::busy_poll: perhaps look without sleeping for a while first.
      int polled = self->busy_poll_.Wait(
          [&ready] { return poll(&ready, 1, 0); },
          [&ready, wait] {
            if (wait <= 0) return 0;
            return poll(&ready, 1, static_cast<int>(std::min<long>(wait, 1 << 30)));
          });
      if (polled == 0) {
        if (SteadyClock::now() >= call.deadline()) {
          call.Stop(absl::DeadlineExceededError("the call's deadline passed"));
          continue;  // its requests completed; reading goes back to the loop
        }
        if (SteadyClock::now() >= wake) self->Sweep(SteadyClock::now());
        continue;
      }
      if (polled < 0 && errno == EINTR) continue;
    }
    if (!self->ReadAvailable()) break;
  }
  self->ReleaseCallerReader();
}

bool Connection::HasRepliesFor(const CallControl& call) const {
  for (const auto& request : awaiting_) {
    if (request->call.get() == &call && request->state == Request::State::kWritten) return true;
  }
  for (const auto& request : pending_) {
    if (request->call.get() == &call && request->state == Request::State::kQueued) return true;
  }
  return false;
}

void Connection::ReleaseCallerReader() {
  MutexLock lock(&mutex_);
  if (reader_ != Reader::kCaller) return;
  // Others' replies still due (they queued behind this caller, or its own
  // stopped request's late replies): the loop reads them.
  const bool due = !awaiting_.empty() || !pending_.empty();
  reader_ = due ? Reader::kLoop : Reader::kNone;
  if (phase_ != Phase::kFailed) UpdateEventsLocked();
}

void Connection::UpdateEventsLocked() {
  if (!watched_ || transport_ == nullptr || phase_ == Phase::kFailed) return;
  std::uint32_t events = EPOLLRDHUP;
  if (reader_ == Reader::kLoop) events |= EPOLLIN;
  if (loop_writes_) events |= EPOLLOUT;
  if (events == events_) return;
  events_ = events;
  loop_->Modify(transport_->fd(), events, this);
}

// --- Ending requests and connections -----------------------------------

bool Connection::LoggingIn() const {
  MutexLock lock(&mutex_);
  return phase_ == Phase::kLoggingIn;
}

absl::Status Connection::LostLoggingIn(const IoResult& result) const {
  // TLS errors say what happened themselves (tls.cc).
  const absl::string_view message = result.error.message();
  if (result.kind == IoResult::kError && message.substr(0, 5) == "TLS: ") {
    return absl::UnavailableError(
        StrCat("cannot connect to ", address_, ": ", result.error.message()));
  }
  const std::string why =
      result.kind == IoResult::kError ? std::string(result.error.message()) : std::string("closed");
  // A TLS port drops a connection whose first bytes are no TLS record.
  return absl::UnavailableError(StrCat(
      "cannot connect to ", address_, ": the server ended the connection at the first command (",
      why, ")", options_.tls == nullptr ? ": if the port is a TLS port, use rediss://" : ""));
}

void Connection::Stop(Request& request, const absl::Status& why) {
  std::vector<std::shared_ptr<Request>> completed;
  {
    MutexLock lock(&mutex_);
    if (request.state == Request::State::kQueued) {
      // It stays in the queue, dead: its bytes are cut out of the outbox
      // when the queue is written.
      auto it = std::find_if(pending_.begin(), pending_.end(),
                             [&request](const auto& queued) { return queued.get() == &request; });
      if (it == pending_.end()) return;
      completed.push_back(*it);
      ++stopped_in_outbox_;
      if (stopped_in_outbox_ == pending_.size()) {  // all dead: nothing left to write
        pending_.clear();
        outbox_.clear();
        stopped_in_outbox_ = 0;
      }
      request.status =
          NotSent(absl::Status(why.code(), StrCat(why.message(), " before it was sent to ",
                                                  address_, "; nothing was sent")));
    } else if (request.state == Request::State::kWritten) {
      // Its replies are still read off the stream, and dropped.
      auto it = std::find_if(awaiting_.begin(), awaiting_.end(),
                             [&request](const auto& written) { return written.get() == &request; });
      if (it == awaiting_.end()) return;
      completed.push_back(*it);
      request.status =
          absl::Status(why.code(), StrCat(why.message(), " after it was sent to ", address_,
                                          "; the command may or may not have run"));
    } else {
      return;
    }
    request.state = Request::State::kCompleted;
  }
  Complete(completed);
}

void Connection::Fail(const absl::Status& why) {
  std::vector<std::shared_ptr<Request>> completed;
  bool failed_now = false;
  bool was_ready = false;
  {
    MutexLock lock(&mutex_);
    failed_now = phase_ != Phase::kFailed;
    was_ready = ever_ready_;
    FailLocked(why, completed);
  }
  // Told outside the lock (the log sink is the application's code); the
  // executor closing is no failure of the node.
  if (failed_now && node_events_ != nullptr && why.code() != absl::StatusCode::kCancelled) {
    node_events_->Failed(was_ready, why);
  }
  Complete(completed);
}

void Connection::FailLocked(const absl::Status& why,
                            std::vector<std::shared_ptr<Request>>& completed) {
  if (phase_ == Phase::kFailed) return;
  const bool was_ready = phase_ == Phase::kReady;
  phase_ = Phase::kFailed;
  failure_ = why;
  failed_.store(true, std::memory_order_release);
  for (auto& request : awaiting_) {
    if (request->state != Request::State::kWritten) continue;
    request->state = Request::State::kCompleted;
    request->status = why;
    completed.push_back(std::move(request));
  }
  awaiting_.clear();
  writes_in_flight_ = 0;
  for (auto& request : pending_) {
    if (request->state != Request::State::kQueued) continue;
    request->state = Request::State::kCompleted;
    // Not written: whatever the reason, nothing of it ran.
    request->status = NotSent(
        was_ready ? absl::Status(why.code(), StrCat(why.message(), "; nothing was sent")) : why);
    completed.push_back(std::move(request));
  }
  pending_.clear();
  outbox_.clear();
  stopped_in_outbox_ = 0;
  // Wakes the loop (and a reading caller), which then let go of the socket.
  if (transport_ != nullptr) transport_->Shutdown();
  if (connecting_.get() >= 0) shutdown(connecting_.get(), SHUT_RDWR);
}

void Connection::Complete(std::vector<std::shared_ptr<Request>>& completed) {
  const auto give = [](Request& request) {
    BatchDone done = std::move(request.done);
    if (!done) return;
    absl::StatusOr<std::vector<Reply>> replies = std::move(request.replies);
    if (!request.status.ok()) replies = request.status;
    GiveReplies(request.checked, request.call, std::move(done), std::move(replies));
  };
  // The waiting callers first, woken together (with those of the loop's
  // round); then the callbacks, which may wait for what those callers do.
  WakeBatch wakes;
  bool callbacks = false;
  for (auto& request : completed) {
    if (request->caller_waits) {
      give(*request);
    } else {
      callbacks = true;
    }
  }
  if (!callbacks) return;
  WakeBatch::WakeDue();
  for (auto& request : completed) {
    if (!request->caller_waits) give(*request);
  }
}

bool Connection::idle() const {
  MutexLock lock(&mutex_);
  return awaiting_.empty() && pending_.empty() && phase_ != Phase::kFailed;
}

void Connection::Sweep(SteadyClock::time_point now) {
  std::vector<std::shared_ptr<CallControl>> late;
  bool silent = false;
  {
    MutexLock lock(&mutex_);
    if (phase_ == Phase::kFailed) return;
    // Calls with the default deadline have no timer of their own (one per
    // call would cost more than the call): their requests are looked at
    // here. Explicit deadlines have their timer.
    for (const auto* queue : {&pending_, &awaiting_}) {
      for (const auto& request : *queue) {
        if (request->state != Request::State::kCompleted && request->call != nullptr &&
            request->call->deadline() <= now) {
          late.push_back(request->call);
        }
      }
    }
    silent = phase_ == Phase::kReady && !awaiting_.empty() &&
             now - silent_since_ >= options_.command_timeout;
  }
  for (const auto& call : late)
    call->Stop(absl::DeadlineExceededError("the call's deadline passed"));
  if (!silent) return;
  Fail(absl::UnavailableError(StrCat("no reply from ", address_, " for ",
                                     Millis(options_.command_timeout),
                                     " while replies were due; the commands may or may not have "
                                     "run")));
}

}  // namespace sfroute::internal
