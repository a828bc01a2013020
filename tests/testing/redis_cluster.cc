#include "redis_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "gtest/gtest.h"

namespace sfroute::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "cluster harness: %s\n", why.c_str());
  std::abort();
}

// Runs a program to completion (at most `timeout`, then SIGKILL), its
// output to `log`. Returns its exit code, -1 when it had to be killed.
int RunProgram(std::vector<std::string> args, const std::string& log, milliseconds timeout) {
  const pid_t pid = fork();
  if (pid < 0) Die("fork failed");
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

std::unique_ptr<RedisCluster> RedisCluster::Start(Config config) {
  std::unique_ptr<RedisCluster> cluster(new RedisCluster(config));
  char dir_template[] = "/tmp/sfroute-cluster-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) Die("mkdtemp failed");
  cluster->dir_ = dir_template;
  const int count = config.primaries * (1 + config.replicas_per_primary);
  for (int i = 0; i < count; ++i) {
    std::vector<std::string> args = {
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
        std::to_string(config.node_timeout_ms), "--cluster-port",
        std::to_string(FreeLoopbackPort()),
        // Tests kill primaries on purpose: let any replica take over, and
        // keep replicas where they are.
        "--cluster-replica-validity-factor", "0", "--cluster-allow-replica-migration", "no",
        // Replicas sync at once (the default waits 5 s for more replicas)
        // and report their offsets every second.
        "--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1"};
    if (config.tls != nullptr) {
      const int tls_port = FreeLoopbackPort();
      const auto tls_args = config.tls->ServerArgs(tls_port);
      args.insert(args.end(), tls_args.begin(), tls_args.end());
      args.insert(args.end(), {"--tls-cluster", "yes", "--tls-replication", "yes"});
      cluster->tls_ports_.push_back(tls_port);
    }
    cluster->nodes_.push_back(RedisServer::Start(std::move(args)));
    cluster->alive_.push_back(true);
  }
  if (!cluster->Create()) Die("redis-cli --cluster create failed; see " + cluster->dir_);
  if (!cluster->WaitHealthy(std::chrono::seconds(60))) Die("the cluster did not become healthy");
  return cluster;
}

RedisCluster::~RedisCluster() {
  nodes_.clear();  // each RedisServer kills its process and removes its dir
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

bool RedisCluster::Create() {
  std::vector<std::string> args = {"redis-cli", "--cluster", "create"};
  for (int port : ports()) args.push_back("127.0.0.1:" + std::to_string(port));
  args.insert(args.end(), {"--cluster-replicas", std::to_string(config_.replicas_per_primary),
                           "--cluster-yes"});
  return RunProgram(args, dir_ + "/create.log", std::chrono::seconds(60)) == 0;
}

std::string RedisCluster::url() const {
  std::string seeds;
  for (int port : ports())
    seeds += (seeds.empty() ? "" : ",") + ("127.0.0.1:" + std::to_string(port));
  return "redis-cluster://" + seeds;
}

std::string RedisCluster::tls_url() const {
  std::string seeds;
  for (int port : tls_ports_)
    seeds += (seeds.empty() ? "" : ",") + ("127.0.0.1:" + std::to_string(port));
  return "rediss-cluster://" + seeds;
}

int RedisCluster::TlsPortOf(int port) const {
  for (std::size_t i = 0; i < nodes_.size() && i < tls_ports_.size(); ++i) {
    if (nodes_[i]->port() == port) return tls_ports_[i];
  }
  return -1;
}

int RedisCluster::PlainPort(int port) const {
  for (std::size_t i = 0; i < nodes_.size() && i < tls_ports_.size(); ++i) {
    if (tls_ports_[i] == port) return nodes_[i]->port();
  }
  return port;
}

std::vector<int> RedisCluster::ports() const {
  std::vector<int> ports;
  for (const auto& node : nodes_) ports.push_back(node->port());
  return ports;
}

std::optional<RawReply> RedisCluster::Command(int port, const std::vector<std::string>& args) {
  const timeval timeout{2, 0};
  redisContext* context = redisConnectWithTimeout("127.0.0.1", port, timeout);
  std::optional<RawReply> result;
  if (context != nullptr && context->err == 0) {
    redisSetTimeout(context, timeout);
    result = RunCommand(context, args);
  }
  if (context != nullptr) redisFree(context);
  return result;
}

std::string RedisCluster::NodeId(int port) {
  auto id = Command(port, {"CLUSTER", "MYID"});
  return id ? id->str : "";
}

std::optional<RawReply> RedisCluster::ClusterSlots() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!alive_[i]) continue;
    auto slots = Command(nodes_[i]->port(), {"CLUSTER", "SLOTS"});
    if (slots && slots->type == RawReply::Type::kArray) return slots;
  }
  return std::nullopt;
}

int RedisCluster::PrimaryOfSlot(int slot) {
  auto slots = ClusterSlots();
  if (!slots) return -1;
  for (const RawReply& range : slots->elements) {
    if (range.elements[0].integer <= slot && slot <= range.elements[1].integer) {
      return static_cast<int>(range.elements[2].elements[1].integer);
    }
  }
  return -1;
}

int RedisCluster::ReplicaOf(int primary_port) {
  // ROLE on a primary: ["master", offset, [[host, port, offset], ...]].
  auto role = Command(primary_port, {"ROLE"});
  if (!role || role->elements.size() < 3 || role->elements[0].str != "master") return -1;
  for (const RawReply& replica : role->elements[2].elements) {
    if (replica.elements.size() >= 2) return PlainPort(std::atoi(replica.elements[1].str.c_str()));
  }
  return -1;
}

