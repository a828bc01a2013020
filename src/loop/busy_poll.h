// A sync caller's wait for its reply: Options::busy_poll, spent only while
// it pays. Not thread-safe: a connection's reader has its own.
#ifndef SFROUTE_SRC_LOOP_BUSY_POLL_H_
#define SFROUTE_SRC_LOOP_BUSY_POLL_H_

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace sfroute::internal {

// Polling before sleeping saves a waiter the sleep and the wake-up when the
// reply comes soon. Where the servers share the client's cores it can cost
// more than it saves: a polling core is never idle, so the kernel neither
// wakes a server there nor moves one there, and the reply waits for the
// poll to end. Which way is faster depends on the machine and changes with
// it (one caller's cluster write on the 2-core test machine: 60 µs polling
// and 72 sleeping at once in one hour, 100 and 62 in another;
// docs/performance.md). So the wait measures both: it goes the way whose
// waits have lately been shorter (the median, tracked), and the other way
// one wait in kTryOtherEvery to keep that way's figure current.
class BusyPoll {
 public:
  explicit BusyPoll(std::chrono::microseconds budget) : budget_(budget) {}

  // `look` checks without sleeping, `sleep` sleeps until something is
  // ready or a timeout; each returns > 0 ready, 0 nothing, < 0 an error.
  // Polls with `look` for up to the budget if this wait polls, then sleeps
  // if nothing came. Returns the last result.
  template <typename Look, typename Sleep>
  int Wait(Look&& look, Sleep&& sleep) {
    const bool polls = budget_.count() > 0 && (polling_ != (++waits_ % kTryOtherEvery == 0));
    const auto start = std::chrono::steady_clock::now();
    int ready = 0;
    for (auto until = start + budget_; polls && ready == 0;) {
      ready = look();
      if (std::chrono::steady_clock::now() >= until) break;
    }
    if (ready == 0) ready = sleep();
    if (ready > 0 && budget_.count() > 0) {
      waited_[polls].Add(std::chrono::steady_clock::now() - start);
      if (waited_[0].known() && waited_[1].known()) polling_ = waited_[1].ns <= waited_[0].ns;
    }
    return ready;
  }

 private:
  static constexpr std::uint32_t kTryOtherEvery = 16;

  // A running median of wait times: each sample moves it a step (1/32 of
  // it) towards itself, so a rare long wait (a preempted server) moves it
  // no more than a short one.
  struct Median {
    std::int64_t ns = -1;  // -1: no sample yet
    bool known() const { return ns >= 0; }
    void Add(std::chrono::steady_clock::duration waited) {
      const std::int64_t sample = std::chrono::nanoseconds(waited).count();
      const std::int64_t step = ns / 32 + 100;
      if (!known()) {
        ns = sample;
      } else if (sample > ns) {
        ns += step;
      } else {
        ns -= std::min(step, ns);
      }
    }
  };

  const std::chrono::microseconds budget_;
  bool polling_ = true;  // how waits go, but one in kTryOtherEvery
  std::uint32_t waits_ = 0;
  Median waited_[2];  // [false]: sleeping at once, [true]: polling first
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_LOOP_BUSY_POLL_H_
