// The demo's scheduler: what players do next, shared by the worker threads.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_EVENT_QUEUE_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_EVENT_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <queue>
#include <vector>

namespace sfroute::demo {

using SteadyTime = std::chrono::steady_clock::time_point;

struct Event {
  // kProbeCrashed, kRestartCrashed: steps of the crash, not a player's.
  enum class Kind { kArrive, kDisconnect, kReconnect, kProbeCrashed, kRestartCrashed };
  Kind kind;
  int player = -1;     // index into the simulation's records
  bool retry = false;  // tried before: his pod was down
};

// Two lanes: "ready" events (arrivals) run in FIFO order as soon as a worker
// is free; timed events (disconnects, reconnects, retries) run when due and go before
// ready ones, because a reconnect that waited behind thousands of arrivals
// would miss its grace period. Thread-safe.
class EventQueue {
 public:
  void PushReady(Event event);
  void PushAt(SteadyTime due, Event event);

  // Blocks until an event can run and returns it; empty once nothing is
  // queued and no event handed out is still running. Every event returned
  // must be followed by Done(), after any events it schedules were pushed.
  std::optional<Event> Pop();
  void Done();

 private:
  struct Timed {
    SteadyTime due;
    std::uint64_t seq;  // keeps equal due times in push order
    Event event;
    bool operator>(const Timed& other) const {
      return due != other.due ? due > other.due : seq > other.seq;
    }
  };
  // The next event that may run at `now`, or empty.
  std::optional<Event> TakeLocked(SteadyTime now);
  SteadyTime NextWakeLocked() const;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Event> ready_;
  std::priority_queue<Timed, std::vector<Timed>, std::greater<Timed>> timed_;
  std::uint64_t next_seq_ = 0;
  int running_ = 0;
};

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_EVENT_QUEUE_H_
