// What a player does to sfroute: arrive (placement, then login), disconnect
// (grace period), reconnect. Each action records what the library answered
// in the player's PlayerRecord and schedules his next event.
#ifndef SFROUTE_TOOLS_SFROUTE_DEMO_PLAYERS_H_
#define SFROUTE_TOOLS_SFROUTE_DEMO_PLAYERS_H_

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "demo/config.h"
#include "demo/event_queue.h"
#include "demo/latency.h"
#include "demo/records.h"
#include "demo/world.h"
#include "sfroute/sfroute.h"

namespace sfroute::demo {

// The plan of every player, drawn from config.seed: which services he uses
// (always the first), whether he disconnects and comes back, and when.
std::vector<PlayerRecord> MakePlayers(const DemoConfig& config);

class PlayerActions {
 public:
  PlayerActions(Executor& executor, const DemoConfig& config,
                const std::vector<std::string>& services, PodBoard& board, EventQueue& queue);

  // Runs `event` for `player`. A player's events never run concurrently:
  // each one is scheduled by the one before it.
  void Run(const Event& event, PlayerRecord& player, LatencyLog& log);

  // The pod tells sfroute its new load (nothing once it is drained).
  void ReportLoad(int svc, PodIndex pod, LatencyLog& log);

  // When the last RemoveLinkedPod call returned: its grace link expires at
  // most grace_s after that.
  SteadyTime LastRemovalEnd() const;
  // Failures that belong to no player (a pod's report).
  std::vector<std::string> OtherFailures() const;
  void AddOtherFailure(std::string failure);

  // For the progress line.
  int arrived() const { return arrived_.load(); }
  int disconnected() const { return disconnected_.load(); }
  int reconnected() const { return reconnected_.load(); }
  int failed() const { return failed_.load(); }

 private:
  void Arrive(int index, PlayerRecord& player, LatencyLog& log);
  void Disconnect(int index, PlayerRecord& player, LatencyLog& log);
  void Reconnect(PlayerRecord& player, LatencyLog& log);

  // ComputeLinkedPodIfAbsent for one link; false (player failed) on error.
  bool Place(PlayerRecord& player, LinkRecord& link, LatencyLog& log);
  // TrySetLinkedPod(persistent) of every link: the login.
  bool Login(PlayerRecord& player, LatencyLog& log);
  // Always returns false, so callers can `return Fail(...)`.
  bool Fail(PlayerRecord& player, const LinkRecord& link, std::string what);
  bool Fail(PlayerRecord& player, const LinkRecord& link, std::string_view op,
            const absl::Status& status);

  Executor& executor_;
  const DemoConfig& config_;
  const std::vector<std::string>& services_;
  PodBoard& board_;
  EventQueue& queue_;

  mutable std::mutex mutex_;  // guards the two below
  SteadyTime last_removal_end_{};
  std::vector<std::string> other_failures_;

  std::atomic<int> arrived_{0};
  std::atomic<int> disconnected_{0};
  std::atomic<int> reconnected_{0};
  std::atomic<int> failed_{0};
};

}  // namespace sfroute::demo

#endif  // SFROUTE_TOOLS_SFROUTE_DEMO_PLAYERS_H_
