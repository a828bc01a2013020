// The contract of SPEC.md on a real multi-node Redis Cluster: every
// operation with keys on every primary, the wire format on the right node,
// batches split per node, resharding and failover under load.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/slot.h"
#include "deployment.h"
#include "failover_load.h"
#include "gtest/gtest.h"
#include "keys.h"
#include "raw_redis.h"
#include "redis_cluster.h"
#include "redis_server.h"
#include "redis_url.h"
#include "sfroute/sfroute.h"
#include "status_matchers.h"

namespace sfroute {
namespace {

using internal::KeySlot;
using internal::LinkKey;
using internal::LinksHashKey;
using internal::StateKey;
using internal::WorkloadKey;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::AsyncLanes;
using testing::MessageHas;
using testing::OpenOrDie;
using testing::RawRedis;
using testing::RedisCluster;
using testing::SharedClusterUrl;
using testing::WriteLoad;

long long MillisSince(steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count();
}

// The cluster as a plain client sees it, from outside the library: which
// node owns each slot (CLUSTER SLOTS), and a raw connection to each node.
class ClusterView {
 public:
  explicit ClusterView(const std::string& cluster_url) {
    auto endpoint = internal::ParseRedisUrl(cluster_url);
    EXPECT_OK(endpoint);
    user_ = endpoint->user;
    password_ = endpoint->password;
    RawRedis& seed = Node(endpoint->nodes.front().Address());
    const testing::RawReply slots = seed.Command({"CLUSTER", "SLOTS"});
    owners_.assign(internal::kClusterSlots, "");
    for (const auto& range : slots.elements) {
      const auto& primary = range.elements[2];
      const std::string address =
          primary.elements[0].str + ":" + std::to_string(primary.elements[1].integer);
      for (long long slot = range.elements[0].integer; slot <= range.elements[1].integer; ++slot) {
        owners_[slot] = address;
      }
    }
    for (const std::string& owner : owners_) primaries_.insert(owner);
  }

  std::string OwnerOf(const std::string& key) const { return owners_[KeySlot(key)]; }
  RawRedis& NodeOf(const std::string& key) { return Node(OwnerOf(key)); }
  const std::set<std::string>& primaries() const { return primaries_; }

 private:
  RawRedis& Node(const std::string& address) {
    auto& node = nodes_[address];
    if (node == nullptr) {
      node = std::make_unique<RawRedis>("redis://" + address, user_, password_);
    }
    return *node;
  }

