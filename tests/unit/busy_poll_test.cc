// BusyPoll: a wait polls first while polling has lately been the faster
// way, and sleeps at once while sleeping has. The two ways are made to
// differ by far more than a scheduler's hiccup: a look that answers at
// once against a sleep of 300 µs, or a look that never answers (the poll
// runs its whole 50 µs budget) against a sleep that answers at once.
#include "loop/busy_poll.h"

#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace sfroute::internal {
namespace {

using std::chrono::microseconds;

// Runs `waits` waits; returns how many of them polled.
template <typename Look, typename Sleep>
int PollingWaits(BusyPoll& busy_poll, int waits, Look look, Sleep sleep) {
  int polled = 0;
  for (int i = 0; i < waits; ++i) {
    bool looked = false;
    const int ready = busy_poll.Wait(
        [&] {
          looked = true;
          return look();
        },
        sleep);
    EXPECT_EQ(ready, 1);
    polled += looked;
  }
  return polled;
}

int AtOnce() { return 1; }
int Never() { return 0; }
int After300us() {
  std::this_thread::sleep_for(microseconds(300));
  return 1;
}

TEST(BusyPollTest, KeepsPollingWhileThePollCatchesTheReply) {
  BusyPoll busy_poll(microseconds(50));
  // One wait in 16 sleeps, to keep the sleeping figure current.
  EXPECT_EQ(PollingWaits(busy_poll, 160, AtOnce, After300us), 150);
}

TEST(BusyPollTest, SleepsAtOnceWhenPollingRunsOut) {
  BusyPoll busy_poll(microseconds(50));
  // Polling until the 16th wait, the first to sleep: it was faster.
  EXPECT_EQ(PollingWaits(busy_poll, 16, Never, AtOnce), 15);
  // From then on one wait in 16 polls, to see whether polling pays again.
  EXPECT_EQ(PollingWaits(busy_poll, 160, Never, AtOnce), 10);
}

TEST(BusyPollTest, PollsAgainOncePollingPaysAgain) {
  BusyPoll busy_poll(microseconds(50));
  EXPECT_EQ(PollingWaits(busy_poll, 160, Never, AtOnce), 24);
  // The reply now comes at once to a look and late to a sleep: the figures
  // cross within a few hundred waits, and then waits poll again.
  PollingWaits(busy_poll, 400, AtOnce, After300us);
  EXPECT_EQ(PollingWaits(busy_poll, 160, AtOnce, After300us), 150);
}

TEST(BusyPollTest, NoBudgetNeverPolls) {
  BusyPoll busy_poll(microseconds(0));
  EXPECT_EQ(PollingWaits(busy_poll, 100, AtOnce, AtOnce), 0);
}

}  // namespace
}  // namespace sfroute::internal
