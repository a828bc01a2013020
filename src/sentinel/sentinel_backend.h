// The backend of a Redis Sentinel deployment (SPEC.md §9): the sentinels
// name the master, and every call goes to it as to a standalone server.
// docs/sentinel.md tells the whole story; in short:
//  - the master is found by asking the sentinels in turn (SENTINEL
//    get-master-addr-by-name), then checked with ROLE on the connections the
//    calls will use;
//  - it is found again when a call loses its connection, when it answers
//    READONLY, and every kRecheckPeriod in the background (a demoted master
//    still answers reads: only the check catches a read-only workload);
//  - calls that arrive while it is being found wait for it, on the loop,
//    within their deadline.
#ifndef SFROUTE_SRC_SENTINEL_SENTINEL_BACKEND_H_
#define SFROUTE_SRC_SENTINEL_SENTINEL_BACKEND_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "loop/event_loop.h"
#include "redis/connection.h"
#include "redis_url.h"

namespace sfroute::internal {

class SentinelMaster;

// Thread-safe; never blocks. Never resends a command that may have run: a
// batch goes again (to the master found again, after a short pause, within
// the call's deadline) only when nothing of it reached a server, or when
// the server refused every command of it with READONLY (see
// RefusedByReplica in the .cc).
class SentinelBackend : public Backend {
 public:
  // How often the sentinels are asked whether the master is still the one
  // in use.
  static constexpr std::chrono::milliseconds kRecheckPeriod{1000};

  // `sentinels`: node, user, password, timeouts and TLS of each sentinel;
  // `master_options`: the same for the data nodes, with the db (their node
  // is replaced). `connections`: to the master.
  SentinelBackend(std::vector<ConnectionOptions> sentinels, std::string master_name,
                  ConnectionOptions master_options, int connections,
                  std::shared_ptr<EventLoop> loop);

  // Batch::node (SCAN) must be the master in use: a cursor means nothing
  // on another server.
  void Send(const Batch& batch, std::shared_ptr<CallControl> call, BatchDone done) override;
  // The master (found first if need be).
  void Nodes(NodesDone done) override;
  void Shutdown(const absl::Status& why) override;

 private:
  const std::shared_ptr<EventLoop> loop_;
  const std::chrono::milliseconds command_timeout_;
  const std::shared_ptr<SentinelMaster> master_;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_SENTINEL_SENTINEL_BACKEND_H_
