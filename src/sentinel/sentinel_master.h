// What a Sentinel client knows of its master: which node it is, and the
// shared connections to it. Found by asking the sentinels; found again when
// it is suspected (a lost connection, READONLY) and on Recheck(). One
// lookup at a time: calls that need the master meanwhile wait for it.
// Thread-safe; never blocks: every step runs on the loop.
#ifndef SFROUTE_SRC_SENTINEL_SENTINEL_MASTER_H_
#define SFROUTE_SRC_SENTINEL_SENTINEL_MASTER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "loop/event_loop.h"
#include "redis/node_connections.h"
#include "redis_url.h"
#include "sync.h"

namespace sfroute::internal {

struct MasterNode {
  HostPort node;
  std::shared_ptr<NodeConnections> connections;
};

class SentinelMaster : public std::enable_shared_from_this<SentinelMaster> {
 public:
  using MasterDone = absl::AnyInvocable<void(absl::StatusOr<MasterNode>) &&>;

  // After a lookup failed, the next one starts no sooner than this: calls
  // retrying during a failover must not keep the sentinels busy.
  static constexpr std::chrono::milliseconds kLookupGap{50};

  // `sentinels`: one ConnectionOptions per sentinel, with its node (and
  // its TLS client: each is checked against its own host).
  SentinelMaster(std::vector<ConnectionOptions> sentinels, std::string name,
                 ConnectionOptions master_options, int connections,
                 std::shared_ptr<EventLoop> loop);

  // Calls `done` with the master: at once (on this thread) when it is known
  // and not suspected; else once a lookup finds it. A lookup that fails
  // while a failover is under way (a sentinel named a node that cannot be
  // reached or is not a master) is made again after kLookupGap for as long
  // as someone waits; a waiter whose `give_up` comes before the next one
  // gets the failure. A lookup that fails otherwise (no sentinel answered,
  // none knows the master) fails every waiter at once. The failure is
  // UNAVAILABLE naming the master and each sentinel asked with what it
  // said (PERMISSION_DENIED when every sentinel refused the sentinel
  // credentials, or the master the data credentials), marked NotSent.
  void Get(SteadyClock::time_point give_up, MasterDone done);
  // Why the last lookup failed (OK if it did not): for messages.
  absl::Status last_failure();

  // `node` may no longer be the master (a lost connection, READONLY): the
  // next Get() looks it up again. Ignored when the master is another node
  // by now.
  void Suspect(const HostPort& node);

  // The periodic check: looks the master up in the background (calls go
  // on to the current one meanwhile); switches if the sentinels name
  // another. A failed check keeps the current master.
  void Recheck();

  void Sweep(SteadyClock::time_point now);
  void Shutdown(const absl::Status& why);
  const std::string& name() const { return name_; }

 private:
  struct Lookup;

  void StartLookup();
  void AskSentinel(std::shared_ptr<Lookup> lookup);
  void OnSentinelReply(std::shared_ptr<Lookup> lookup, std::size_t sentinel,
                       absl::StatusOr<std::vector<Reply>> replies);
  void CheckRole(std::shared_ptr<Lookup> lookup, std::size_t sentinel, HostPort node);
  void OnRole(std::shared_ptr<Lookup> lookup, std::size_t sentinel, MasterNode candidate,
              absl::StatusOr<std::vector<Reply>> replies);
  // This sentinel gave no master that answers as one: the next one.
  void Skip(std::shared_ptr<Lookup> lookup, std::size_t sentinel, const absl::Status& why);
  void Found(std::size_t sentinel, MasterNode master, std::int64_t epoch);
  // `in_failover`: a sentinel named a master, which was not one (yet).
  void Failed(absl::Status why, bool in_failover);
  // The master's connections: the ones in use when it is the current
  // master, else new ones (kept as the candidate, to be swept).
  std::shared_ptr<NodeConnections> ConnectionsFor(const HostPort& node);
  std::shared_ptr<CallControl> OwnCall() const;
  Events* events() const { return master_options_.events.get(); }

  const std::vector<HostPort> sentinels_;
  const std::string name_;
  const ConnectionOptions master_options_;
  const int pool_size_;
  const std::shared_ptr<EventLoop> loop_;
  // One connection per sentinel, with the sentinel credentials.
  std::vector<std::shared_ptr<NodeConnections>> sentinel_connections_;

  Mutex mutex_;
  absl::Status shut_down_ ABSL_GUARDED_BY(mutex_);
  std::shared_ptr<MasterNode> current_ ABSL_GUARDED_BY(mutex_);
  // The config epoch the sentinel that named current_ gave (-1: unknown).
  // A sentinel with an older one that names another node is behind: it has
  // not heard of the last failover yet, and the node it names may not have
  // been demoted yet either (the sentinels do that seconds later).
  std::int64_t current_epoch_ ABSL_GUARDED_BY(mutex_) = -1;
  bool suspected_ ABSL_GUARDED_BY(mutex_) = false;
  bool looking_up_ ABSL_GUARDED_BY(mutex_) = false;
  SteadyClock::time_point next_lookup_ ABSL_GUARDED_BY(mutex_);
  struct Waiter {
    SteadyClock::time_point give_up;
    MasterDone done;
  };
  std::vector<Waiter> waiting_ ABSL_GUARDED_BY(mutex_);
  absl::Status last_failure_ ABSL_GUARDED_BY(mutex_);
  // The sentinels in the order to ask them: the last one that named the
  // master first (the Redis guidelines for Sentinel clients).
  std::vector<std::size_t> order_ ABSL_GUARDED_BY(mutex_);
  std::shared_ptr<NodeConnections> candidate_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_SENTINEL_SENTINEL_MASTER_H_
