#include "redis_url.h"

#include <string>

#include "gtest/gtest.h"
#include "sfroute/options.h"
#include "status_matchers.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

TEST(RedisUrlTest, Defaults) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint, ParseRedisUrl("redis://"));
  EXPECT_EQ(endpoint.nodes.at(0).host, "127.0.0.1");
  EXPECT_EQ(endpoint.nodes.at(0).port, 6379);
  EXPECT_EQ(endpoint.db, 0);
  EXPECT_EQ(endpoint.user, "");
  EXPECT_EQ(endpoint.password, "");
}

TEST(RedisUrlTest, AllParts) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint,
                       ParseRedisUrl("redis://alice:p%40ss%3Aword@redis.local:7000/3"));
  EXPECT_EQ(endpoint.nodes.at(0).host, "redis.local");
  EXPECT_EQ(endpoint.nodes.at(0).port, 7000);
  EXPECT_EQ(endpoint.db, 3);
  EXPECT_EQ(endpoint.user, "alice");
  EXPECT_EQ(endpoint.password, "p@ss:word");
  EXPECT_EQ(endpoint.Address(), "redis.local:7000");
}

TEST(RedisUrlTest, PasswordOnlyAndIpv6) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint, ParseRedisUrl("redis://:secret@[::1]:6380"));
  EXPECT_EQ(endpoint.user, "");
  EXPECT_EQ(endpoint.password, "secret");
  EXPECT_EQ(endpoint.nodes.at(0).host, "::1");
  EXPECT_EQ(endpoint.nodes.at(0).port, 6380);
  EXPECT_EQ(endpoint.Address(), "[::1]:6380");
}

TEST(RedisUrlTest, RejectsMalformedUrlsWithoutEchoingThePassword) {
  for (const char* bad :
       {"http://x", "redis://h:0", "redis://h:65536", "redis://h:x", "redis://h:", "redis://h/x",
        "redis://user@h", "redis://u:%zz@h", "redis://u:@h", "redis://[::1"}) {
    auto endpoint = ParseRedisUrl(bad);
    EXPECT_STATUS_CODE(endpoint, INVALID_ARGUMENT);
    EXPECT_NE(endpoint.status().message().find("redis_url"), std::string::npos);
  }
  auto endpoint = ParseRedisUrl("redis://u:topsecret@h:bad");
  EXPECT_STATUS_CODE(endpoint, INVALID_ARGUMENT);
  EXPECT_EQ(endpoint.status().message().find("topsecret"), std::string::npos);
}

TEST(RedisUrlTest, ClusterSeeds) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint,
                       ParseRedisUrl("redis-cluster://u:pw@10.0.0.1:7000,[::1]:7001,h"));
  EXPECT_EQ(endpoint.kind, RedisEndpoint::Kind::kCluster);
  EXPECT_EQ(endpoint.nodes,
            (std::vector<HostPort>{{"10.0.0.1", 7000}, {"::1", 7001}, {"h", 6379}}));
  EXPECT_EQ(endpoint.user, "u");
  EXPECT_EQ(endpoint.password, "pw");
  EXPECT_STATUS_CODE(ParseRedisUrl("redis-cluster://h:1,,h:2"), INVALID_ARGUMENT);
  EXPECT_STATUS_CODE(ParseRedisUrl("redis-cluster://h:1/0"), INVALID_ARGUMENT);
}

TEST(RedisUrlTest, Memory) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint, ParseRedisUrl("memory://"));
  EXPECT_EQ(endpoint.kind, RedisEndpoint::Kind::kMemory);
  EXPECT_EQ(endpoint.memory_name, "");
  ASSERT_OK_AND_ASSIGN(endpoint, ParseRedisUrl("memory://shared"));
  EXPECT_EQ(endpoint.memory_name, "shared");
}

TEST(RedisUrlTest, NumbersAreCanonicalDecimals) {
  for (const char* bad : {"redis://h:06379", "redis://h:+6379", "redis://h:-1", "redis://h/01",
                          "redis://h/-0", "redis://h/+1", "redis://h/00", "redis://h: 1"}) {
    SCOPED_TRACE(bad);
    EXPECT_STATUS_CODE(ParseRedisUrl(bad), INVALID_ARGUMENT);
  }
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint, ParseRedisUrl("redis://h:6379/0"));
  EXPECT_EQ(endpoint.db, 0);
}

TEST(RedisUrlTest, RedactedUrlHidesAnyPassword) {
  // Passwords with the characters that end a URL in running text.
  for (const char* password : {"ab,s3cr3t", "s3 cr3t", "s3\"cr3t", "s3'cr3t", "@s3cr3t", "s3cr3t@",
                               "s3:cr3t", "s3/cr3t"}) {
    SCOPED_TRACE(password);
    for (const std::string& url :
         {StrCat("redis://:", password, "@h:1/2"), StrCat("redis://alice:", password, "@h:1"),
          StrCat("redis-cluster://:", password, "@h:1,h:2")}) {
      const std::string redacted = RedactedUrl(url);
      EXPECT_EQ(redacted.find("s3"), std::string::npos) << redacted;
      EXPECT_EQ(redacted.find("cr3t"), std::string::npos) << redacted;
      EXPECT_NE(redacted.find(":***@h:1"), std::string::npos) << redacted;
    }
  }
  EXPECT_EQ(RedactedUrl("redis://alice:pw@h:1/2"), "redis://alice:***@h:1/2");
  EXPECT_EQ(RedactedUrl("redis://h:1"), "redis://h:1");
  EXPECT_EQ(RedactedUrl("memory://x"), "memory://x");
  EXPECT_EQ(RedactedUrl("redis://:pw@h:x").find("pw"), std::string::npos);
}

}  // namespace
}  // namespace sfroute::internal
