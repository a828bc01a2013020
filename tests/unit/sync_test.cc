// Notification and WakeBatch: every waiter wakes exactly when it should,
// with a sleep slot of its own or without one (past 64 waiting threads).
#include "sync.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sfroute::internal {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A thread that waits for one Notification and says when it returned.
struct Waiter {
  explicit Waiter(Notification& notification)
      : thread([this, &notification] {
          tid.store(static_cast<int>(syscall(SYS_gettid)));
          notification.Wait();
          returned.store(true);
        }) {}
  // Until the thread sleeps (in the futex wait: it does nothing else).
  void AwaitAsleep() const {
    while (tid.load() == 0) std::this_thread::yield();
    for (;;) {
      std::ifstream stat("/proc/self/task/" + std::to_string(tid.load()) + "/stat");
      std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
      const auto state_at = text.rfind(')') + 2;
      if (returned.load() || (state_at < text.size() && text[state_at] == 'S')) return;
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
  std::atomic<int> tid{0};
  std::atomic<bool> returned{false};
  std::thread thread;
};

TEST(NotificationTest, WakesEveryWaiterWithOrWithoutASlotOfItsOwn) {
  // 80 threads asleep at once: the first 64 hold the sleep slots, the
  // others sleep on the notification's own word.
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<Notification>> notifications;
    std::vector<std::unique_ptr<Waiter>> waiters;
    for (int i = 0; i < 80; ++i) notifications.push_back(std::make_unique<Notification>());
    for (int i = 0; i < 80; ++i) waiters.push_back(std::make_unique<Waiter>(*notifications[i]));
    for (const auto& waiter : waiters) waiter->AwaitAsleep();
    // Every other one is notified: only those return.
    for (int i = 0; i < 80; i += 2) notifications[i]->Notify();
    for (int i = 0; i < 80; i += 2) waiters[i]->thread.join();
    for (int i = 1; i < 80; i += 2) EXPECT_FALSE(waiters[i]->returned.load()) << i;
    for (int i = 1; i < 80; i += 2) notifications[i]->Notify();
    for (int i = 1; i < 80; i += 2) waiters[i]->thread.join();
    for (const auto& waiter : waiters) EXPECT_TRUE(waiter->returned.load());
  }
}

TEST(NotificationTest, ManyThreadsWaitForOne) {
  Notification notification;
  std::vector<std::unique_ptr<Waiter>> waiters;
  for (int i = 0; i < 8; ++i) waiters.push_back(std::make_unique<Waiter>(notification));
  for (const auto& waiter : waiters) waiter->AwaitAsleep();
  notification.Notify();
  for (const auto& waiter : waiters) waiter->thread.join();
}

TEST(NotificationTest, WaitUntilReturnsFalseAtTheDeadline) {
  Notification notification;
  const auto start = steady_clock::now();
  EXPECT_FALSE(notification.WaitUntil(start + milliseconds(20)));
  EXPECT_GE(steady_clock::now() - start, milliseconds(20));
  notification.Notify();
  EXPECT_TRUE(notification.WaitUntil(start));  // notified: no wait
  notification.Reset();
  EXPECT_FALSE(notification.HasBeenNotified());
}

TEST(WakeBatchTest, WakesTheNotifiedWaitersWhenTheOutermostBatchEndsOrWakeDue) {
  std::vector<std::unique_ptr<Notification>> notifications;
  std::vector<std::unique_ptr<Waiter>> waiters;
  for (int i = 0; i < 15; ++i) notifications.push_back(std::make_unique<Notification>());
  for (int i = 0; i < 15; ++i) waiters.push_back(std::make_unique<Waiter>(*notifications[i]));
  for (const auto& waiter : waiters) waiter->AwaitAsleep();
  const auto returned = [&](int from, int to) {
    int count = 0;
    for (int i = from; i < to; ++i) count += waiters[i]->returned.load() ? 1 : 0;
    return count;
  };
  {
    WakeBatch outer;
    for (int i = 0; i < 5; ++i) notifications[i]->Notify();
    WakeBatch::WakeDue();  // 0..4 now
    for (int i = 0; i < 5; ++i) waiters[i]->thread.join();
    {
      WakeBatch inner;
      for (int i = 5; i < 10; ++i) notifications[i]->Notify();
    }
    for (int i = 10; i < 15; ++i) notifications[i]->Notify();
    // Notified, not woken: they sleep until `outer` ends.
    std::this_thread::sleep_for(milliseconds(50));
    EXPECT_EQ(returned(5, 15), 0);
    for (const auto& notification : notifications) EXPECT_TRUE(notification->HasBeenNotified());
  }
  for (int i = 5; i < 15; ++i) waiters[i]->thread.join();
  EXPECT_EQ(returned(0, 15), 15);
}

TEST(WakeBatchTest, AWaiterAboutToSleepDoesNotMissABatchedWake) {
  // Waits and batched notifies race, round after round.
  for (int round = 0; round < 2000; ++round) {
    Notification notification;
    std::thread waiter([&notification] { notification.Wait(); });
    {
      WakeBatch wakes;
      notification.Notify();
    }
    waiter.join();
  }
}

}  // namespace
}  // namespace sfroute::internal
