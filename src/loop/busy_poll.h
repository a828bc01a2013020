// Options::busy_poll: polling before sleeping (PollUntil, the I/O thread's
// and a reading caller's), and a sync caller's wait for its reply, which
// polls only while that pays (BusyPoll; not thread-safe: a connection's
// reader has its own).
#ifndef SFROUTE_SRC_LOOP_BUSY_POLL_H_
#define SFROUTE_SRC_LOOP_BUSY_POLL_H_

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>

namespace sfroute::internal {

// Calls `look` (a check that does not sleep: > 0 ready, 0 nothing yet, < 0
// an error) until it returns other than 0 or `until` has passed, at least
// once. Returns its last result.
template <typename Clock = std::chrono::steady_clock, typename Look>
int PollUntil(typename Clock::time_point until, Look&& look) {
  int ready = 0;
  do {
    ready = look();
  } while (ready == 0 && Clock::now() < until);
  return ready;
}

// Polling before sleeping saves a waiter the sleep and the wake-up when the
// reply comes soon. Where the servers share the client's cores it can cost
// more than it saves: a polling core is never idle, so the kernel neither
// wakes a server there nor moves one there, and the reply waits for the
// poll to end. Which way is faster depends on the machine and changes with
// it (one caller's cluster write on the 2-core test machine: 60 µs polling
// and 72 sleeping at once in one hour, 100 and 62 in another;
// docs/performance.md). So the wait measures both: it polls while polling
// has lately made its waits shorter (the median of the last few) by at least
// kPollMustSave, else sleeps at once (a poll that saves nothing only
// burns the CPU: a server farther away than the budget), and goes the
// other way one wait in kTryOtherEvery to keep that way's figure current.
// `Clock`: the steady clock; a test's own to play given waits.
template <typename Clock>
class BasicBusyPoll {
 public:
  explicit BasicBusyPoll(std::chrono::microseconds budget) : budget_(budget) {}

  // `look` checks without sleeping, `sleep` sleeps until something is
  // ready or a timeout; each returns > 0 ready, 0 nothing, < 0 an error.
  // Polls with `look` for up to the budget if this wait polls, then sleeps
  // if nothing came. Returns the last result.
  template <typename Look, typename Sleep>
  int Wait(Look&& look, Sleep&& sleep) {
    const bool polls = budget_.count() > 0 && (polling_ != (++waits_ % kTryOtherEvery == 0));
    const auto start = Clock::now();
    int ready = polls ? PollUntil<Clock>(start + budget_, look) : 0;
    if (ready == 0) ready = sleep();
    if (ready > 0 && budget_.count() > 0) {
      waited_[polls].Add(Clock::now() - start);
      if (waited_[0].known() && waited_[1].known()) {
        polling_ = waited_[1].Median() + kPollMustSave.count() <= waited_[0].Median();
      }
    }
    return ready;
  }

 private:
  static constexpr std::uint32_t kTryOtherEvery = 16;
  static constexpr std::chrono::nanoseconds kPollMustSave{2000};

  // The last kWindow waits one way and their median (the lower middle):
  // a few long waits (a preempted server) do not move it, and a change of
  // the machine shows in it after a few waits.
  struct Recent {
    static constexpr std::uint32_t kWindow = 8;
    std::array<std::int64_t, kWindow> ns{};
    std::uint32_t count = 0;
    bool known() const { return count > 0; }
    void Add(typename Clock::duration waited) {
      ns[count++ % kWindow] = std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count();
      if (count == 2 * kWindow) count = kWindow;  // full: counting on would overflow
    }
    std::int64_t Median() const {
      std::array<std::int64_t, kWindow> sorted = ns;
      const std::uint32_t n = std::min(count, kWindow);
      std::nth_element(sorted.begin(), sorted.begin() + (n - 1) / 2, sorted.begin() + n);
      return sorted[(n - 1) / 2];
    }
  };

  const std::chrono::microseconds budget_;
  bool polling_ = true;  // how waits go, but one in kTryOtherEvery
  std::uint32_t waits_ = 0;
  Recent waited_[2];  // [false]: sleeping at once, [true]: polling first
};

using BusyPoll = BasicBusyPoll<std::chrono::steady_clock>;

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_LOOP_BUSY_POLL_H_