  std::string user_;
  std::string password_;
  std::vector<std::string> owners_;
  std::set<std::string> primaries_;
  std::map<std::string, std::unique_ptr<RawRedis>> nodes_;
};

// `count` uids (or service names) <prefix>0 ... <prefix><count-1>.
std::vector<std::string> Uids(const std::string& prefix, int count) {
  std::vector<std::string> uids;
  for (int i = 0; i < count; ++i) uids.push_back(prefix + std::to_string(i));
  return uids;
}

// The primaries that own the keys of `names` (uids or services).
std::set<std::string> OwnersOf(const ClusterView& view, const std::vector<std::string>& names,
                               const std::function<std::string(const std::string&)>& key_of) {
  std::set<std::string> owners;
  for (const std::string& name : names) owners.insert(view.OwnerOf(key_of(name)));
  return owners;
}

// --- Every operation, keys on every primary ---------------------------------

TEST(ClusterTest, EveryLinkOperationWorksOnEveryPrimary) {
  ClusterView view(SharedClusterUrl());
  ASSERT_GE(view.primaries().size(), 3u);
  auto executor = OpenOrDie({.redis_url = SharedClusterUrl()});
  const std::string ns = testing::UniqueNamespace();
  const std::vector<std::string> uids = Uids("u", 30);
  ASSERT_EQ(OwnersOf(view, uids, [&](const std::string& uid) { return LinkKey(ns, uid, "chat"); }),
            view.primaries());

  for (std::size_t i = 0; i < uids.size(); ++i) {
    const std::string& uid = uids[i];
    const PodIndex pod = static_cast<PodIndex>(i);
    SCOPED_TRACE(uid + " on " + view.OwnerOf(LinkKey(ns, uid, "chat")));
    ASSERT_OK_AND_ASSIGN(auto previous,
                         executor->SetLinkedPod(ns, uid, "chat", pod, Ttl::Persistent()));
    EXPECT_EQ(previous, std::nullopt);
    ASSERT_OK_AND_ASSIGN(auto linked, executor->GetLinkedPod(ns, uid, "chat"));
    EXPECT_EQ(linked, pod);
    ASSERT_OK_AND_ASSIGN(auto persistent, executor->GetLinkedPodIfPersist(ns, uid, "chat"));
    EXPECT_EQ(persistent, pod);
    ASSERT_OK_AND_ASSIGN(TrySetResult tried,
                         executor->TrySetLinkedPod(ns, uid, "chat", pod + 1, Ttl::Persistent()));
    EXPECT_FALSE(tried.applied);
    EXPECT_EQ(tried.pod, pod);
    ASSERT_OK_AND_ASSIGN(
        PodIndex kept, executor->SetLinkedPodIfAbsent(ns, uid, "chat", pod + 2, Ttl::Persistent()));
    EXPECT_EQ(kept, pod);
    ASSERT_OK_AND_ASSIGN(PodIndex game,
                         executor->SetLinkedPodIfAbsent(ns, uid, "game", 9, Ttl::Persistent()));
    EXPECT_EQ(game, 9);
    ASSERT_OK_AND_ASSIGN(ServicePods services, executor->GetLinkService(ns, uid));
    EXPECT_EQ(services, (ServicePods{{"chat", pod}, {"game", 9}}));
    ASSERT_OK_AND_ASSIGN(bool removed, executor->RemoveLinkedPodWithId(ns, uid, "game", 0, 8));
    EXPECT_FALSE(removed);
    ASSERT_OK_AND_ASSIGN(removed, executor->RemoveLinkedPodWithId(ns, uid, "game", 0, 9));
    EXPECT_TRUE(removed);
    ASSERT_OK_AND_ASSIGN(removed, executor->RemoveLinkedPod(ns, uid, "chat", 30));
    EXPECT_TRUE(removed);
    ASSERT_OK_AND_ASSIGN(persistent, executor->GetLinkedPodIfPersist(ns, uid, "chat"));
    EXPECT_EQ(persistent, std::nullopt);
    ASSERT_OK_AND_ASSIGN(linked, executor->GetLinkedPod(ns, uid, "chat"));
    EXPECT_EQ(linked, pod);  // kept as a temporary link for the grace period
  }
}

TEST(ClusterTest, StateOperationsWorkOnEveryPrimary) {
  ClusterView view(SharedClusterUrl());
  auto executor = OpenOrDie({.redis_url = SharedClusterUrl()});
  const std::string ns = testing::UniqueNamespace();
  const std::vector<std::string> svcs = Uids("svc", 30);
  ASSERT_EQ(OwnersOf(view, svcs, [&](const std::string& svc) { return StateKey(ns, svc); }),
            view.primaries());

  for (std::size_t i = 0; i < svcs.size(); ++i) {
    ASSERT_OK(executor->SetServiceState(ns, svcs[i], 0, "s0-" + svcs[i]));
    ASSERT_OK(executor->SetServiceState(ns, svcs[i], 7, "s7"));
    ASSERT_OK_AND_ASSIGN(PodStates pods, executor->GetServiceState(ns, svcs[i]));
    EXPECT_EQ(pods, (PodStates{{0, "s0-" + svcs[i]}, {7, "s7"}}));
    ASSERT_OK(executor->SetWorkloadState(ns, svcs[i], "w-" + svcs[i]));
    ASSERT_OK_AND_ASSIGN(auto workload, executor->GetWorkloadState(ns, svcs[i]));
    EXPECT_EQ(workload, "w-" + svcs[i]);
  }
}

// --- Wire format, read from the node that owns each key -------------------

TEST(ClusterTest, WireFormatOnTheOwningNode) {
  ClusterView view(SharedClusterUrl());
  auto executor = OpenOrDie({.redis_url = SharedClusterUrl()});
  const std::string ns = testing::UniqueNamespace();
  for (const std::string& uid : Uids("wire", 12)) {
    ASSERT_OK(executor->SetLinkedPod(ns, uid, "chat", 7, Ttl::Persistent()));
    ASSERT_OK(executor->SetLinkedPod(ns, uid, "game", 0, Ttl::Seconds(100)));
    const std::string link = LinkKey(ns, uid, "chat");
    RawRedis& node = view.NodeOf(link);
    EXPECT_EQ(node.Get(link), "7");
    EXPECT_EQ(node.Ttl(link), -1);
    EXPECT_EQ(node.Get(LinkKey(ns, uid, "game")), "0");
    EXPECT_GT(node.Ttl(LinkKey(ns, uid, "game")), 0);
    // The links hash shares the link's slot, so it is on the same node.
    EXPECT_EQ(view.OwnerOf(LinksHashKey(ns, uid)), view.OwnerOf(link));
    EXPECT_EQ(node.HGetAll(LinksHashKey(ns, uid)),
              (std::map<std::string, std::string>{{"chat", "7"}}));
  }
  for (const std::string& svc : Uids("svc", 12)) {
    ASSERT_OK(executor->SetServiceState(ns, svc, 3, "3-100"));
    ASSERT_OK(executor->SetWorkloadState(ns, svc, "busy"));
    EXPECT_EQ(view.NodeOf(StateKey(ns, svc)).HGetAll(StateKey(ns, svc)),
              (std::map<std::string, std::string>{{"3", "3-100"}}));
    EXPECT_EQ(view.NodeOf(WorkloadKey(ns, svc)).Get(WorkloadKey(ns, svc)), "busy");
    EXPECT_EQ(view.NodeOf(WorkloadKey(ns, svc)).Ttl(WorkloadKey(ns, svc)), -1);
  }
  // What another client writes on the right node, sfroute reads.
  const std::string link = LinkKey(ns, "java-user", "chat");
  view.NodeOf(link).Command({"SET", link, "42"});
  ASSERT_OK_AND_ASSIGN(auto pod, executor->GetLinkedPod(ns, "java-user", "chat"));
  EXPECT_EQ(pod, 42);
}

// --- Batches over every primary ---------------------------------------------

TEST(ClusterTest, BatchOfAThousandUidsMatchesOneByOneGets) {
  ClusterView view(SharedClusterUrl());
  auto executor = OpenOrDie({.redis_url = SharedClusterUrl()});
  const std::string ns = testing::UniqueNamespace();
  const std::vector<std::string> uids = Uids("player-", 1000);
  ASSERT_EQ(OwnersOf(view, uids, [&](const std::string& uid) { return LinkKey(ns, uid, "room"); }),
            view.primaries());
  for (std::size_t i = 0; i < uids.size(); ++i) {
    if (i % 5 == 4) continue;  // some uids have no link
    const Ttl ttl = i % 2 == 0 ? Ttl::Persistent() : Ttl::Seconds(300);
    ASSERT_OK(executor->SetLinkedPod(ns, uids[i], "room", static_cast<PodIndex>(i % 13), ttl));
  }
  view.NodeOf(LinkKey(ns, uids[3], "room")).Command({"SET", LinkKey(ns, uids[3], "room"), "bad"});

  PodUids expected;
  for (const std::string& uid : uids) {
    auto pod = executor->GetLinkedPod(ns, uid, "room");
    if (uid == uids[3]) {
      EXPECT_STATUS_CODE(pod, DATA_LOSS);  // a batch read skips it instead
      continue;
    }
    ASSERT_OK(pod);
    if (pod->has_value()) expected[**pod].push_back(uid);
  }
  ASSERT_OK_AND_ASSIGN(PodUids batch, executor->BatchGetLinkedPod(ns, uids, "room"));
  EXPECT_EQ(batch, expected);
  std::size_t linked = 0;
  for (const auto& [pod, pod_uids] : batch) linked += pod_uids.size();
  EXPECT_EQ(linked, 1000u - 200u - 1u);
}

TEST(ClusterTest, ManyServicesInOneCallNeverFailWithCrossSlot) {
  ClusterView view(SharedClusterUrl());
  auto executor = OpenOrDie({.redis_url = SharedClusterUrl()});
  const std::string ns = testing::UniqueNamespace();
  const std::vector<std::string> svcs = Uids("svc-", 200);
  ASSERT_EQ(OwnersOf(view, svcs, [&](const std::string& svc) { return WorkloadKey(ns, svc); }),
            view.primaries());

  ServicePodStates states;
  for (std::size_t i = 0; i < svcs.size(); ++i) {
    states[svcs[i]] = {{0, "a" + svcs[i]}, {static_cast<PodIndex>(i + 1), "b"}};
  }
  ASSERT_OK(executor->SetServiceStates(ns, states));
  ASSERT_OK_AND_ASSIGN(ServicePodStates read, executor->GetServiceStates(ns, svcs));
  EXPECT_EQ(read, states);

  WorkloadStates workloads;
  for (std::size_t i = 0; i < svcs.size(); i += 2) {
    ASSERT_OK(executor->SetWorkloadState(ns, svcs[i], "load-" + svcs[i]));
    workloads[svcs[i]] = "load-" + svcs[i];
  }
  ASSERT_OK_AND_ASSIGN(WorkloadStates read_workloads, executor->GetWorkloadStates(ns, svcs));
  EXPECT_EQ(read_workloads, workloads);
}

TEST(ClusterTest, ComputeLinkedPodIfAbsentWithStatesAndLinkInDifferentSlots) {
  ClusterView view(SharedClusterUrl());
  auto executor = OpenOrDie({.redis_url = SharedClusterUrl()});
  const std::string ns = testing::UniqueNamespace();
  ASSERT_OK(executor->SetServiceStates(
      ns, {{"match", {{0, "5-2000"}, {1, "2-2000"}, {2, "1-10"}, {3, "2-3000"}}}}));
  int on_other_node = 0;
  for (const std::string& uid : Uids("c", 20)) {
    ASSERT_NE(KeySlot(StateKey(ns, "match")), KeySlot(LinkKey(ns, uid, "match")));
    if (view.OwnerOf(StateKey(ns, "match")) != view.OwnerOf(LinkKey(ns, uid, "match"))) {
      ++on_other_node;
    }
    ASSERT_OK_AND_ASSIGN(
        auto pod, executor->ComputeLinkedPodIfAbsent(ns, uid, "match", Ttl::Persistent(), 1000));
    EXPECT_EQ(pod, 1);  // weight 2 ties with pod 3; the lower index wins; pod 2 is too old
    ASSERT_OK_AND_ASSIGN(
        auto again, executor->ComputeLinkedPodIfAbsent(ns, uid, "match", Ttl::Persistent(), 1000));
    EXPECT_EQ(again, 1);
  }
  EXPECT_GT(on_other_node, 0);
  ASSERT_OK_AND_ASSIGN(
      auto none, executor->ComputeLinkedPodIfAbsent(ns, "late", "match", Ttl::Persistent(), 5000));
  EXPECT_EQ(none, std::nullopt);
}

TEST(ClusterTest, UnreachableClusterIsUnavailableNamingTheNode) {
  const int port = testing::FreeLoopbackPort();  // nothing listens there
  const std::string address = "127.0.0.1:" + std::to_string(port);
  auto executor =
      OpenOrDie({.redis_url = "redis-cluster://" + address, .command_timeout = milliseconds(200)});
  const auto start = steady_clock::now();
  const auto pod = executor->GetLinkedPod("ns", "u", "svc");
  EXPECT_STATUS_CODE(pod, UNAVAILABLE);
  EXPECT_NE(std::string(pod.status().message()).find(address), std::string::npos) << pod.status();
  EXPECT_LT(MillisSince(start), 2000);  // retries stop after about the command timeout
}

// --- Resharding under load ---------------------------------------------------

// What the load threads saw: failed calls, reads that disagreed with the
// last acknowledged write, and the calls run.
struct LoadReport {
  std::mutex mutex;
  std::vector<std::string> failures;
  std::atomic<int> mismatches{0};
  std::atomic<long> operations{0};

