// Key formatting, identifier rules and pod parsing: no server needed.
#include "keys.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "status_matchers.h"

namespace sfroute::internal {
namespace {

TEST(KeysTest, FormatsTheWireKeys) {
  EXPECT_EQ(LinkKey("prod", "u1", "chat"), "sf:{prod:lk:u1}chat");
  EXPECT_EQ(LinksHashKey("prod", "u1"), "sf:{prod:lk:u1}");
  EXPECT_EQ(StateKey("prod", "chat"), "sf:{prod:state:chat}");
  EXPECT_EQ(WorkloadKey("prod", "chat"), "sf:{prod:workload:chat}");
}

TEST(KeysTest, NamesFollowTheRules) {
  for (auto validate : {ValidateNamespace, ValidateService}) {
    EXPECT_OK(validate("a"));
    EXPECT_OK(validate(std::string(253, 'x')));
    EXPECT_OK(validate("!~-_.0aZ"));
    EXPECT_STATUS_CODE(validate(""), INVALID_ARGUMENT);
    EXPECT_STATUS_CODE(validate(std::string(254, 'x')), INVALID_ARGUMENT);
    for (std::string bad : {"a b", "a{", "a}", "a:b", "a\x7f", "a\x01", "\xe7\x8e\xa9"}) {
      EXPECT_STATUS_CODE(validate(bad), INVALID_ARGUMENT) << bad;
    }
  }
  EXPECT_NE(ValidateNamespace("").message().find("ns"), std::string::npos);
  EXPECT_NE(ValidateService("").message().find("svc"), std::string::npos);
}

TEST(KeysTest, UidsFollowTheRules) {
  EXPECT_OK(ValidateUid("u"));
  EXPECT_OK(ValidateUid("\xe7\x8e\xa9\xe5\xae\xb6-1:x"));  // UTF-8 and ':' are fine
  EXPECT_OK(ValidateUid(std::string(512, 'u')));
  EXPECT_STATUS_CODE(ValidateUid(""), INVALID_ARGUMENT);
  EXPECT_STATUS_CODE(ValidateUid(std::string(513, 'u')), INVALID_ARGUMENT);
  for (const std::string& bad :
       std::vector<std::string>{"a}", "{a", "a b", "a\n", "a\t", "a\x7f", std::string("a\0b", 3)}) {
    EXPECT_STATUS_CODE(ValidateUid(bad), INVALID_ARGUMENT) << bad;
  }
  EXPECT_NE(ValidateUid("a}").message().find("uid"), std::string::npos);
}

TEST(KeysTest, StatesPodsAndTtls) {
  EXPECT_OK(ValidateState("x"));
  EXPECT_OK(ValidateState(std::string(4096, 's')));
  EXPECT_STATUS_CODE(ValidateState(""), INVALID_ARGUMENT);
  EXPECT_STATUS_CODE(ValidateState(std::string(4097, 's')), INVALID_ARGUMENT);
  EXPECT_OK(ValidatePod(0));
  EXPECT_STATUS_CODE(ValidatePod(-1), INVALID_ARGUMENT);
  EXPECT_OK(ValidateTtl(Ttl::Persistent()));
  EXPECT_OK(ValidateTtl(Ttl::Seconds(1)));
  EXPECT_STATUS_CODE(ValidateTtl(Ttl::Seconds(0)), INVALID_ARGUMENT);
  EXPECT_STATUS_CODE(ValidateTtl(Ttl::Seconds(-2)), INVALID_ARGUMENT);
  EXPECT_NE(ValidateTtl(Ttl::Seconds(0)).message().find("ttl"), std::string::npos);
  EXPECT_OK(ValidateKeepSeconds(-1));
  EXPECT_OK(ValidateKeepSeconds(0));
  EXPECT_OK(ValidateKeepSeconds(30));
  EXPECT_STATUS_CODE(ValidateKeepSeconds(-2), INVALID_ARGUMENT);
}

TEST(KeysTest, ParsesOnlyCanonicalPodIndices) {
  EXPECT_EQ(ParsePodIndex("0"), 0);
  EXPECT_EQ(ParsePodIndex("17"), 17);
  EXPECT_EQ(ParsePodIndex("2147483647"), 2147483647);
  for (const char* bad : {"", "-1", "+1", "01", "00", "1.0", " 1", "1 ", "2147483648",
                          "99999999999", "abc", "null"}) {
    EXPECT_EQ(ParsePodIndex(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(PodText(0), "0");
  EXPECT_EQ(PodText(2147483647), "2147483647");
}

TEST(KeysTest, AbsentValues) {
  EXPECT_TRUE(IsAbsentValue(""));
  EXPECT_TRUE(IsAbsentValue("null"));
  EXPECT_TRUE(IsAbsentValue("nil"));
  EXPECT_FALSE(IsAbsentValue("0"));
  EXPECT_FALSE(IsAbsentValue("NULL"));
}

}  // namespace
}  // namespace sfroute::internal
