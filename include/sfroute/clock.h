// Time as the memory backend (memory:// URLs) sees it, for TTL expiry.
#ifndef SFROUTE_CLOCK_H_
#define SFROUTE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <memory>

namespace sfroute {

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since some fixed point; never goes backwards.
  virtual std::chrono::milliseconds Now() const = 0;
};

// The process's steady clock.
std::shared_ptr<const Clock> SystemClock();

// A clock that only moves when told to: unit tests of code that uses sfroute
// make temporary links expire without sleeping. Thread-safe.
class ManualClock : public Clock {
 public:
  std::chrono::milliseconds Now() const override {
    return std::chrono::milliseconds(now_ms_.load());
  }
  void Advance(std::chrono::milliseconds by) { now_ms_ += by.count(); }

 private:
  std::atomic<std::int64_t> now_ms_{0};
};

}  // namespace sfroute

#endif  // SFROUTE_CLOCK_H_
