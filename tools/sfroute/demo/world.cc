#include "demo/world.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>

namespace sfroute::demo {

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FreshNamespace() {
  return "demo-" + std::to_string(::getpid()) + "-" + std::to_string(NowMs());
}

std::vector<std::string> ServiceNames(int count) {
  static constexpr std::array<const char*, 8> kNames = {"scene", "match", "chat", "guild",
                                                        "trade", "mail",  "rank", "party"};
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) {
    names.push_back(i < static_cast<int>(kNames.size()) ? std::string(kNames[i])
                                                        : "svc" + std::to_string(i));
  }
  return names;
}

std::string PodState(int load, std::int64_t timestamp_ms) {
  return std::to_string(load) + "-" + std::to_string(timestamp_ms);
}

PodBoard::PodBoard(int services, int pods) : pods_(services, std::vector<Pod>(pods)) {}

void PodBoard::AddLoad(int svc, PodIndex pod, int delta) {
  std::lock_guard<std::mutex> lock(mutex_);
  pods_[svc][pod].load += delta;
}

int PodBoard::Load(int svc, PodIndex pod) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pods_[svc][pod].load;
}

std::string PodBoard::StampLocked(Pod& pod) {
  // max() keeps the drain bound right even if the wall clock steps back.
  pod.last_reported_ms = std::max(pod.last_reported_ms, NowMs());
  return PodState(pod.load, pod.last_reported_ms);
}

std::optional<std::string> PodBoard::Report(int svc, PodIndex pod) {
  std::lock_guard<std::mutex> lock(mutex_);
  Pod& state = pods_[svc][pod];
  if (state.drained) return std::nullopt;
  return StampLocked(state);
}

std::vector<PodStates> PodBoard::ReportAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<PodStates> states(pods_.size());
  for (size_t svc = 0; svc < pods_.size(); ++svc) {
    for (size_t pod = 0; pod < pods_[svc].size(); ++pod) {
      if (pods_[svc][pod].drained) continue;
      states[svc][static_cast<PodIndex>(pod)] = StampLocked(pods_[svc][pod]);
    }
  }
  return states;
}

std::int64_t PodBoard::Drain(int svc, PodIndex pod) {
  std::lock_guard<std::mutex> lock(mutex_);
  pods_[svc][pod].drained = true;
  return pods_[svc][pod].last_reported_ms;
}

}  // namespace sfroute::demo
