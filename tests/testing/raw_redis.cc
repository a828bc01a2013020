#include "raw_redis.h"

#include <hiredis/hiredis.h>

#include <cstdio>
#include <cstdlib>

#include "gtest/gtest.h"

namespace sfroute::testing {
namespace {

// A hiredis reply as a RawReply.
RawReply FromHiredisReply(const redisReply& reply) {
  RawReply out;
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      out.type = RawReply::Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RawReply::Type::kString;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RawReply::Type::kStatus;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RawReply::Type::kError;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RawReply::Type::kArray;
      for (size_t i = 0; i < reply.elements; ++i) {
        out.elements.push_back(FromHiredisReply(*reply.element[i]));
      }
      break;
    default:
      break;
  }
  return out;
}

}  // namespace

RawRedis::RawRedis(const std::string& url, const std::string& user, const std::string& password) {
  // url is redis://host:port with nothing else: the test harness makes it.
  const std::string prefix = "redis://";
  std::string rest = url.substr(url.rfind(prefix, 0) == 0 ? prefix.size() : 0);
  if (auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const auto colon = rest.rfind(':');
  const std::string host = rest.substr(0, colon);
  const int port = std::atoi(rest.substr(colon + 1).c_str());
  timeval tv{5, 0};
  context_ = redisConnectWithTimeout(host.c_str(), port, tv);
  if (context_ == nullptr || context_->err != 0) {
    std::fprintf(stderr, "RawRedis: cannot connect to %s\n", url.c_str());
    std::abort();
  }
  redisSetTimeout(context_, tv);
  if (!password.empty()) {
    auto reply = user.empty() ? Command({"AUTH", password}) : Command({"AUTH", user, password});
    EXPECT_EQ(reply.type, RawReply::Type::kStatus) << reply.str;
  }
}

RawRedis::~RawRedis() {
  if (context_ != nullptr) redisFree(context_);
}

std::optional<RawReply> RunCommand(redisContext* context, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (reply == nullptr) return std::nullopt;
  RawReply out = FromHiredisReply(*reply);
  freeReplyObject(reply);
  return out;
}

RawReply RawRedis::Command(const std::vector<std::string>& args) {
  std::optional<RawReply> reply = RunCommand(context_, args);
  if (!reply) {
    ADD_FAILURE() << "RawRedis: connection error: " << context_->errstr;
    return {};
  }
  return *std::move(reply);
}

std::optional<std::string> RawStore::Get(const std::string& key) {
  auto reply = Command({"GET", key});
  if (reply.type != RawReply::Type::kString) return std::nullopt;
  return reply.str;
}

std::map<std::string, std::string> RawStore::HGetAll(const std::string& key) {
  auto reply = Command({"HGETALL", key});
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    fields[reply.elements[i].str] = reply.elements[i + 1].str;
  }
  return fields;
}

std::string RawStore::Type(const std::string& key) { return Command({"TYPE", key}).str; }

long long RawStore::Ttl(const std::string& key) { return Command({"TTL", key}).integer; }

bool RawStore::Exists(const std::string& key) { return Command({"EXISTS", key}).integer == 1; }

std::vector<std::string> RawStore::Keys(const std::string& pattern) {
  std::vector<std::string> keys;
  for (const auto& element : Command({"KEYS", pattern}).elements) keys.push_back(element.str);
  return keys;
}

}  // namespace sfroute::testing
