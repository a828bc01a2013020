// Raw access to the keys of a deployment, as a Java or Go service would have
// it: tests use it to read and write the raw keys and check the wire format
// from outside the library.
//
// RawStore is the interface the tests use; RawRedis is a plain hiredis
// connection to one standalone server. The memory and cluster
// implementations live in deployment.h.
#ifndef SFROUTE_TESTS_TESTING_RAW_REDIS_H_
#define SFROUTE_TESTS_TESTING_RAW_REDIS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct redisContext;

namespace sfroute::testing {

struct RawReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  long long integer = 0;
  std::string str;
  std::vector<RawReply> elements;
};

// Sends `args` as one command on `context` (binary safe) and returns the
// reply; nullopt when the connection failed (the context is then unusable).
std::optional<RawReply> RunCommand(redisContext* context, const std::vector<std::string>& args);

// The keys of one deployment, read and written with plain commands. Not
// thread-safe. A connection error is a test failure (and a nil reply).
class RawStore {
 public:
  virtual ~RawStore() = default;

  // One command; a refused command comes back as a kError reply.
  virtual RawReply Command(const std::vector<std::string>& args) = 0;

  std::optional<std::string> Get(const std::string& key);
  std::map<std::string, std::string> HGetAll(const std::string& key);
  std::string Type(const std::string& key);  // "string", "hash", "none", ...
  long long Ttl(const std::string& key);     // -1 no TTL, -2 missing
  bool Exists(const std::string& key);
  // Every key of the deployment that matches the glob `pattern` (KEYS).
  virtual std::vector<std::string> Keys(const std::string& pattern);
};

// One connection to one standalone Redis (or one node of a cluster).
class RawRedis : public RawStore {
 public:
  // Connects to redis://host:port[...] (only host and port are used) and
  // authenticates when `user`/`password` are given. Fails the test on error.
  explicit RawRedis(const std::string& url, const std::string& user = "",
                    const std::string& password = "");
  ~RawRedis() override;
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  RawReply Command(const std::vector<std::string>& args) override;

 private:
  redisContext* context_ = nullptr;
};

}  // namespace sfroute::testing

#endif  // SFROUTE_TESTS_TESTING_RAW_REDIS_H_