  void Fail(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex);
    if (failures.size() < 1000) failures.push_back(what);
  }
};

// One thread of the resharding load: links and reads its own uids (so the
// last acknowledged pod of each is known) until `stop`.
void LinkAndReadLoop(Executor& executor, const std::string& ns,
                     const std::vector<std::string>& uids, std::map<std::string, PodIndex>& last,
                     const std::atomic<bool>& stop, LoadReport& report) {
  for (long n = 0; !stop.load() && n < 10'000'000; ++n) {
    const std::string& uid = uids[n % uids.size()];
    report.operations++;
    if (n % 3 != 2) {
      const PodIndex pod = static_cast<PodIndex>(n % 1000);
      const Ttl ttl = n % 2 == 0 ? Ttl::Persistent() : Ttl::Seconds(600);
      auto previous = executor.SetLinkedPod(ns, uid, "svc", pod, ttl);
      if (!previous.ok()) {
        report.Fail(previous.status().ToString());
        continue;
      }
      if (*previous != last[uid]) report.mismatches++;
      last[uid] = pod;
    } else {
      auto pod = executor.GetLinkedPod(ns, uid, "svc");
      if (!pod.ok()) {
        report.Fail(pod.status().ToString());
      } else if (*pod != last[uid]) {
        report.mismatches++;
      }
    }
  }
}

TEST(ClusterTest, ReshardingUnderLoadLosesNothingAndFailsNothing) {
  RedisCluster& cluster = *testing::SharedCluster();  // this test moves slots: our own cluster
  std::mutex log_mutex;
  std::vector<std::string> log;
  auto executor =
      OpenOrDie({.redis_url = cluster.url(), .log_sink = [&](LogLevel, std::string_view line) {
                   std::lock_guard<std::mutex> lock(log_mutex);
                   log.emplace_back(line);
                 }});
  const std::string ns = testing::UniqueNamespace();
  constexpr int kThreads = 4;
  std::vector<std::vector<std::string>> uids(kThreads);
  std::vector<std::map<std::string, PodIndex>> last(kThreads);
  std::set<int> slots;
  for (int t = 0; t < kThreads; ++t) {
    uids[t] = Uids("r" + std::to_string(t) + "-", 40);
    for (int i = 0; i < 40; ++i) {
      const std::string& uid = uids[t][i];
      ASSERT_OK(executor->SetLinkedPod(ns, uid, "svc", 1, Ttl::Persistent()));  // before the move
      last[t][uid] = 1;
      if (i < 4) slots.insert(KeySlot(LinkKey(ns, uid, "svc")));
    }
  }
  // Other keys in the slots that move, so that each move takes several
  // MIGRATE batches while the load runs.
  for (int slot : slots) {
    const int owner = cluster.PrimaryOfSlot(slot);
    for (int t = 0; t < kThreads; ++t) {
      for (int i = 0; i < 4; ++i) {
        if (KeySlot(LinkKey(ns, uids[t][i], "svc")) != slot) continue;
        for (int k = 0; k < 150; ++k) {
          cluster.Command(
              owner, {"SET", "filler{" + ns + ":lk:" + uids[t][i] + "}" + std::to_string(k), "x"});
        }
      }
    }
  }

  const MetricsSnapshot before = executor->Metrics();
  LoadReport report;
  std::atomic<bool> stop{false};
  AsyncLanes lanes(*executor, ns, "ra", 32);  // and async calls beside the threads
  lanes.Start();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(LinkAndReadLoop, std::ref(*executor), std::cref(ns), std::cref(uids[t]),
                         std::ref(last[t]), std::cref(stop), std::ref(report));
  }
  const auto start = steady_clock::now();
  int moved = 0;
  for (int round = 0; round < 2; ++round) {  // each slot to another primary, twice
    for (int slot : slots) {
      const std::vector<int> primaries = cluster.Primaries();
      const int from = cluster.PrimaryOfSlot(slot);
      int to = -1;
      for (std::size_t p = 0; p < primaries.size(); ++p) {
        if (primaries[p] == from) to = primaries[(p + 1 + round) % primaries.size()];
      }
      if (to == from) to = primaries[0] == from ? primaries[1] : primaries[0];
      if (cluster.MigrateSlot(slot, from, to)) ++moved;
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  const long long move_ms = MillisSince(start);
  std::this_thread::sleep_for(milliseconds(200));
  stop = true;
  for (auto& thread : threads) thread.join();
  lanes.Stop();

  std::cout << "[figures] resharding: " << moved << " slot moves in " << move_ms << " ms, "
            << report.operations.load() << " operations by " << kThreads << " threads, "
            << report.failures.size() << " failed, " << report.mismatches.load() << " stale reads"
            << "; async: " << lanes.operations() << " operations in 32 lanes, " << lanes.errors()
            << " failed, " << lanes.mismatches() << " stale reads" << std::endl;
  // The redirects met and the slot maps reloaded, counted where they
  // happen and told to the log sink.
  const MetricsSnapshot after = executor->Metrics();
  std::cout << "[figures] resharding: " << after.moved - before.moved << " MOVED, "
            << after.ask - before.ask << " ASK followed, "
            << after.topology_reloads - before.topology_reloads << " slot maps loaded" << std::endl;
  EXPECT_GT(after.moved, before.moved);
  EXPECT_GT(after.topology_reloads, before.topology_reloads);
  {
    std::lock_guard<std::mutex> lock(log_mutex);
    EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& line) {
      return line.starts_with("MOVED slot ");
    }));
    EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& line) {
      return line.starts_with("cluster slot map loaded from ");
    }));
  }
  EXPECT_EQ(lanes.errors(), 0) << (lanes.unexpected().empty() ? "" : lanes.unexpected().front());
  EXPECT_EQ(lanes.mismatches(), 0);
  EXPECT_EQ(lanes.CountLost(*executor), 0);
  EXPECT_EQ(moved, 2 * static_cast<int>(slots.size()));
  EXPECT_TRUE(report.failures.empty()) << report.failures.front();
  EXPECT_EQ(report.mismatches.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    for (const auto& [uid, pod] : last[t]) {
      ASSERT_OK_AND_ASSIGN(auto linked, executor->GetLinkedPod(ns, uid, "svc"));
      EXPECT_EQ(linked, pod) << uid;
    }
  }
  EXPECT_TRUE(cluster.WaitHealthy());
}

