// The narrow interface the executor talks to: one per kind of deployment.
#ifndef SFROUTE_SRC_BACKEND_H_
#define SFROUTE_SRC_BACKEND_H_

#include <memory>
#include <vector>

#include "call_control.h"
#include "command.h"

namespace sfroute::internal {

// Thread-safe. A backend never resends a command that may have reached the
// server: a lost connection, a timeout or a stop after sending is returned
// to the caller.
class Backend {
 public:
  virtual ~Backend() = default;

  // Sends the batch in one round trip (a pipeline per node) and calls
  // `done` with one reply per command, in order. A command the server
  // refused comes back as an error reply; only a failed round trip is an
  // error status (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED,
  // PERMISSION_DENIED when logging in fails). When `call` is stopped
  // (deadline, cancel) before the replies are in, `done` gets why at once;
  // what was not sent yet is never sent. Never blocks; `done` may run
  // before Send returns, or on another thread. `batch` stays valid and
  // unchanged until `done` runs (a backend may send it again, or later,
  // without a copy).
  virtual void Send(const Batch& batch, std::shared_ptr<CallControl> call, BatchDone done) = 0;

  // The nodes whose keys together are every key: a cluster's primaries
  // (from its slot map), the one server otherwise. Batch::node takes them.
  // `done` may run before Nodes returns, or on another thread.
  using NodesDone = absl::AnyInvocable<void(absl::StatusOr<std::vector<HostPort>>) &&>;
  virtual void Nodes(NodesDone done) {
    std::move(done)(absl::UnimplementedError("this backend cannot list its nodes"));
  }

  // The executor is closing: every call in progress completes with
  // `why` (CANCELLED), and later ones at once.
  virtual void Shutdown(const absl::Status& why) = 0;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_BACKEND_H_
