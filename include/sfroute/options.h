// Options for opening an sfroute::Executor.
#ifndef SFROUTE_OPTIONS_H_
#define SFROUTE_OPTIONS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "sfroute/clock.h"
#include "sfroute/types.h"

namespace sfroute {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Receives the library's log lines (for example: a corrupt value skipped by a
// batch read). Must be thread-safe. Lines never contain passwords.
using LogSink = std::function<void(LogLevel, std::string_view message)>;

// One link mutation and its outcome, for an audit trail: SetLinkedPod,
// TrySetLinkedPod, SetLinkedPodIfAbsent, each link of SetLinkedPods,
// RemoveLinkedPod(WithId), ComputeLinkedPodIfAbsent (and the routers'
// placements and moves), failed ones included.
struct AuditRecord {
  std::chrono::system_clock::time_point time;  // when it completed
  std::string_view operation;                  // "SetLinkedPod", ...
  std::string ns, uid, svc;
  std::optional<PodIndex> pod;      // the pod asked for (none for removes and compute)
  std::optional<std::int64_t> ttl;  // seconds, -1 persistent; for removes the keep seconds
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message;  // empty when OK; never a password
  // The outcome, as the operation returns it (each set only by operations
  // that return it, and only when the call succeeded):
  std::optional<PodIndex> pod_after;  // the pod linked after the call
  bool has_previous = false;          // the operation returns the pod before (which may be none):
  std::optional<PodIndex> previous;   //   SetLinkedPod, TrySetLinkedPod, each of SetLinkedPods
  std::optional<bool> applied;        // TrySetLinkedPod
  std::optional<bool> removed;        // RemoveLinkedPod(WithId)
  std::chrono::microseconds duration{0};
};

// Receives every AuditRecord. Called on the thread that completed the call
// (any thread); must be thread-safe and quick.
using AuditSink = std::function<void(const AuditRecord&)>;

// How a TLS connection checks the server (SPEC.md §9).
enum class TlsVerify {
  kFull,  // a chain to a trusted CA, and the certificate names the host (default)
  kCa,    // a chain to a trusted CA; any name (escape hatch: a cert issued for another name)
  kNone,  // nothing: encrypted, not authenticated (escape hatch: tests, debugging)
};

// TLS settings of rediss://, rediss-cluster:// and rediss-sentinel:// URLs.
// The URL's query parameters of the same meaning (tls_ca, tls_cert,
// tls_key, tls_sni, tls_verify) take precedence field by field. Setting any
// of them for a URL without TLS is an error (INVALID_ARGUMENT): a
// connection the caller meant to protect is never opened in the clear.
struct TlsOptions {
  std::string ca_file;    // PEM CA bundle; empty: the system's trusted CAs
  std::string cert_file;  // PEM client certificate (with key_file), for servers that ask for one
  std::string key_file;   // PEM private key of cert_file
  // The name sent as SNI and checked against the server's certificate.
  // Empty: the URL's host (also for cluster nodes, which announce IPs).
  std::string sni;
  TlsVerify verify = TlsVerify::kFull;

  bool operator==(const TlsOptions&) const = default;
};

struct Options {
  // Where the routing state lives. Default: redis://127.0.0.1:6379 (db 0).
  //   redis://[[user]:password@]host[:port][/db]            a standalone Redis
  //   redis-cluster://[[user]:password@]host:port[,...]      a Redis Cluster (seed nodes)
  //   redis-sentinel://[[user]:password@]host:port[,...]/master[/db]
  //                     the master `master` as Redis Sentinel names it; the
  //                     hosts are the sentinels (default port 26379)
  //   rediss://, rediss-cluster://, rediss-sentinel://   the same over TLS (`tls`)
  //   memory://[name]   in this process, no server: same keys, TTLs and scripts;
  //                     executors opening the same name share one store.
  // User and password may be
  // percent-encoded; a user is sent with AUTH <user> <password> (ACL).
  // They are the data nodes'; sentinels take theirs from the query
  // parameters sentinel_user and sentinel_password. Query parameters follow
  // a '?', separated by '&', values percent-encoded: tls_ca, tls_cert,
  // tls_key, tls_sni, tls_verify=full|ca|none (TLS URLs only; see `tls`),
  // sentinel_user, sentinel_password (sentinel URLs only).
  std::string redis_url = "redis://127.0.0.1:6379";