// --- Replica acknowledgement (Options::replica_ack_timeout) ----------------

TEST(ClusterTest, ReplicaAckTimeoutWaitsForAReplica) {
  auto executor =
      OpenOrDie({.redis_url = SharedClusterUrl(), .replica_ack_timeout = milliseconds(500)});
  const std::string ns = testing::UniqueNamespace();
  for (const std::string& uid : Uids("ack", 20)) {
    ASSERT_OK(executor->SetLinkedPod(ns, uid, "svc", 3, Ttl::Persistent()));
    ASSERT_OK_AND_ASSIGN(TrySetResult tried,
                         executor->TrySetLinkedPod(ns, uid, "svc", 4, Ttl::Persistent()));
    EXPECT_FALSE(tried.applied);
    ASSERT_OK(executor->SetLinkedPod(ns, uid, "svc", 5, Ttl::Seconds(60)));
  }
}

TEST(ClusterTest, ReplicaAckTimeoutWithoutReplicasIsUnavailableButWritten) {
  auto server = testing::RedisServer::Start();  // no replica at all
  auto executor = OpenOrDie({.redis_url = server->url(), .replica_ack_timeout = milliseconds(50)});
  const std::string ns = testing::UniqueNamespace();
  const auto written = executor->SetLinkedPod(ns, "u", "svc", 3, Ttl::Persistent());
  EXPECT_STATUS_CODE(written, UNAVAILABLE);
  EXPECT_TRUE(MessageHas(written.status(), "written on the primary")) << written.status();
  ASSERT_OK_AND_ASSIGN(auto pod, executor->GetLinkedPod(ns, "u", "svc"));
  EXPECT_EQ(pod, 3);
  // Nothing to wait for: a temporary link, or a persistent one not applied.
  ASSERT_OK(executor->SetLinkedPod(ns, "v", "svc", 1, Ttl::Seconds(60)));
  ASSERT_OK_AND_ASSIGN(TrySetResult tried,
                       executor->TrySetLinkedPod(ns, "u", "svc", 9, Ttl::Persistent()));
  EXPECT_FALSE(tried.applied);
  // Waiting longer than a round trip may take is refused up front.
  EXPECT_STATUS_CODE(Executor::Open({.redis_url = server->url(),
                                     .command_timeout = milliseconds(100),
                                     .replica_ack_timeout = milliseconds(100)}),
                     INVALID_ARGUMENT);
}

