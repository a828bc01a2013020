#include "deployment.h"

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "backend.h"
#include "backend_factory.h"
#include "memory/memory_backend.h"
#include "redis_server.h"
#include "redis_url.h"
#include "reply.h"
#include "status_matchers.h"

namespace sfroute::testing {
namespace {

const char* ClusterUrlFromEnvironment() {
  const char* url = std::getenv("SFROUTE_TEST_CLUSTER");
  return url != nullptr && *url != '\0' ? url : nullptr;
}

// --- memory:// ---------------------------------------------------------------

RawReply FromReply(const internal::Reply& reply) {
  RawReply out;
  switch (reply.type) {
    case internal::Reply::Type::kNil:
      out.type = RawReply::Type::kNil;
      break;
    case internal::Reply::Type::kInteger:
      out.type = RawReply::Type::kInteger;
      out.integer = reply.integer;
      break;
    case internal::Reply::Type::kString:
      out.type = RawReply::Type::kString;
      out.str = reply.str;
      break;
    case internal::Reply::Type::kStatus:
      out.type = RawReply::Type::kStatus;
      out.str = reply.str;
      break;
    case internal::Reply::Type::kError:
      out.type = RawReply::Type::kError;
      out.str = reply.str;
      break;
    case internal::Reply::Type::kArray:
      out.type = RawReply::Type::kArray;
      for (const auto& element : reply.elements) out.elements.push_back(FromReply(element));
      break;
  }
  return out;
}

// The very store that executors opening the same memory://name use.
class MemoryRawStore : public RawStore {
 public:
  explicit MemoryRawStore(const std::string& url) {
    Options options;
    options.redis_url = url;
    auto backend = internal::OpenBackend(options, /*loop=*/nullptr);
    if (!backend.ok()) {
      ADD_FAILURE() << "cannot open " << url << ": " << backend.status();
      return;
    }
    backend_ = std::dynamic_pointer_cast<internal::MemoryBackend>(*std::move(backend));
    if (backend_ == nullptr) ADD_FAILURE() << url << " is not a memory:// store";
  }

  RawReply Command(const std::vector<std::string>& args) override {
    if (backend_ == nullptr) return {};
    return FromReply(backend_->Execute({internal::Command{args}}).front());
  }

 private:
  std::shared_ptr<internal::MemoryBackend> backend_;
};

// --- redis-cluster:// --------------------------------------------------------

// A plain client of a Redis Cluster, independent of the library's cluster
// backend: sends each command to the node that answered last and follows
// MOVED (and ASK) redirections. One cached connection per node.
class ClusterRawStore : public RawStore {
 public:
  // redis-cluster://[[user]:password@]host:port[,host:port...]
  explicit ClusterRawStore(const std::string& url) {
    auto endpoint = internal::ParseRedisUrl(url);
    if (!endpoint.ok()) {
      ADD_FAILURE() << "bad cluster URL: " << endpoint.status();
      return;
    }
    user_ = endpoint->user;
    password_ = endpoint->password;
    for (const internal::HostPort& node : endpoint->nodes) seeds_.push_back(node.Address());
  }

  ~ClusterRawStore() override {
    for (auto& [address, context] : connections_) redisFree(context);
  }

  RawReply Command(const std::vector<std::string>& args) override {
    // Start where the last command went; should that node be unreachable,
    // try the seeds.
    std::vector<std::string> candidates;
    if (!last_.empty()) candidates.push_back(last_);
    candidates.insert(candidates.end(), seeds_.begin(), seeds_.end());
    for (const std::string& start : candidates) {
      std::string address = start;
      for (int hop = 0; hop < 16; ++hop) {
        std::optional<RawReply> reply = Send(address, args);
        if (!reply.has_value()) break;  // unreachable: next candidate
        if (reply->type == RawReply::Type::kError) {
          if (auto moved = Redirection(reply->str, "MOVED ")) {
            address = *moved;
            continue;
          }
          if (auto ask = Redirection(reply->str, "ASK ")) {
            // One command on the importing node, announced by ASKING.
            if (Send(*ask, {"ASKING"}).has_value()) {
              if (auto asked = Send(*ask, args)) return *asked;
            }
            break;
          }
        }
        last_ = address;
        return *reply;
      }
    }
    ADD_FAILURE() << "cluster: no node answered " << (args.empty() ? "" : args.front());
    return {};
  }

  // KEYS on every primary: each holds the keys of its own slots.
  std::vector<std::string> Keys(const std::string& pattern) override {
    std::set<std::string> keys;
    for (const std::string& primary : Primaries()) {
      std::optional<RawReply> reply = Send(primary, {"KEYS", pattern});
      if (!reply.has_value() || reply->type != RawReply::Type::kArray) {
        ADD_FAILURE() << "cluster: KEYS failed on " << primary
                      << (reply.has_value() ? ": " + reply->str : "");
        continue;
      }
      for (const RawReply& key : reply->elements) keys.insert(key.str);
    }
    return {keys.begin(), keys.end()};
  }

 private:
  // "MOVED 3999 127.0.0.1:6381" -> "127.0.0.1:6381".
  static std::optional<std::string> Redirection(const std::string& error, const std::string& kind) {
    if (error.rfind(kind, 0) != 0) return std::nullopt;
    const auto space = error.find(' ', kind.size());
    if (space == std::string::npos) return std::nullopt;
    return error.substr(space + 1);
  }

