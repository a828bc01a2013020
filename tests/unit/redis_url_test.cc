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

TEST(RedisUrlTest, TlsSchemesAndParameters) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint endpoint, ParseRedisUrl("rediss://h:6380/1"));
  EXPECT_EQ(endpoint.kind, RedisEndpoint::Kind::kStandalone);
  EXPECT_TRUE(endpoint.tls);
  EXPECT_EQ(endpoint.db, 1);
  EXPECT_EQ(endpoint.tls_options, TlsOptions{});
  ASSERT_OK_AND_ASSIGN(endpoint, ParseRedisUrl("redis://h"));
  EXPECT_FALSE(endpoint.tls);

  ASSERT_OK_AND_ASSIGN(
      endpoint, ParseRedisUrl("rediss-cluster://:p%3Fw@h:1,h:2?tls_ca=%2Fetc%2Fca.pem&tls_cert=/c."
                              "pem&tls_key=/k.pem&tls_sni=redis.example&tls_verify=ca"));
  EXPECT_EQ(endpoint.kind, RedisEndpoint::Kind::kCluster);
  EXPECT_TRUE(endpoint.tls);
  EXPECT_EQ(endpoint.password, "p?w");
  EXPECT_EQ(endpoint.nodes, (std::vector<HostPort>{{"h", 1}, {"h", 2}}));
  EXPECT_EQ(endpoint.tls_options.ca_file, "/etc/ca.pem");
  EXPECT_EQ(endpoint.tls_options.cert_file, "/c.pem");
  EXPECT_EQ(endpoint.tls_options.key_file, "/k.pem");
  EXPECT_EQ(endpoint.tls_options.sni, "redis.example");
  EXPECT_EQ(endpoint.tls_options.verify, TlsVerify::kCa);

  // Options::tls fills what the URL leaves out; the URL wins.
  TlsOptions defaults;
  defaults.ca_file = "/default-ca.pem";
  defaults.sni = "default.example";
  ASSERT_OK_AND_ASSIGN(endpoint,
                       ParseRedisUrl("rediss://h?tls_sni=url.example&tls_verify=none", defaults));
  EXPECT_EQ(endpoint.tls_options.ca_file, "/default-ca.pem");
  EXPECT_EQ(endpoint.tls_options.sni, "url.example");
  EXPECT_EQ(endpoint.tls_options.verify, TlsVerify::kNone);
}

TEST(RedisUrlTest, SentinelForms) {
  ASSERT_OK_AND_ASSIGN(
      RedisEndpoint endpoint,
      ParseRedisUrl("redis-sentinel://u:pw@s1,s2:26380,[::1]/my%2Dmaster/2?sentinel_user=su&"
                    "sentinel_password=sp"));
  EXPECT_EQ(endpoint.kind, RedisEndpoint::Kind::kSentinel);
  EXPECT_FALSE(endpoint.tls);
  EXPECT_EQ(endpoint.nodes, (std::vector<HostPort>{{"s1", 26379}, {"s2", 26380}, {"::1", 26379}}));
  EXPECT_EQ(endpoint.sentinel_master, "my-master");
  EXPECT_EQ(endpoint.db, 2);
  EXPECT_EQ(endpoint.user, "u");
  EXPECT_EQ(endpoint.password, "pw");
  EXPECT_EQ(endpoint.sentinel_user, "su");
  EXPECT_EQ(endpoint.sentinel_password, "sp");
  EXPECT_EQ(endpoint.redacted_url,
            "redis-sentinel://u:***@s1,s2:26380,[::1]/my%2Dmaster/2?sentinel_user=su&"
            "sentinel_password=***");

  ASSERT_OK_AND_ASSIGN(endpoint, ParseRedisUrl("rediss-sentinel://s1:1/m?tls_verify=full"));
  EXPECT_EQ(endpoint.kind, RedisEndpoint::Kind::kSentinel);
  EXPECT_TRUE(endpoint.tls);
  EXPECT_EQ(endpoint.db, 0);
  EXPECT_EQ(endpoint.sentinel_master, "m");
}

TEST(RedisUrlTest, RejectsMisplacedOrUnknownParameters) {
  struct Case {
    const char* url;
    const char* names;
  };
  for (const Case& c : {
           Case{"redis://h?tls_ca=/x", "tls_ca is for TLS URLs"},
           Case{"redis-cluster://h:1?tls_verify=none", "tls_verify is for TLS URLs"},
           Case{"rediss://h?sentinel_user=x", "sentinel_user is for sentinel URLs"},
           Case{"rediss://h?tls_verify=maybe", "tls_verify must be full, ca or none"},
           Case{"rediss://h?tls_colour=red", "unknown query parameter 'tls_colour'"},
           Case{"rediss://h?tls_ca", "query parameter 'tls_ca' has no value"},
           Case{"rediss://h?tls_ca=%zz", "bad percent-encoding in the value of tls_ca"},
           Case{"redis-sentinel://h:1", "needs /<master name>"},
           Case{"redis-sentinel://h:1/", "empty master name"},
           Case{"redis-sentinel://h:1,/m", "empty sentinel"},
           Case{"redis-sentinel://h:1/m/x", "db must be a number"},
           Case{"redis-sentinel://h:1/m?sentinel_password=", "empty sentinel_password"},
       }) {
    SCOPED_TRACE(c.url);
    auto endpoint = ParseRedisUrl(c.url);
    EXPECT_STATUS_CODE(endpoint, INVALID_ARGUMENT);
    EXPECT_NE(endpoint.status().message().find(c.names), std::string::npos)
        << endpoint.status().message();
  }
  auto endpoint = ParseRedisUrl("redis-sentinel://h:1/m?sentinel_password=topsecret&bad=1");
  EXPECT_STATUS_CODE(endpoint, INVALID_ARGUMENT);
  EXPECT_EQ(endpoint.status().message().find("topsecret"), std::string::npos);
  EXPECT_EQ(RedactedUrl("rediss-sentinel://:a@h:1/m?sentinel_password=topsecret").find("topsecret"),
            std::string::npos);
}

}  // namespace
}  // namespace sfroute::internal
