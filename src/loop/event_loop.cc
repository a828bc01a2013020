#include "loop/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "loop/busy_poll.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

std::int64_t Nanos(SteadyClock::time_point when) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
}

constexpr std::int64_t kNoTimer = std::numeric_limits<std::int64_t>::max();

}  // namespace

absl::StatusOr<std::shared_ptr<EventLoop>> EventLoop::Start(std::chrono::microseconds busy_poll) {
  UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
  UniqueFd wakeup(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (epoll.get() < 0 || wakeup.get() < 0) {
    return absl::InternalError(StrCat("cannot start the I/O thread: ", std::strerror(errno)));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wakeup
  if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wakeup.get(), &event) != 0) {
    return absl::InternalError(StrCat("cannot start the I/O thread: ", std::strerror(errno)));
  }
  std::shared_ptr<EventLoop> loop(new EventLoop(std::move(epoll), std::move(wakeup), busy_poll));
  loop->thread_ = std::thread([raw = loop.get()] { raw->Run(); });
  return loop;
}

EventLoop::EventLoop(UniqueFd epoll, UniqueFd wakeup, std::chrono::microseconds busy_poll)
    : epoll_(std::move(epoll)), wakeup_(std::move(wakeup)), busy_poll_(busy_poll) {}

EventLoop::~EventLoop() { Stop(); }

void EventLoop::Stop() {
  {
    MutexLock lock(&mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_pending_.store(false);
  Wake();
  if (InLoopThread()) {
    // Inside one of its own tasks: the thread ends once that returns,
    // and keeps the loop alive until then.
    MutexLock lock(&mutex_);
    keepalive_ = shared_from_this();
    thread_.detach();
    return;
  }
  thread_.join();
  ReleaseHandlers();
}

void EventLoop::ReleaseHandlers() {
  // Handlers are destroyed outside the lock: that may close sockets, and
  // their destructors may touch the loop.
  std::unordered_map<Handler*, Watched> handlers;
  {
    MutexLock lock(&mutex_);
    stopped_ = true;
    handlers.swap(handlers_);
    posted_.clear();
    new_timers_.clear();
  }
}

void EventLoop::Every(SteadyClock::duration period, absl::AnyInvocable<bool()> task) {
  RunAt(SteadyClock::now() + period, [this, period, task = std::move(task)]() mutable {
    if (!task()) return;
    {
      MutexLock lock(&mutex_);
      if (stopping_) return;
    }
    Every(period, std::move(task));
  });
}

void EventLoop::Wake() {
  if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
  const std::uint64_t one = 1;
  (void)!write(wakeup_.get(), &one, sizeof one);
}

void EventLoop::Post(Task task) {
  {
    MutexLock lock(&mutex_);
    if (stopped_) return;
    posted_.push_back(std::move(task));
  }
  if (!InLoopThread()) Wake();
}

void EventLoop::RunAt(SteadyClock::time_point when, Task task) {
  if (InLoopThread()) {
    timers_.push(Timer{when, timer_order_++, std::move(task)});
    return;
  }
  {
    MutexLock lock(&mutex_);
    if (stopped_) return;
    new_timers_.push_back(Timer{when, 0, std::move(task)});
  }
  // The loop sleeps until its next timer: wake it only for an earlier one.
  if (Nanos(when) < next_wake_ns_.load()) Wake();
}

void EventLoop::AtRoundEnd(Task task) { round_end_.push_back(std::move(task)); }

absl::Status EventLoop::Watch(int fd, std::uint32_t events, std::shared_ptr<Handler> handler) {
  Handler* const key = handler.get();
  {
    MutexLock lock(&mutex_);
    handlers_.emplace(key, Watched{fd, std::move(handler)});
  }
  epoll_event event{};
  event.events = events;
  event.data.ptr = key;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    const int saved_errno = errno;
    MutexLock lock(&mutex_);
    handlers_.erase(key);
    return absl::InternalError(StrCat("cannot watch a socket: ", std::strerror(saved_errno)));
  }
  return absl::OkStatus();
}

bool EventLoop::Modify(int fd, std::uint32_t events, Handler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  // ENOENT: no longer watched, because its handler is done already.
  return epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event) == 0 || errno == ENOENT;
}

bool EventLoop::TakePosted(std::vector<Task>& tasks) {
  MutexLock lock(&mutex_);
  tasks.swap(posted_);
  for (Timer& timer : new_timers_) {
    timer.order = timer_order_++;
    timers_.push(std::move(timer));
  }
  new_timers_.clear();
  return stopping_;
}

