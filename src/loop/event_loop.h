// The executor's one thread: it waits on every socket at once (epoll), runs
// timers (deadlines, health checks, retry backoff, periodic work) and the
// tasks other threads post to it (async completions). Nothing it runs may
// block. Thread-safe.
#ifndef SFROUTE_SRC_LOOP_EVENT_LOOP_H_
#define SFROUTE_SRC_LOOP_EVENT_LOOP_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "loop/unique_fd.h"
#include "sync.h"

namespace sfroute::internal {

using SteadyClock = std::chrono::steady_clock;
using Task = absl::AnyInvocable<void() &&>;

class EventLoop : public std::enable_shared_from_this<EventLoop> {
 public:
  // A socket's owner. OnReady runs on the loop's thread; returning false
  // ends the watch (the loop lets go of the handler).
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual bool OnReady(std::uint32_t epoll_events) = 0;
  };

  // `busy_poll`: how long to poll after a round with work before sleeping.
  static absl::StatusOr<std::shared_ptr<EventLoop>> Start(
      std::chrono::microseconds busy_poll = std::chrono::microseconds(0));
  ~EventLoop();  // Stop()
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs `task` on the loop's thread, after the current one (never inside
  // this call).
  void Post(Task task);

  // Runs `task` on the loop's thread once `when` has come. Timers cannot be
  // taken back: a task whose work is done by then just returns.
  void RunAt(SteadyClock::time_point when, Task task);

  // Runs `task` on the loop's thread every `period` for as long as it
  // returns true (and the loop runs).
  void Every(SteadyClock::duration period, absl::AnyInvocable<bool()> task);

  // Runs `task` at the end of the loop's current round of events and tasks,
  // on the loop's thread; called from the loop's thread only. What many
  // callbacks of one round write to a socket goes out in one send.
  void AtRoundEnd(Task task);

  // Watches `fd` for `events` (EPOLLIN, EPOLLOUT, EPOLLRDHUP...) until the
  // handler returns false or Unwatch. The loop keeps the handler alive as
  // long as it watches; `fd` must stay open as long.
  absl::Status Watch(int fd, std::uint32_t events, std::shared_ptr<Handler> handler);
  // Changes the events of a watched fd. False when epoll refuses.
  bool Modify(int fd, std::uint32_t events, Handler* handler);

  bool InLoopThread() const { return std::this_thread::get_id() == thread_id_.load(); }

  // Runs what is posted until nothing more is (tasks may post more), runs
  // the timers that are left at once (their work ends with the executor),
  // stops the thread and lets go of every handler. Further posts and timers
  // are dropped. On the loop's own thread (inside a callback) it cannot
  // wait for itself: the thread finishes after the callback, on its own.
  void Stop();

 private:
  struct Timer {
    SteadyClock::time_point when;
    std::uint64_t order;  // FIFO among equal times
    mutable Task task;
    bool operator>(const Timer& other) const {
      return when != other.when ? when > other.when : order > other.order;
    }
  };
  struct Watched {
    int fd;
    std::shared_ptr<Handler> handler;
  };

  EventLoop(UniqueFd epoll, UniqueFd wakeup, std::chrono::microseconds busy_poll);
  // The thread: rounds until stopped.
  void Run();
  void RunRounds();
  void ReleaseHandlers();
  // Writes the eventfd unless a wake-up is already on its way.
  void Wake();
  // Moves posted tasks and new timers to the loop's own lists; returns
  // whether the loop is stopping.
  bool TakePosted(std::vector<Task>& tasks);
  int MillisecondsToNextTimer(SteadyClock::time_point now) const;
  void RunDueTimers();
  void Forget(Handler* handler);

  const UniqueFd epoll_;
  const UniqueFd wakeup_;  // an eventfd
  const std::chrono::microseconds busy_poll_;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_;
  std::atomic<bool> wake_pending_{false};
  // When the loop will wake on its own (its next timer); a timer set from
  // another thread wakes it only if it is due earlier.
  std::atomic<std::int64_t> next_wake_ns_{0};

  Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopped_ ABSL_GUARDED_BY(mutex_) = false;
  // Set when stopped from its own thread: the thread holds the loop.
  std::shared_ptr<EventLoop> keepalive_ ABSL_GUARDED_BY(mutex_);
  std::vector<Task> posted_ ABSL_GUARDED_BY(mutex_);
  std::vector<Timer> new_timers_ ABSL_GUARDED_BY(mutex_);
  std::unordered_map<Handler*, Watched> handlers_ ABSL_GUARDED_BY(mutex_);

  // The loop's thread only.
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::uint64_t timer_order_ = 0;
  std::vector<Task> round_end_;
  bool busy_ = false;
};

// How often connections look for calls past their default deadline and for
// servers gone silent: a tenth of the command timeout, from 1 ms to 100 ms
// (how late a default deadline may fire).
inline SteadyClock::duration SweepPeriod(std::chrono::milliseconds command_timeout) {
  return std::clamp<SteadyClock::duration>(command_timeout / 10, std::chrono::milliseconds(1),
                                           std::chrono::milliseconds(100));
}

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_LOOP_EVENT_LOOP_H_
