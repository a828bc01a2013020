// A plain hiredis connection, as a Java or Go service would have: tests use
// it to read and write the raw keys and check the wire format from outside
// the library.
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

class RawRedis {
 public:
  // Connects to redis://host:port[...] (only host and port are used) and
  // authenticates when `user`/`password` are given. Fails the test on error.
  explicit RawRedis(const std::string& url, const std::string& user = "",
                    const std::string& password = "");
  ~RawRedis();
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  RawReply Command(const std::vector<std::string>& args);

  std::optional<std::string> Get(const std::string& key);
  std::map<std::string, std::string> HGetAll(const std::string& key);
  std::string Type(const std::string& key);  // "string", "hash", "none", ...
  long long Ttl(const std::string& key);     // -1 no TTL, -2 missing
  bool Exists(const std::string& key);
  std::vector<std::string> Keys(const std::string& pattern);

 private:
  redisContext* context_ = nullptr;
};

}  // namespace sfroute::testing

#endif  // SFROUTE_TESTS_TESTING_RAW_REDIS_H_
