// The pure parts of the cluster layer: key slots, key positions, how a
// batch is cut up and put together, CLUSTER SLOTS and redirect parsing.
#include <string>
#include <vector>

#include "cluster/batch_plan.h"
#include "cluster/slot.h"
#include "cluster/slot_map.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keys.h"
#include "redis/resp.h"

namespace sfroute::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ClusterSlotTest, Crc16MatchesTheSpecCheckValue) {
  // The Redis Cluster spec: CRC16/XMODEM of "123456789" is 0x31C3.
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
  // Every length up to 40 (sixteen bytes at a time, then the rest in one
  // step) against the one-bit-at-a-time definition.
  std::string data;
  for (int size = 0; size <= 40; ++size) {
    std::uint16_t bitwise = 0;
    for (unsigned char byte : data) {
      bitwise ^= static_cast<std::uint16_t>(byte << 8);
      for (int bit = 0; bit < 8; ++bit) {
        bitwise = (bitwise & 0x8000) != 0 ? static_cast<std::uint16_t>((bitwise << 1) ^ 0x1021)
                                          : static_cast<std::uint16_t>(bitwise << 1);
      }
    }
    EXPECT_EQ(Crc16(data), bitwise) << "length " << size;
    data.push_back(static_cast<char>(size * 37 + 11));
  }
}

TEST(ClusterSlotTest, KnownSlots) {
  // As CLUSTER KEYSLOT answers them.
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot("bar"), 5061);
  EXPECT_EQ(KeySlot("hello"), 866);
  EXPECT_EQ(KeySlot(""), 0);
}