std::vector<int> RedisCluster::Primaries() {
  std::set<int> primaries;
  if (auto slots = ClusterSlots()) {
    for (const RawReply& range : slots->elements) {
      primaries.insert(static_cast<int>(range.elements[2].elements[1].integer));
    }
  }
  return {primaries.begin(), primaries.end()};
}

void RedisCluster::KillNode(int port) {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->port() == port) {
      nodes_[i]->Kill();
      alive_[i] = false;
    }
  }
}

void RedisCluster::RestartNode(int port) {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->port() == port) {
      nodes_[i]->Restart();
      alive_[i] = true;
    }
  }
}

bool RedisCluster::MigrateSlot(int slot, int from, int to) {
  const std::string slot_text = std::to_string(slot);
  const std::string from_id = NodeId(from);
  const std::string to_id = NodeId(to);
  auto ok = [](const std::optional<RawReply>& reply) {
    return reply && reply->type != RawReply::Type::kError;
  };
  if (from_id.empty() || to_id.empty() ||
      !ok(Command(to, {"CLUSTER", "SETSLOT", slot_text, "IMPORTING", from_id})) ||
      !ok(Command(from, {"CLUSTER", "SETSLOT", slot_text, "MIGRATING", to_id}))) {
    ADD_FAILURE() << "cannot start migrating slot " << slot;
    return false;
  }
  for (int batch = 0; batch < 10000; ++batch) {  // bounded: 1,000,000 keys
    auto keys = Command(from, {"CLUSTER", "GETKEYSINSLOT", slot_text, "100"});
    if (!ok(keys)) return false;
    if (keys->elements.empty()) break;
    std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", std::to_string(to), "",
                                        "0",       "5000",      "REPLACE",          "KEYS"};
    for (const RawReply& key : keys->elements) migrate.push_back(key.str);
    auto migrated = Command(from, migrate);
    if (!ok(migrated)) {
      ADD_FAILURE() << "MIGRATE of slot " << slot << " failed: " << (migrated ? migrated->str : "");
      return false;
    }
  }
  // The new owner first, then the old one (it stops answering ASK), then
  // the other primaries, as the cluster spec orders it.
  std::vector<int> order = {to, from};
  for (int primary : Primaries()) {
    if (primary != to && primary != from) order.push_back(primary);
  }
  for (int port : order) {
    if (!ok(Command(port, {"CLUSTER", "SETSLOT", slot_text, "NODE", to_id}))) {
      ADD_FAILURE() << "SETSLOT NODE failed on " << port;
      return false;
    }
  }
  return true;
}

bool RedisCluster::ManualFailover(int replica_port) {
  auto reply = Command(replica_port, {"CLUSTER", "FAILOVER"});
  if (!reply || reply->type == RawReply::Type::kError) {
    ADD_FAILURE() << "CLUSTER FAILOVER refused: " << (reply ? reply->str : "no reply");
    return false;
  }
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);
  while (steady_clock::now() < deadline) {
    auto role = Command(replica_port, {"ROLE"});
    if (role && !role->elements.empty() && role->elements[0].str == "master") {
      return WaitHealthy();
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

bool RedisCluster::Healthy() {
  std::string reference;
  std::set<int> primaries;
  std::map<int, int> replica_of;  // live replica -> its primary
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!alive_[i]) continue;
    const int port = nodes_[i]->port();
    auto info = Command(port, {"CLUSTER", "INFO"});
    if (!info || !Contains(info->str, "cluster_state:ok") ||
        !Contains(info->str, "cluster_slots_ok:16384")) {
      return false;
    }
    // The slot ranges and their primaries: the same on every node. (Replicas
    // are left out: CLUSTER SLOTS lists one only once it has replicated.)
    auto slots = Command(port, {"CLUSTER", "SLOTS"});
    if (!slots || slots->type != RawReply::Type::kArray) return false;
    std::map<long long, std::string> ranges;
    for (const RawReply& range : slots->elements) {
      const int primary = static_cast<int>(range.elements[2].elements[1].integer);
      ranges[range.elements[0].integer] =
          std::to_string(range.elements[1].integer) + ":" + std::to_string(primary);
      primaries.insert(primary);
    }
    std::string view;
    for (const auto& [first, text] : ranges) view += std::to_string(first) + "-" + text + ";";
    if (reference.empty()) reference = view;
    if (view != reference) return false;
    // ROLE of a replica: ["slave", host, port, state, offset].
    auto role = Command(port, {"ROLE"});
    if (!role || role->elements.empty()) return false;
    if (role->elements[0].str == "slave") {
      if (role->elements.size() < 4 || role->elements[3].str != "connected") return false;
      replica_of[port] = PlainPort(static_cast<int>(role->elements[2].integer));
    }
  }
  // Every live node serves slots or replicates a node that does.
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const int port = nodes_[i]->port();
    if (!alive_[i] || primaries.count(port) != 0) continue;
    auto it = replica_of.find(port);
    if (it == replica_of.end() || primaries.count(it->second) == 0) return false;
  }
  return true;
}

bool RedisCluster::WaitHealthy(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (Healthy()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return false;
}

RedisCluster* SharedCluster() {
  static std::unique_ptr<RedisCluster> cluster = RedisCluster::Start();
  return cluster.get();
}

std::string SharedClusterUrl() {
  if (const char* url = std::getenv("SFROUTE_TEST_CLUSTER"); url != nullptr && *url != '\0') {
    return url;
  }
  return SharedCluster()->url();
}

}  // namespace sfroute::testing