  // TLS settings for the TLS URL schemes (rediss...). Default: verify the
  // server's certificate against the system's CAs and the URL's host name.
  TlsOptions tls;

  // Time allowed to open a TCP connection (and authenticate). Default 1000 ms.
  std::chrono::milliseconds connect_timeout{1000};

  // Time allowed for one call's round trip, from sending its commands to
  // reading its last reply. Past it the call fails with DEADLINE_EXCEEDED,
  // and so does every call waiting on the same connection, which is then
  // replaced (replies behind a missing one cannot be trusted to come).
  // Default 1000 ms.
  std::chrono::milliseconds command_timeout{1000};

  // Connections kept open to each Redis node, shared by every call: the
  // commands of concurrent calls are pipelined on them (written by the
  // callers, read by the executor's one I/O thread), so many calling threads
  // need no more connections. Calls take turns among them. Exception: a call
  // that waits for a replica (replica_ack_timeout) gets a connection of its
  // own for its round trip, opened when none is free. Default 1: one
  // connection, pipelined, carries the most calls per second (more
  // connections only split the pipelining; docs/design.md).
  int pool_size = 1;

  // How long a thread that waits for replies keeps polling before it goes
  // to sleep: a sync caller reading its own reply, and the executor's I/O
  // thread after a round with work. On a quiet machine a sleep and the
  // wake-up after it cost tens of microseconds; polling a little longer
  // saves them when the reply comes soon, at the price of the CPU time it
  // spins (at most this long per wait). Where the servers share the
  // client's cores, polling can delay the reply instead (the server waits
  // for the core): a caller reading its own reply measures its waits with
  // and without polling and polls only while that has made them shorter
  // (docs/design.md). 0 never spins. Default 50 µs.
  std::chrono::microseconds busy_poll{50};

  // When > 0, a call that writes a persistent link (SetLinkedPod,
  // TrySetLinkedPod, SetLinkedPodIfAbsent with Ttl::Persistent()) waits until
  // at least one replica has the write: WAIT 1 <ms> is sent in the same
  // pipeline right after the script, on a connection that no other call
  // uses meanwhile (WAIT holds back the connection's later commands). If no
  // replica confirms in time the call fails with UNAVAILABLE, although the
  // write itself did happen on the primary (the message says so). Only a
  // link the call applied is checked. Must be below command_timeout.
  // Default 0: do not wait (replication is asynchronous, so a failover may
  // lose the last writes).
  std::chrono::milliseconds replica_ack_timeout{0};

  // Where log lines go. Default (empty): warnings and errors to stderr.
  // Besides what calls find (a corrupt value skipped), the connection
  // layers log: connections that cannot be opened, are lost and open again,
  // cluster slot maps loaded, redirects, scripts loaded again after NOSCRIPT
  // — each kind at most once a second per node, saying how many lines were
  // held back.
  LogSink log_sink;

  // Whether those connection-layer events are logged (they are counted in
  // the metrics either way). A one-shot tool whose every call reports its own
  // error sets false so a failure is told once; what calls find is still
  // logged. Default: true.
  bool log_connection_events = true;

  // When set, told of every link mutation (AuditRecord). Default: none.
  AuditSink audit_sink;

  // Time as memory:// stores see it (for TTL expiry). Default (null): the
  // steady clock. Tests pass a ManualClock to expire links without sleeping.
  // Redis deployments keep time on the server and ignore it.
  std::shared_ptr<const Clock> clock;
};

// `redis_url` with its password replaced by "***", for logs and reports:
// "redis://alice:***@10.0.0.5:6379/2". The password is found by parsing the
// URL as Executor::Open does, so any character it may hold is hidden. An
// invalid URL is not shown at all.
std::string RedactedUrl(std::string_view redis_url);

}  // namespace sfroute

#endif  // SFROUTE_OPTIONS_H_
