#include "sfroute/clock.h"

namespace sfroute {
namespace {

class SteadyClock : public Clock {
 public:
  std::chrono::milliseconds Now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
  }
};

class WallClock : public Clock {
 public:
  std::chrono::milliseconds Now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
  }
};

}  // namespace

std::shared_ptr<const Clock> SystemClock() {
  static const auto clock = std::make_shared<const SteadyClock>();
  return clock;
}

std::shared_ptr<const Clock> UnixClock() {
  static const auto clock = std::make_shared<const WallClock>();
  return clock;
}

}  // namespace sfroute
