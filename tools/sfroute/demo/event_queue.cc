#include "demo/event_queue.h"

#include <chrono>

namespace sfroute::demo {

void EventQueue::PushReady(Event event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ready_.push_back(event);
  }
  changed_.notify_one();
}

void EventQueue::PushAt(SteadyTime due, Event event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    timed_.push({due, next_seq_++, event});
  }
  // All waiters: the one that wakes must recompute its deadline.
  changed_.notify_all();
}

std::optional<Event> EventQueue::TakeLocked(SteadyTime now) {
  if (!timed_.empty() && timed_.top().due <= now) {
    Event event = timed_.top().event;
    timed_.pop();
    return event;
  }
  if (!ready_.empty()) {
    Event event = ready_.front();
    ready_.pop_front();
    return event;
  }
  return std::nullopt;
}

SteadyTime EventQueue::NextWakeLocked() const {
  SteadyTime wake = SteadyTime::max();
  if (!timed_.empty()) wake = timed_.top().due;
  return wake;
}

std::optional<Event> EventQueue::Pop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    std::optional<Event> event = TakeLocked(std::chrono::steady_clock::now());
    if (event.has_value()) {
      ++running_;
      return event;
    }
    if (ready_.empty() && timed_.empty() && running_ == 0) return std::nullopt;
    // A running event may still schedule follow-ups, so an empty queue is
    // not the end until running_ drops to zero (Done wakes everyone).
    const SteadyTime wake = NextWakeLocked();
    if (wake == SteadyTime::max()) {
      changed_.wait(lock);
    } else {
      changed_.wait_until(lock, wake);
    }
  }
}

void EventQueue::Done() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --running_;
  }
  changed_.notify_all();
}

}  // namespace sfroute::demo