// --- Failover under load ------------------------------------------------------

TEST(ClusterTest, ManualFailoverUnderLoad) {
  RedisCluster& cluster = *testing::SharedCluster();
  ASSERT_TRUE(cluster.WaitHealthy());
  auto executor = OpenOrDie({.redis_url = cluster.url()});
  const std::string ns = testing::UniqueNamespace();
  ClusterView view(cluster.url());
  const std::string victim_address = view.OwnerOf(LinkKey(ns, "m0-0", "svc"));
  const int primary = std::stoi(victim_address.substr(victim_address.rfind(':') + 1));
  const int replica = cluster.ReplicaOf(primary);
  ASSERT_GT(replica, 0);
  // Half the load on the primary that steps down, half elsewhere.
  WriteLoad load(*executor, ns, "m", [](const std::string&) { return true; });
  WriteLoad on_victim(*executor, ns, "v", [&](const std::string& uid) {
    return view.OwnerOf(LinkKey(ns, uid, "svc")) == victim_address;
  });
  AsyncLanes lanes(*executor, ns, "ma", 32);  // and async calls beside the threads
  load.Start(2);
  on_victim.Start(2);
  lanes.Start();
  std::this_thread::sleep_for(milliseconds(300));
  on_victim.MarkEvent();
  const auto start = steady_clock::now();
  ASSERT_TRUE(cluster.ManualFailover(replica));
  const long long failover_ms = MillisSince(start);
  const long long resume_ms = on_victim.WaitResume(std::chrono::seconds(10));
  std::this_thread::sleep_for(milliseconds(300));
  load.Stop();
  on_victim.Stop();
  lanes.Stop();
  std::cout << "[figures] manual failover, async: " << lanes.operations() << " operations in 32 "
            << "lanes, " << lanes.errors() << " errors, " << lanes.acked() << " acknowledged, "
            << lanes.CountLost(*executor) << " lost" << std::endl;
  EXPECT_TRUE(lanes.unexpected().empty()) << lanes.unexpected().front();
  EXPECT_EQ(lanes.mismatches(), 0);
  EXPECT_EQ(lanes.CountLost(*executor), 0);

  const int lost = load.CountLost(*executor) + on_victim.CountLost(*executor);
  std::cout << "[figures] manual failover: done in " << failover_ms << " ms, slowest write on "
            << "its slots " << on_victim.max_latency_ms() << " ms; "
            << load.operations() + on_victim.operations() << " operations, "
            << load.errors() + on_victim.errors() << " errors, " << load.acked() + on_victim.acked()
            << " acknowledged, " << lost << " lost" << std::endl;
  EXPECT_GE(resume_ms, 0);
  EXPECT_TRUE(load.unexpected().empty()) << load.unexpected().front();
  EXPECT_TRUE(on_victim.unexpected().empty()) << on_victim.unexpected().front();
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(cluster.PrimaryOfSlot(KeySlot(LinkKey(ns, "m0-0", "svc"))), replica);
}