int EventLoop::MillisecondsToNextTimer(SteadyClock::time_point now) const {
  if (timers_.empty()) return -1;
  const auto wait = timers_.top().when - now;
  if (wait <= SteadyClock::duration::zero()) return 0;
  // Rounded up: waking a little late is fine, waking early spins.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return ms > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max()
                                              : static_cast<int>(ms);
}

void EventLoop::RunDueTimers() {
  const auto now = SteadyClock::now();
  while (!timers_.empty() && timers_.top().when <= now) {
    Task task = std::move(timers_.top().task);
    timers_.pop();
    std::move(task)();
  }
}

void EventLoop::Run() {
  thread_id_.store(std::this_thread::get_id());
  RunRounds();
  // Stopped from inside one of its tasks: nobody joins this thread, which
  // lets go of the loop itself (perhaps the last reference).
  std::shared_ptr<EventLoop> self;
  {
    MutexLock lock(&mutex_);
    self.swap(keepalive_);
  }
  if (self != nullptr) ReleaseHandlers();
}

void EventLoop::RunRounds() {
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  std::vector<Task> tasks;
  for (;;) {
    const bool stopping = TakePosted(tasks);
    for (Task& task : tasks) std::move(task)();
    const bool ran_tasks = !tasks.empty();
    tasks.clear();
    RunDueTimers();
    while (!round_end_.empty()) {
      std::vector<Task> round_end;
      round_end.swap(round_end_);
      for (Task& task : round_end) std::move(task)();
    }
    if (stopping && !ran_tasks) {
      // Whatever is left runs now: timers (a retry waiting for its backoff
      // ends as the executor does), then what they posted.
      if (!timers_.empty()) {
        while (!timers_.empty()) {
          Task task = std::move(timers_.top().task);
          timers_.pop();
          std::move(task)();
        }
        continue;
      }
      MutexLock lock(&mutex_);
      if (posted_.empty() && new_timers_.empty()) break;
      continue;
    }
    if (ran_tasks) continue;  // they may have posted more: no sleeping yet

    const int timeout = MillisecondsToNextTimer(SteadyClock::now());
    if (timeout != 0) {
      // About to sleep: say until when, then look once more. A timer set
      // from another thread after this look sees that time and wakes the
      // loop if it is due earlier; one set before it is taken now.
      next_wake_ns_.store(timeout < 0 ? kNoTimer : Nanos(timers_.top().when));
      MutexLock lock(&mutex_);
      if (!posted_.empty() || !new_timers_.empty() || stopping_) {
        next_wake_ns_.store(0);
        continue;
      }
    }
    // After a round with work more is likely to come soon: poll a while
    // before sleeping (Options::busy_poll).
    int ready = 0;
    if (busy_ && busy_poll_.count() > 0) {
      ready = PollUntil(SteadyClock::now() + busy_poll_,
                        [&] { return epoll_wait(epoll_.get(), events, kMaxEvents, 0); });
    }
    if (ready == 0) ready = epoll_wait(epoll_.get(), events, kMaxEvents, timeout);
    busy_ = ready > 0;
    next_wake_ns_.store(0);  // awake: it looks at new timers before it sleeps again
    if (ready < 0 && errno != EINTR) return;  // only on a programming error
    // The sync callers whose replies came from any socket of this round
    // are woken together, once every socket was read.
    WakeBatch wakes;
    for (int i = 0; i < ready; ++i) {
      auto* handler = static_cast<Handler*>(events[i].data.ptr);
      if (handler == nullptr) {
        std::uint64_t count;
        (void)!read(wakeup_.get(), &count, sizeof count);
        wake_pending_.store(false, std::memory_order_release);
        continue;
      }
      if (!handler->OnReady(events[i].events)) Forget(handler);
    }
  }
}

void EventLoop::Forget(Handler* handler) {
  std::shared_ptr<Handler> last_reference;  // released outside the lock
  MutexLock lock(&mutex_);
  auto it = handlers_.find(handler);
  if (it == handlers_.end()) return;
  // The socket may outlive the watch (its owners still hold it): it must
  // leave the epoll set, or it would keep reporting it is closed.
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
  last_reference = std::move(it->second.handler);
  handlers_.erase(it);
}

}  // namespace sfroute::internal