TEST(ClusterSlotTest, HashTagsPutKeysInOneSlot) {
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  EXPECT_EQ(HashTag("{user1000}.following"), "user1000");
  // Only the first '{' and the first '}' after it count.
  EXPECT_EQ(HashTag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(HashTag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(HashTag("a}b{c}"), "c");
}

TEST(ClusterSlotTest, EmptyOrUnclosedTagHashesTheWholeKey) {
  EXPECT_EQ(HashTag("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(KeySlot("foo{}{bar}"), Crc16("foo{}{bar}") % kClusterSlots);
  EXPECT_EQ(HashTag("{}"), "{}");
  EXPECT_EQ(HashTag("{}x"), "{}x");
  EXPECT_EQ(HashTag("foo{bar"), "foo{bar");
  EXPECT_EQ(HashTag("foo}bar{"), "foo}bar{");
}

TEST(ClusterSlotTest, TheKeysOfAUidShareASlot) {
  EXPECT_EQ(KeySlot(LinkKey("ns", "u1", "chat")), KeySlot(LinksHashKey("ns", "u1")));
  EXPECT_EQ(KeySlot(LinkKey("ns", "u1", "chat")), KeySlot(LinkKey("ns", "u1", "game")));
  EXPECT_EQ(KeySlot(StateKey("ns", "chat")), KeySlot("ns:state:chat"));
}

// The positions in command.args of the command's keys (Keys, spelt out).
std::vector<std::size_t> KeyPositions(const Command& command) {
  std::vector<std::size_t> positions;
  const KeyRange keys = Keys(command);
  for (std::size_t position = keys.first; position < keys.end(); ++position) {
    positions.push_back(position);
  }
  return positions;
}

TEST(ClusterSlotTest, KeyPositionsByCommandName) {
  EXPECT_THAT(KeyPositions({{"GET", "k"}}), ElementsAre(1));
  EXPECT_THAT(KeyPositions({{"set", "k", "v"}}), ElementsAre(1));
  EXPECT_THAT(KeyPositions({{"HSET", "k", "f", "v"}}), ElementsAre(1));
  EXPECT_THAT(KeyPositions({{"HGETALL", "k"}}), ElementsAre(1));
  EXPECT_THAT(KeyPositions({{"HDEL", "k", "f"}}), ElementsAre(1));
  EXPECT_THAT(KeyPositions({{"EXPIRE", "k", "5"}}), ElementsAre(1));
  EXPECT_THAT(KeyPositions({{"TTL", "k"}}), ElementsAre(1));
  EXPECT_THAT(KeyPositions({{"DEL", "k"}}), ElementsAre(1));
  EXPECT_THAT(KeyPositions({{"MGET", "a", "b", "c"}}), ElementsAre(1, 2, 3));
  EXPECT_THAT(KeyPositions({{"EVALSHA", "sha", "2", "k1", "k2", "arg"}}), ElementsAre(3, 4));
  EXPECT_THAT(KeyPositions({{"EVAL", "return 1", "1", "k", "arg"}}), ElementsAre(3));
  EXPECT_THAT(KeyPositions({{"EVALSHA", "sha", "0", "arg"}}), IsEmpty());
  EXPECT_THAT(KeyPositions({{"EVALSHA", "sha", "3", "k1"}}), IsEmpty());  // malformed
  EXPECT_THAT(KeyPositions({{"SCRIPT", "LOAD", "return 1"}}), IsEmpty());
  EXPECT_THAT(KeyPositions({{"WAIT", "1", "100"}}), IsEmpty());
  EXPECT_THAT(KeyPositions({{"GET"}}), IsEmpty());
  EXPECT_THAT(KeyPositions({{"EvalSha", "sha", "1", "k", "arg"}}), ElementsAre(3));
}

TEST(ClusterSlotTest, KeyPositionsAsTheCommandSaysThem) {
  // The executor's makers say where the keys are; the same as by name.
  const Command get = MakeKeyCommand("GET", "k");
  const Command hset = MakeKeyCommand("HSET", "k", "f", "v");
  const Command script = MakeScriptCommand<2>("sha", "k1", "k2", "arg");
  ASSERT_TRUE(get.keys && hset.keys && script.keys);
  EXPECT_THAT(KeyPositions(get), ElementsAre(1));
  EXPECT_THAT(KeyPositions(Command{get.args}), ElementsAre(1));
  EXPECT_THAT(KeyPositions(hset), ElementsAre(1));
  EXPECT_THAT(KeyPositions(Command{hset.args}), ElementsAre(1));
  EXPECT_THAT(script.args, ElementsAre("EVALSHA", "sha", "2", "k1", "k2", "arg"));
  EXPECT_THAT(KeyPositions(script), ElementsAre(3, 4));
  EXPECT_THAT(KeyPositions(Command{script.args}), ElementsAre(3, 4));
  // Said, it wins over the name; a range past the arguments is not believed.
  EXPECT_THAT(KeyPositions(Command{{"GET", "a", "b"}, KeyRange{2, 1}}), ElementsAre(2));
  EXPECT_THAT(KeyPositions(Command{{"GET", "k"}, KeyRange{1, 2}}), ElementsAre(1));
}

std::string PartBytes(const BatchPlan& plan, const BatchPart& part) {
  std::string bytes;
  AppendPart(plan, part, bytes);
  return bytes;
}

std::string CommandBytes(const Command& command) {
  std::string bytes;
  AppendCommand(command, bytes);
  return bytes;
}

TEST(ClusterSlotTest, MgetOverSlotsIsSplitPerSlotAndMergedInInputOrder) {
  const std::vector<Command> commands = {{{"MGET", "foo", "bar", "{foo}x", "hello"}}};
  BatchPlan plan = PlanBatch(commands);
  ASSERT_EQ(plan.parts.size(), 3u);  // foo and {foo}x share a slot
  EXPECT_EQ(PartBytes(plan, plan.parts[0]), CommandBytes({{"MGET", "foo", "{foo}x"}}));
  EXPECT_EQ(PartBytes(plan, plan.parts[2]), CommandBytes({{"MGET", "hello"}}));
  EXPECT_THAT(Positions(plan, plan.parts[0]), ElementsAre(0, 2));
  EXPECT_THAT(Positions(plan, plan.parts[1]), ElementsAre(1));
  EXPECT_THAT(Positions(plan, plan.parts[2]), ElementsAre(3));
  EXPECT_EQ(plan.parts[1].slot, KeySlot("bar"));
  EXPECT_THAT(plan.split_keys, ElementsAre(4));
  EXPECT_TRUE(plan.split());

  std::vector<Reply> part_replies = {
      Reply::Array({Reply::String("v-foo"), Reply::Nil()}),
      Reply::Array({Reply::String("v-bar")}),
      Reply::Array({Reply::String("v-hello")}),
  };
  std::vector<Reply> merged = MergeReplies(plan, std::move(part_replies));
  ASSERT_EQ(merged.size(), 1u);
  ASSERT_EQ(merged[0].elements.size(), 4u);
  EXPECT_EQ(merged[0].elements[0].str, "v-foo");
  EXPECT_EQ(merged[0].elements[1].str, "v-bar");
  EXPECT_TRUE(merged[0].elements[2].is_nil());
  EXPECT_EQ(merged[0].elements[3].str, "v-hello");
}

TEST(ClusterSlotTest, TwoSplitMgetsKeepTheirOwnKeysAndReplies) {
  const std::vector<Command> commands = {
      {{"MGET", "foo", "bar"}}, {{"GET", "x"}}, {{"MGET", "{bar}y", "hello", "{foo}z"}}};
  BatchPlan plan = PlanBatch(commands);
  ASSERT_EQ(plan.parts.size(), 6u);  // foo, bar | x | {bar}y, hello, {foo}z
  EXPECT_THAT(Positions(plan, plan.parts[0]), ElementsAre(0));
  EXPECT_THAT(Positions(plan, plan.parts[1]), ElementsAre(1));
  EXPECT_EQ(plan.parts[2].keys, 0u);  // the GET, whole
  EXPECT_THAT(Positions(plan, plan.parts[3]), ElementsAre(0));
  EXPECT_THAT(Positions(plan, plan.parts[4]), ElementsAre(1));
  EXPECT_THAT(Positions(plan, plan.parts[5]), ElementsAre(2));
  EXPECT_EQ(PartBytes(plan, plan.parts[4]), CommandBytes({{"MGET", "hello"}}));
  EXPECT_EQ(PartBytes(plan, plan.parts[2]), CommandBytes(commands[1]));
  EXPECT_THAT(plan.split_keys, ElementsAre(2, 0, 3));

  std::vector<Reply> part_replies = {
      Reply::Array({Reply::String("v-foo")}),
      Reply::Array({Reply::String("v-bar")}),
      Reply::String("v-x"),
      Reply::Array({Reply::String("v-bar-y")}),
      Reply::Array({Reply::String("v-hello")}),
      Reply::Array({Reply::String("v-foo-z")}),
  };
  std::vector<Reply> merged = MergeReplies(plan, std::move(part_replies));
  ASSERT_EQ(merged.size(), 3u);
  ASSERT_EQ(merged[0].elements.size(), 2u);
  EXPECT_EQ(merged[0].elements[1].str, "v-bar");
  EXPECT_EQ(merged[1].str, "v-x");
  ASSERT_EQ(merged[2].elements.size(), 3u);
  EXPECT_EQ(merged[2].elements[0].str, "v-bar-y");
  EXPECT_EQ(merged[2].elements[2].str, "v-foo-z");
}

TEST(ClusterSlotTest, AnErrorInOnePartStandsForTheWholeMget) {
  const std::vector<Command> commands = {{{"MGET", "foo", "bar"}}};
  BatchPlan plan = PlanBatch(commands);
  ASSERT_EQ(plan.parts.size(), 2u);
  std::vector<Reply> part_replies = {Reply::Array({Reply::Nil()}),
                                     Reply::Error("CLUSTERDOWN The cluster is down")};
  std::vector<Reply> merged = MergeReplies(plan, std::move(part_replies));
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_TRUE(merged[0].is_error());
}

TEST(ClusterSlotTest, KeylessCommandsFollowTheFirstKeyedCommand) {
  const std::vector<Command> commands = {{{"SCRIPT", "LOAD", "return 1"}},
                                         {{"EVALSHA", "sha", "2", "{a}1", "{a}2"}},
                                         {{"WAIT", "1", "100"}},
                                         {{"GET", "other"}}};
  BatchPlan plan = PlanBatch(commands);
  ASSERT_EQ(plan.parts.size(), 4u);
  EXPECT_EQ(PartBytes(plan, plan.parts[1]), CommandBytes(commands[1]));  // whole, as given
  ASSERT_TRUE(plan.anchor.has_value());
  EXPECT_EQ(*plan.anchor, 1u);
  EXPECT_EQ(plan.parts[0].slot, -1);
  EXPECT_EQ(plan.parts[1].slot, KeySlot("a"));
  EXPECT_EQ(plan.parts[2].slot, -1);
  EXPECT_EQ(plan.parts[3].slot, KeySlot("other"));
}

TEST(ClusterSlotTest, ParsesRedirects) {
  const HostPort replier{"10.0.0.1", 7000};
  auto moved = ParseRedirect("MOVED 3999 127.0.0.1:6381", replier);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->kind, Redirect::Kind::kMoved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->target, (HostPort{"127.0.0.1", 6381}));
  auto ask = ParseRedirect("ASK 12 :7002", replier);
  ASSERT_TRUE(ask.has_value());
  EXPECT_EQ(ask->kind, Redirect::Kind::kAsk);
  EXPECT_EQ(ask->target, (HostPort{"10.0.0.1", 7002}));  // empty host: the replier's
  EXPECT_FALSE(ParseRedirect("MOVED 16384 127.0.0.1:1", replier).has_value());
  EXPECT_FALSE(ParseRedirect("MOVED 1 127.0.0.1", replier).has_value());
  EXPECT_FALSE(ParseRedirect("TRYAGAIN Multiple keys", replier).has_value());
}

Reply Node(const std::string& host, int port) {
  return Reply::Array({Reply::String(host), Reply::Integer(port), Reply::String("id")});
}

TEST(ClusterSlotTest, ParsesClusterSlots) {
  const HostPort asked{"127.0.0.1", 7000};
  Reply reply = Reply::Array({
      Reply::Array({Reply::Integer(0), Reply::Integer(5460), Node("127.0.0.1", 7000),
                    Node("127.0.0.1", 7003)}),
      Reply::Array({Reply::Integer(5461), Reply::Integer(10922), Node("", 7001)}),
      Reply::Array({Reply::Integer(10923), Reply::Integer(16000), Node("?", 7002)}),
  });
  auto map = SlotMap::FromClusterSlots(reply, asked);
  ASSERT_TRUE(map.ok()) << map.status();
  ASSERT_EQ(map->primaries().size(), 3u);
  EXPECT_EQ(map->primaries().at(map->OwnerIndex(0)), (HostPort{"127.0.0.1", 7000}));
  EXPECT_EQ(map->primaries().at(map->OwnerIndex(5461)), (HostPort{"127.0.0.1", 7001}));
  EXPECT_EQ(map->primaries().at(map->OwnerIndex(16000)), (HostPort{"127.0.0.1", 7002}));
  EXPECT_EQ(map->OwnerIndex(16001), -1);
  EXPECT_EQ(map->OwnerIndex(-1), -1);

  EXPECT_FALSE(SlotMap::FromClusterSlots(Reply::Array({}), asked).ok());
  EXPECT_FALSE(SlotMap::FromClusterSlots(Reply::Error("ERR cluster support disabled"), asked).ok());
}

TEST(ClusterSlotTest, OneSlotWhenEveryKeySharesIt) {
  EXPECT_EQ(OneSlot({{{"GET", "foo"}}}), KeySlot("foo"));
  // A link script and its WAIT: the keys share a tag; WAIT has no key.
  EXPECT_EQ(OneSlot({{{"EVALSHA", "sha", "2", "sf:{t}scene", "sf:{t}"}}, {{"WAIT", "1", "100"}}}),
            KeySlot("t"));
  EXPECT_EQ(OneSlot({{{"MGET", "foo", "{foo}x"}}}), KeySlot("foo"));
  ASSERT_NE(KeySlot("foo"), KeySlot("bar"));
  EXPECT_EQ(OneSlot({{{"MGET", "foo", "bar"}}}), -1);
  EXPECT_EQ(OneSlot({{{"GET", "foo"}}, {{"get", "bar"}}}), -1);
  EXPECT_EQ(OneSlot({{{"WAIT", "1", "100"}}}), -1);
}

}  // namespace
}  // namespace sfroute::internal