TEST(ClusterTest, KilledPrimaryUnderLoadWithAndWithoutReplicaAck) {
  RedisCluster& cluster = *testing::SharedCluster();
  ASSERT_TRUE(cluster.WaitHealthy());
  auto plain = OpenOrDie({.redis_url = cluster.url()});
  auto waiting = OpenOrDie({.redis_url = cluster.url(), .replica_ack_timeout = milliseconds(300)});
  const std::string ns = testing::UniqueNamespace();
  ClusterView view(cluster.url());
  const std::string victim_address = view.OwnerOf(LinkKey(ns, "k", "svc"));
  const int victim = std::stoi(victim_address.substr(victim_address.rfind(':') + 1));
  auto on_victim = [&](const std::string& uid) {
    return view.OwnerOf(LinkKey(ns, uid, "svc")) == victim_address;
  };
  WriteLoad without_ack(*plain, ns, "p", on_victim);
  WriteLoad with_ack(*waiting, ns, "w", on_victim);
  without_ack.Start(2);
  with_ack.Start(2);
  std::this_thread::sleep_for(milliseconds(300));

  without_ack.MarkEvent();
  cluster.KillNode(victim);
  const long long resume_ms = without_ack.WaitResume(std::chrono::seconds(20));
  const long operations_until_resume = without_ack.operations() + with_ack.operations();
  // The new primary has no replica until the old one comes back as one:
  // until then every persistent write with replica_ack_timeout is refused.
  ASSERT_TRUE(cluster.WaitHealthy());
  with_ack.MarkEvent();
  cluster.RestartNode(victim);
  ASSERT_TRUE(cluster.WaitHealthy());
  const long long ack_resume_ms = with_ack.WaitResume(std::chrono::seconds(20));
  std::this_thread::sleep_for(milliseconds(300));
  without_ack.Stop();
  with_ack.Stop();

  const int lost_with_ack = with_ack.CountLost(*plain);
  const int lost_without_ack = without_ack.CountLost(*plain);
  std::cout << "[figures] killed primary: writes resumed " << resume_ms
            << " ms after the kill (cluster-node-timeout 1000 ms), " << operations_until_resume
            << " operations until then; with replica_ack_timeout "
            << "writes resumed " << ack_resume_ms << " ms after the old primary restarted"
            << std::endl;
  std::cout << "[figures] killed primary: lost acknowledged links: " << lost_with_ack << " of "
            << with_ack.acked() << " with replica_ack_timeout, " << lost_without_ack << " of "
            << without_ack.acked() << " without; errors " << with_ack.errors() << " / "
            << without_ack.errors() << " of " << with_ack.operations() << " / "
            << without_ack.operations() << " operations" << std::endl;
  EXPECT_GE(resume_ms, 0);
  EXPECT_GE(ack_resume_ms, 0);
  EXPECT_EQ(lost_with_ack, 0);
  EXPECT_TRUE(with_ack.unexpected().empty()) << with_ack.unexpected().front();
  EXPECT_TRUE(without_ack.unexpected().empty()) << without_ack.unexpected().front();
}

}  // namespace
}  // namespace sfroute
