// BusyPoll: a wait polls first while polling has lately made waits shorter
// by at least 2 µs, and sleeps at once otherwise. Played on a clock of the
// test's own, so that each way takes exactly as long as the case says: a
// look costs 1 µs, a sleep ends at the reply plus a wake-up.
#include "loop/busy_poll.h"

#include <chrono>
#include <functional>

#include "gtest/gtest.h"

namespace sfroute::internal {
namespace {

using std::chrono::microseconds;

struct TestClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<TestClock>;
  static constexpr bool is_steady = true;
  static inline time_point current{};
  static time_point now() { return current; }
};

// When the reply comes, counted from the start of the wait, given whether
// the wait polls first (a server kept off its core by the poll answers
// later).
using ReplyAfter = std::function<microseconds(bool polls)>;

constexpr microseconds kWakeUp{15};  // a sleeper's wake-up

// Runs `waits` waits with replies coming as `reply_after` says; returns how
// many polled first.
int PollingWaits(BasicBusyPoll<TestClock>& busy_poll, int waits, const ReplyAfter& reply_after) {
  int polled = 0;
  for (int i = 0; i < waits; ++i) {
    const TestClock::time_point start = TestClock::now();
    bool looked = false;
    auto comes = [&] { return start + reply_after(looked); };
    const int ready = busy_poll.Wait(
        [&] {
          looked = true;
          TestClock::current += microseconds(1);
          return TestClock::now() >= comes() ? 1 : 0;
        },
        [&] {
          TestClock::current = std::max(TestClock::now(), comes()) + kWakeUp;
          return 1;
        });
    EXPECT_EQ(ready, 1);
    polled += looked;
  }
  return polled;
}

// The reply comes 20 µs after the command: a poll catches it, a sleeper
// wakes 15 µs later.
microseconds Soon(bool) { return microseconds(20); }
// A server that shares the poller's core: 40 µs, but only after the poll
// (50 µs) gave the core back.
microseconds AfterThePoll(bool polls) { return microseconds(polls ? 50 + 40 : 40); }
// Farther away than the poll: the poll ends, then the wait sleeps anyway.
microseconds Far(bool) { return microseconds(300); }

TEST(BusyPollTest, KeepsPollingWhileThePollCatchesTheReply) {
  BasicBusyPoll<TestClock> busy_poll(microseconds(50));
  // One wait in 16 sleeps, to keep the sleeping figure current.
  EXPECT_EQ(PollingWaits(busy_poll, 160, Soon), 150);
}

TEST(BusyPollTest, SleepsAtOnceWhenThePollHoldsTheReplyBack) {
  BasicBusyPoll<TestClock> busy_poll(microseconds(50));
  // Polling until the 16th wait, the first to sleep: it was faster.
  EXPECT_EQ(PollingWaits(busy_poll, 16, AfterThePoll), 15);
  // From then on one wait in 16 polls, to see whether polling pays again.
  EXPECT_EQ(PollingWaits(busy_poll, 160, AfterThePoll), 10);
}

TEST(BusyPollTest, SleepsAtOnceWhenPollingSavesNothing) {
  // Both ways wait for the reply and a wake-up: the poll is not worth its
  // CPU.
  BasicBusyPoll<TestClock> busy_poll(microseconds(50));
  EXPECT_EQ(PollingWaits(busy_poll, 16, Far), 15);
  EXPECT_EQ(PollingWaits(busy_poll, 160, Far), 10);
}

TEST(BusyPollTest, FollowsTheMachineWhenItChanges) {
  BasicBusyPoll<TestClock> busy_poll(microseconds(50));
  EXPECT_EQ(PollingWaits(busy_poll, 160, AfterThePoll), 24);
  // Polling pays now. Sleeping, the waits try a poll one wait in 16; after
  // the fourth such try, four of the last eight polls are the new ones, and
  // polling's median (the lower middle) says it is faster again.
  EXPECT_EQ(PollingWaits(busy_poll, 64, Soon), 4);
  EXPECT_EQ(PollingWaits(busy_poll, 160, Soon), 150);
  // And back: five polls that hold the reply back (the lower middle of
  // eight is the fourth), then one wait in 16.
  EXPECT_EQ(PollingWaits(busy_poll, 160, AfterThePoll), 5 + 10);
}

TEST(BusyPollTest, NoBudgetNeverPolls) {
  BasicBusyPoll<TestClock> busy_poll(microseconds(0));
  EXPECT_EQ(PollingWaits(busy_poll, 100, Soon), 0);
}

}  // namespace
}  // namespace sfroute::internal