  // The primaries, from CLUSTER NODES of the first node that answers:
  // "<id> <ip:port@cport[,hostname]> <flags> <primary> ... <slots>".
  std::vector<std::string> Primaries() {
    std::optional<RawReply> nodes;
    for (const std::string& seed : seeds_) {
      nodes = Send(seed, {"CLUSTER", "NODES"});
      if (nodes.has_value() && nodes->type == RawReply::Type::kString) break;
      nodes.reset();
    }
    std::vector<std::string> primaries;
    if (!nodes.has_value()) {
      ADD_FAILURE() << "cluster: CLUSTER NODES failed on every seed";
      return primaries;
    }
    std::stringstream lines(nodes->str);
    for (std::string line; std::getline(lines, line);) {
      std::stringstream fields(line);
      std::string id, address, flags;
      if (!(fields >> id >> address >> flags)) continue;
      std::set<std::string> flag_set;
      std::stringstream flag_list(flags);
      for (std::string flag; std::getline(flag_list, flag, ',');) flag_set.insert(flag);
      if (flag_set.count("master") == 0 || flag_set.count("fail") != 0 ||
          flag_set.count("noaddr") != 0 || flag_set.count("handshake") != 0) {
        continue;
      }
      address = address.substr(0, address.find_first_of("@,"));
      primaries.push_back(address);
    }
    if (primaries.empty()) ADD_FAILURE() << "cluster: no primary in CLUSTER NODES";
    return primaries;
  }

  // The cached connection to `address` (host:port), opened (and
  // authenticated) on first use; nullptr if the node cannot be reached.
  redisContext* Connection(const std::string& address) {
    if (auto it = connections_.find(address); it != connections_.end()) return it->second;
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return nullptr;
    const std::string host = address.substr(0, colon);
    const int port = std::atoi(address.substr(colon + 1).c_str());
    const timeval timeout{5, 0};
    redisContext* context = redisConnectWithTimeout(host.c_str(), port, timeout);
    if (context == nullptr || context->err != 0) {
      if (context != nullptr) redisFree(context);
      return nullptr;
    }
    redisSetTimeout(context, timeout);
    connections_[address] = context;
    if (!password_.empty()) {
      std::optional<RawReply> auth = user_.empty() ? Send(address, {"AUTH", password_})
                                                   : Send(address, {"AUTH", user_, password_});
      if (!auth.has_value() || auth->type == RawReply::Type::kError) {
        ADD_FAILURE() << "cluster: AUTH failed on " << address;
      }
      if (auto it = connections_.find(address); it != connections_.end()) return it->second;
      return nullptr;
    }
    return context;
  }

  // One command on one node; nullopt when the node cannot be reached (a
  // broken connection is dropped).
  std::optional<RawReply> Send(const std::string& address, const std::vector<std::string>& args) {
    redisContext* context = Connection(address);
    if (context == nullptr) return std::nullopt;
    std::optional<RawReply> reply = RunCommand(context, args);
    if (!reply) {
      redisFree(context);
      connections_.erase(address);
    }
    return reply;
  }

  std::vector<std::string> seeds_;
  std::string user_;
  std::string password_;
  std::string last_;  // the node that answered the last command
  std::map<std::string, redisContext*> connections_;
};

}  // namespace

std::string DeploymentName(Deployment deployment) {
  switch (deployment) {
    case Deployment::kMemory:
      return "Memory";
    case Deployment::kStandalone:
      return "Standalone";
    case Deployment::kCluster:
      return "Cluster";
  }
  return "Unknown";
}

void PrintTo(Deployment deployment, std::ostream* os) { *os << DeploymentName(deployment); }

std::vector<Deployment> Deployments() {
  std::vector<Deployment> deployments = {Deployment::kMemory, Deployment::kStandalone};
  if (ClusterUrlFromEnvironment() != nullptr) deployments.push_back(Deployment::kCluster);
  return deployments;
}

std::string NewDeploymentUrl(Deployment deployment) {
  switch (deployment) {
    case Deployment::kMemory: {
      static std::atomic<int> counter{0};
      return "memory://conformance-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    }
    case Deployment::kStandalone:
      return SharedRedisUrl();
    case Deployment::kCluster:
      if (const char* url = ClusterUrlFromEnvironment()) return url;
      ADD_FAILURE() << "the Cluster deployment needs $SFROUTE_TEST_CLUSTER";
      return "";
  }
  return "";
}

std::unique_ptr<RawStore> OpenRawStore(const std::string& url) {
  if (url.rfind("memory://", 0) == 0) return std::make_unique<MemoryRawStore>(url);
  if (url.rfind("redis-cluster://", 0) == 0) return std::make_unique<ClusterRawStore>(url);
  return std::make_unique<RawRedis>(url);
}

void DeploymentTest::SetUp() {
  url_ = NewDeploymentUrl(GetParam());
  ASSERT_FALSE(url_.empty());
  auto executor = Executor::Open(ExecutorOptions());
  ASSERT_OK(executor);
  executor_ = *std::move(executor);
  raw_ = OpenRawStore(url_);
  ns_ = UniqueNamespace();
}

// The servers of $SFROUTE_TEST_REDIS and $SFROUTE_TEST_CLUSTER are shared by
// every test binary of a run: a test leaves them as it found them, so that
// no test's whole-database reads (KEYS) grow slow with the others' keys.
void DeploymentTest::TearDown() {
  if (raw_ == nullptr || GetParam() == Deployment::kMemory) return;
  for (const std::string& key : raw_->Keys(NamespacePattern())) raw_->Command({"DEL", key});
}

std::vector<std::string> DeploymentTest::NamespaceKeys() {
  auto keys = raw().Keys(NamespacePattern());
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::unique_ptr<Executor> OpenOrDie(const Options& options) {
  auto executor = Executor::Open(options);
  EXPECT_TRUE(executor.ok()) << executor.status();
  return executor.ok() ? *std::move(executor) : nullptr;
}

}  // namespace sfroute::testing
