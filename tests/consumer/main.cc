// Uses the installed sfroute as an application would: links a player,
// reads the link back, lets a temporary link expire on a ManualClock.
// Prints what it saw; exits 1 if anything is not as the contract says.
#include <chrono>
#include <cstdio>
#include <memory>

#include "sfroute/sfroute.h"

namespace {

int Fail(const char* what) {
  std::fprintf(stderr, "consumer: %s\n", what);
  return 1;
}

}  // namespace

int main() {
  auto clock = std::make_shared<sfroute::ManualClock>();
  auto executor = sfroute::Executor::Open({.redis_url = "memory://", .clock = clock});
  if (!executor.ok()) return Fail("Open failed");
  sfroute::Executor& routes = **executor;

  if (!routes.SetLinkedPod("prod", "player-1", "scene", 0, sfroute::Ttl::Persistent()).ok()) {
    return Fail("SetLinkedPod failed");
  }
  auto pod = routes.GetLinkedPod("prod", "player-1", "scene");
  if (!pod.ok() || *pod != 0) return Fail("pod 0 did not read back");

  auto placed =
      routes.SetLinkedPodIfAbsent("prod", "player-2", "scene", 3, sfroute::Ttl::Seconds(60));
  if (!placed.ok() || *placed != 3) return Fail("SetLinkedPodIfAbsent did not link pod 3");
  clock->Advance(std::chrono::seconds(61));
  auto expired = routes.GetLinkedPod("prod", "player-2", "scene");
  if (!expired.ok() || expired->has_value()) return Fail("the temporary link did not expire");

  auto bad = routes.GetLinkedPod("prod", "bad{uid}", "scene");
  if (bad.status().code() != absl::StatusCode::kInvalidArgument) return Fail("bad uid accepted");

  std::printf("consumer: pod 0 linked and read back, a 60 s link expired, a bad uid refused\n");
  return 0;
}
