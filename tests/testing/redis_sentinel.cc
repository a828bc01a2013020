#include "redis_sentinel.h"

#include <hiredis/hiredis.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>

namespace sfroute::testing {
namespace {

// One command on a new connection to 127.0.0.1:port, after AUTH.
std::optional<RawReply> Once(int port, const std::string& password,
                             const std::vector<std::string>& args) {
  timeval tv{1, 0};
  redisContext* context = redisConnectWithTimeout("127.0.0.1", port, tv);
  std::optional<RawReply> reply;
  if (context != nullptr && context->err == 0) {
    redisSetTimeout(context, tv);
    auto auth = RunCommand(context, {"AUTH", password});
    if (auth.has_value() && auth->type != RawReply::Type::kError) {
      reply = RunCommand(context, args);
    }
  }
  if (context != nullptr) redisFree(context);
  return reply;
}

// The value of `field` in a flat [field, value, ...] array.
std::string Field(const RawReply& pairs, const std::string& field) {
  for (std::size_t i = 0; i + 1 < pairs.elements.size(); i += 2) {
    if (pairs.elements[i].str == field) return pairs.elements[i + 1].str;
  }
  return "";
}

template <typename Condition>
bool WaitFor(std::chrono::seconds timeout, Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace

std::unique_ptr<RedisSentinel> RedisSentinel::Start(Config config) {
  std::unique_ptr<RedisSentinel> deployment(new RedisSentinel);
  deployment->tls_ = config.tls;
  // A new replica's full sync starts at once (the default waits 5 s).
  const std::vector<std::string> data_args = {"--requirepass",
                                              kDataPassword,
                                              "--masterauth",
                                              kDataPassword,
                                              "--repl-diskless-sync-delay",
                                              "0"};
  // With TLS, the replica connects to the TLS port and announces its own
  // (tls-replication), as do the sentinels (to the data nodes and to each
  // other).
  auto with_tls = [&](std::vector<std::string> args, int tls_port) {
    if (config.tls == nullptr) return args;
    for (auto& arg : config.tls->ServerArgs(tls_port)) args.push_back(std::move(arg));
    args.insert(args.end(), {"--tls-replication", "yes"});
    return args;
  };
  if (config.tls != nullptr) {
    deployment->a_tls_port_ = FreeLoopbackPort();
    deployment->b_tls_port_ = FreeLoopbackPort();
  }
  deployment->a_ = RedisServer::Start(with_tls(data_args, deployment->a_tls_port_));
  const int a_announced = deployment->Announced(deployment->a_->port());
  std::vector<std::string> replica_args = data_args;
  replica_args.insert(replica_args.end(),
                      {"--replicaof", "127.0.0.1", std::to_string(a_announced)});
  deployment->b_ = RedisServer::Start(with_tls(replica_args, deployment->b_tls_port_));
  std::ostringstream config_text;
  config_text << "sentinel monitor " << kMasterName << " 127.0.0.1 " << a_announced << " 2\n"
              << "sentinel auth-pass " << kMasterName << " " << kDataPassword << "\n"
              << "sentinel down-after-milliseconds " << kMasterName << " 1000\n"
              << "sentinel failover-timeout " << kMasterName << " 4000\n"
              << "sentinel parallel-syncs " << kMasterName << " 1\n"
              << "requirepass " << kSentinelPassword << "\n"
              << "sentinel sentinel-pass " << kSentinelPassword << "\n";
  if (config.tls != nullptr) {
    config_text << "tls-cert-file " << config.tls->Cert("server") << "\n"
                << "tls-key-file " << config.tls->Key("server") << "\n"
                << "tls-ca-cert-file " << config.tls->Cert("ca") << "\n"
                << "tls-auth-clients no\n"
                << "tls-replication yes\n";
  }
  for (int i = 0; i < 3; ++i) {
    std::string text = config_text.str();
    if (config.tls != nullptr) {
      deployment->sentinel_tls_ports_.push_back(FreeLoopbackPort());
      text += "tls-port " + std::to_string(deployment->sentinel_tls_ports_.back()) + "\n";
    }
    deployment->sentinels_.push_back(RedisServer::StartSentinel(text));
  }
  if (!deployment->WaitSettled()) {
    std::fprintf(stderr, "test harness: the sentinels did not settle\n");
    std::abort();
  }
  return deployment;
}

std::string RedisSentinel::url(int db) const {
  std::ostringstream url;
  url << "redis-sentinel://:" << kDataPassword << "@";
  for (std::size_t i = 0; i < sentinels_.size(); ++i) {
    url << (i == 0 ? "" : ",") << "127.0.0.1:" << sentinels_[i]->port();
  }
  url << "/" << kMasterName;
  if (db != 0) url << "/" << db;
  url << "?sentinel_password=" << kSentinelPassword;
  return url.str();
}

std::string RedisSentinel::tls_url(int db) const {
  std::ostringstream url;
  url << "rediss-sentinel://:" << kDataPassword << "@";
  for (std::size_t i = 0; i < sentinel_tls_ports_.size(); ++i) {
    url << (i == 0 ? "" : ",") << "localhost:" << sentinel_tls_ports_[i];
  }
  url << "/" << kMasterName;
  if (db != 0) url << "/" << db;
  url << "?sentinel_password=" << kSentinelPassword
      << "&tls_ca=" << (tls_ != nullptr ? tls_->Cert("ca") : "");
  return url.str();
}

std::vector<std::string> RedisSentinel::sentinel_tls_addresses() const {
  std::vector<std::string> addresses;
  for (int port : sentinel_tls_ports_) addresses.push_back("localhost:" + std::to_string(port));
  return addresses;
}

int RedisSentinel::Announced(int port) const {
  if (tls_ == nullptr) return port;
  if (a_ != nullptr && port == a_->port()) return a_tls_port_;
  if (b_ != nullptr && port == b_->port()) return b_tls_port_;
  return port;
}

std::vector<std::string> RedisSentinel::sentinel_addresses() const {
  std::vector<std::string> addresses;
  for (const auto& sentinel : sentinels_) {
    addresses.push_back("127.0.0.1:" + std::to_string(sentinel->port()));
  }
  return addresses;
}

std::optional<RawReply> RedisSentinel::Data(int port, const std::vector<std::string>& args) {
  return Once(port, kDataPassword, args);
}

std::optional<RawReply> RedisSentinel::Ask(int i, const std::vector<std::string>& args) {
  return Once(sentinels_[i]->port(), kSentinelPassword, args);
}

RedisServer* RedisSentinel::Master() {
  for (RedisServer* node : {a_.get(), b_.get()}) {
    auto role = Data(node->port(), {"ROLE"});
    if (role.has_value() && !role->elements.empty() && role->elements[0].str == "master") {
      return node;
    }
  }
  return nullptr;
}

RedisServer* RedisSentinel::Replica() {
  RedisServer* master = Master();
  if (master == nullptr) return nullptr;
  return master == a_.get() ? b_.get() : a_.get();
}

std::optional<int> RedisSentinel::NamedMaster() {
  std::optional<int> named;
  for (std::size_t i = 0; i < sentinels_.size(); ++i) {
    auto reply = Ask(static_cast<int>(i), {"SENTINEL", "get-master-addr-by-name", kMasterName});
    if (!reply.has_value() || reply->elements.size() != 2) return std::nullopt;
    const int port = std::atoi(reply->elements[1].str.c_str());
    if (named.has_value() && *named != port) return std::nullopt;
    named = port;
  }
  return named;
}

bool RedisSentinel::WaitMaster(int port, std::chrono::seconds timeout) {
  return WaitFor(timeout, [&] {
    auto role = Data(port, {"ROLE"});
    return NamedMaster() == Announced(port) && role.has_value() && !role->elements.empty() &&
           role->elements[0].str == "master";
  });
}

bool RedisSentinel::WaitSettled(std::chrono::seconds timeout) {
  return WaitFor(timeout, [&] {
    RedisServer* master = Master();
    RedisServer* replica = Replica();
    if (master == nullptr || NamedMaster() != Announced(master->port())) return false;
    auto info = Data(replica->port(), {"INFO", "replication"});
    if (!info.has_value() ||
        info->str.find("master_port:" + std::to_string(Announced(master->port()))) ==
            std::string::npos ||
        info->str.find("master_link_status:up") == std::string::npos) {
      return false;
    }
    for (std::size_t i = 0; i < sentinels_.size(); ++i) {
      auto replicas = Ask(static_cast<int>(i), {"SENTINEL", "replicas", kMasterName});
      auto others = Ask(static_cast<int>(i), {"SENTINEL", "sentinels", kMasterName});
      if (!replicas.has_value() || !others.has_value() || others->elements.size() != 2) {
        return false;
      }
      bool known = false;
      for (const RawReply& entry : replicas->elements) {
        // Not its master-link-status: the sentinels refresh it every 10 s
        // only (the replica's own INFO says so above).
        known |= Field(entry, "port") == std::to_string(Announced(replica->port())) &&
                 Field(entry, "flags") == "slave";
      }
      for (const RawReply& entry : others->elements) {
        if (Field(entry, "flags") != "sentinel") return false;
      }
      if (!known) return false;
    }
    return true;
  });
}

bool RedisSentinel::MakeReplica(int port, int master_port) {
  const std::string announced = std::to_string(Announced(master_port));
  auto reply = Data(port, {"REPLICAOF", "127.0.0.1", announced});
  if (!reply.has_value() || reply->type == RawReply::Type::kError) return false;
  return WaitFor(std::chrono::seconds(20), [&] {
    auto info = Data(port, {"INFO", "replication"});
    return info.has_value() && info->str.find("master_port:" + announced) != std::string::npos &&
           info->str.find("master_link_status:up") != std::string::npos;
  });
}

bool RedisSentinel::StartFailover() {
  auto reply = Ask(0, {"SENTINEL", "FAILOVER", kMasterName});
  return reply.has_value() && reply->type != RawReply::Type::kError;
}

}  // namespace sfroute::testing
