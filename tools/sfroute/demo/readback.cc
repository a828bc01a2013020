#include "demo/readback.h"

#include <algorithm>
#include <cstddef>

#include "demo/parallel.h"

namespace sfroute::demo {
namespace {

// Uids per BatchGetLinkedPod: one round trip each, small enough to keep a
// single reply modest.
constexpr size_t kBatchSize = 500;

absl::Status ReadLinks(Executor& executor, const SimulationResult& result, Readback& readback) {
  std::vector<std::string> uids;
  for (const PlayerRecord& player : result.players) uids.push_back(player.uid);
  readback.links.resize(result.services.size());
  for (size_t svc = 0; svc < result.services.size(); ++svc) {
    for (size_t begin = 0; begin < uids.size(); begin += kBatchSize) {
      std::vector<std::string> chunk(uids.begin() + begin,
                                     uids.begin() + std::min(uids.size(), begin + kBatchSize));
      absl::StatusOr<PodUids> pods =
          executor.BatchGetLinkedPod(result.config.ns, chunk, result.services[svc]);
      if (!pods.ok()) return pods.status();
      for (const auto& [pod, linked] : *pods) {
        for (const std::string& uid : linked) readback.links[svc][uid] = pod;
      }
    }
  }
  return absl::OkStatus();
}

// GetLinkService is one round trip per player: spread over the threads.
absl::Status ReadPersistentLinks(Executor& executor, const SimulationResult& result, int threads,
                                 Readback& readback) {
  const size_t count = result.players.size();
  readback.persistent.assign(count, {});
  return ForEachPlayer(threads, count, [&](int, std::size_t i) {
    absl::StatusOr<ServicePods> links =
        executor.GetLinkService(result.config.ns, result.players[i].uid);
    if (!links.ok()) return links.status();
    readback.persistent[i] = std::move(*links);
    return absl::OkStatus();
  });
}

}  // namespace

absl::StatusOr<Readback> ReadBack(Executor& executor, const SimulationResult& result, int threads) {
  Readback readback;
  const std::string& ns = result.config.ns;
  absl::StatusOr<ServicePodStates> states = executor.GetServiceStates(ns, result.services);
  if (!states.ok()) return states.status();
  readback.states = std::move(*states);
  absl::StatusOr<WorkloadStates> workloads = executor.GetWorkloadStates(ns, result.services);
  if (!workloads.ok()) return workloads.status();
  readback.workloads = std::move(*workloads);
  absl::Status status = ReadLinks(executor, result, readback);
  if (!status.ok()) return status;
  status = ReadPersistentLinks(executor, result, threads, readback);
  if (!status.ok()) return status;
  return readback;
}

}  // namespace sfroute::demo
