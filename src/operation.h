// The operations of the contract (SPEC.md §2, §11), as metrics, audit
// records and error messages name them.
#ifndef SFROUTE_SRC_OPERATION_H_
#define SFROUTE_SRC_OPERATION_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace sfroute::internal {

enum class Operation : std::uint8_t {
  kSetServiceState,
  kGetServiceState,
  kGetServiceStates,
  kSetServiceStates,
  kSetWorkloadState,
  kGetWorkloadState,
  kGetWorkloadStates,
  kSetLinkedPod,
  kTrySetLinkedPod,
  kSetLinkedPodIfAbsent,
  kSetLinkedPods,
  kGetLinkedPod,
  kGetLinkedPodIfPersist,
  kBatchGetLinkedPod,
  kRemoveLinkedPod,
  kRemoveLinkedPodWithId,
  kGetLinkService,
  kComputeLinkedPodIfAbsent,
  kMoveLinkedPod,
  kMoveTemporaryLinkedPod,
  kScanLinks,  // one per round trip of a scan
  kCount,      // not an operation: how many there are
};

inline constexpr std::size_t kOperationCount = static_cast<std::size_t>(Operation::kCount);

inline constexpr std::array<std::string_view, kOperationCount> kOperationNames = {
    "SetServiceState",       "GetServiceState",        "GetServiceStates",
    "SetServiceStates",      "SetWorkloadState",       "GetWorkloadState",
    "GetWorkloadStates",     "SetLinkedPod",           "TrySetLinkedPod",
    "SetLinkedPodIfAbsent",  "SetLinkedPods",          "GetLinkedPod",
    "GetLinkedPodIfPersist", "BatchGetLinkedPod",      "RemoveLinkedPod",
    "RemoveLinkedPodWithId", "GetLinkService",         "ComputeLinkedPodIfAbsent",
    "MoveLinkedPod",         "MoveTemporaryLinkedPod", "ScanLinks",
};

constexpr std::string_view OperationName(Operation operation) {
  return kOperationNames[static_cast<std::size_t>(operation)];
}

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_OPERATION_H_
