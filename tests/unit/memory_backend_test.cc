// The in-memory backend against what Redis 7.0 answers (replies and error
// texts checked against redis-server 7.0.15), including the real scripts.
#include "memory/memory_backend.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "memory/glob.h"
#include "memory/sha1.h"
#include "scripts.h"
#include "sfroute/clock.h"
#include "status_matchers.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A reply as redis-cli would show it, so that expectations read like a
// session with a server.
std::string Describe(const Reply& reply) {
  switch (reply.type) {
    case Reply::Type::kNil:
      return "(nil)";
    case Reply::Type::kInteger:
      return StrCat("(integer) ", reply.integer);
    case Reply::Type::kString:
      return StrCat("\"", reply.str, "\"");
    case Reply::Type::kStatus:
      return reply.str;
    case Reply::Type::kError:
      return StrCat("(error) ", reply.str);
    case Reply::Type::kArray: {
      std::string out = "[";
      for (const Reply& element : reply.elements) {
        if (out.size() > 1) out += ", ";
        out += Describe(element);
      }
      return out + "]";
    }
  }
  return "?";
}

class MemoryBackendTest : public ::testing::Test {
 protected:
  // Runs one command and describes its reply.
  std::string Run(std::vector<std::string> args) {
    auto replies = backend_.Execute({Command{std::move(args)}});
    if (replies.size() != 1) return "<no reply>";
    return Describe(replies.front());
  }

  // An embedded script by its SHA, loaded first as the executor does after
  // NOSCRIPT.
  Reply Script(const char* name, const std::vector<std::string>& keys,
               const std::vector<std::string>& args) {
    Command call{{"EVALSHA", GetScript(name).sha1, std::to_string(keys.size())}};
    call.args.insert(call.args.end(), keys.begin(), keys.end());
    call.args.insert(call.args.end(), args.begin(), args.end());
    Reply reply = backend_.Execute({call}).front();
    if (!IsNoScript(reply)) return reply;
    return backend_.Execute({WithSource(call)}).front();
  }

  std::string RunScript(const char* name, const std::vector<std::string>& keys,
                        const std::vector<std::string>& args) {
    return Describe(Script(name, keys, args));
  }

  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  MemoryBackend backend_{clock_};
};

TEST_F(MemoryBackendTest, Strings) {
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"SET", "k", "v"}), "OK");
  EXPECT_EQ(Run({"get", "k"}), "\"v\"");
  EXPECT_EQ(Run({"TYPE", "k"}), "string");
  EXPECT_EQ(Run({"TYPE", "nokey"}), "none");
  EXPECT_EQ(Run({"EXISTS", "k", "k", "nokey"}), "(integer) 2");
  EXPECT_EQ(Run({"MGET", "k", "nokey"}), "[\"v\", (nil)]");
  EXPECT_EQ(Run({"DEL", "k", "k", "nokey"}), "(integer) 1");
  EXPECT_EQ(Run({"EXISTS", "k"}), "(integer) 0");
  EXPECT_EQ(Run({"SET", "bin", std::string("a\0b", 3)}), "OK");
  EXPECT_EQ(Run({"GET", "bin"}), StrCat("\"", std::string("a\0b", 3), "\""));
}

TEST_F(MemoryBackendTest, SetOptions) {
  EXPECT_EQ(Run({"SET", "k", "1", "NX"}), "OK");
  EXPECT_EQ(Run({"SET", "k", "2", "NX"}), "(nil)");
  EXPECT_EQ(Run({"SET", "other", "2", "XX"}), "(nil)");
  EXPECT_EQ(Run({"SET", "k", "3", "XX", "GET"}), "\"1\"");
  EXPECT_EQ(Run({"SET", "k", "4", "EX", "10"}), "OK");
  EXPECT_EQ(Run({"SET", "k", "5", "KEEPTTL"}), "OK");
  EXPECT_EQ(Run({"TTL", "k"}), "(integer) 10");
  EXPECT_EQ(Run({"SET", "k", "6", "PX", "1500"}), "OK");
  EXPECT_EQ(Run({"PTTL", "k"}), "(integer) 1500");
  EXPECT_EQ(Run({"SET", "k", "7", "EXAT", "100"}), "OK");
  EXPECT_EQ(Run({"PTTL", "k"}), "(integer) 100000");

  EXPECT_EQ(Run({"SET", "k", "v", "EX", "0"}), "(error) ERR invalid expire time in 'set' command");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "-1"}), "(error) ERR invalid expire time in 'set' command");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "abc"}),
            "(error) ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "abc", "foo"}), "(error) ERR syntax error");
  EXPECT_EQ(Run({"SET", "k", "v", "EX"}), "(error) ERR syntax error");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "10", "PX", "10"}), "(error) ERR syntax error");
  EXPECT_EQ(Run({"SET", "k", "v", "KEEPTTL", "EX", "5"}), "(error) ERR syntax error");
  EXPECT_EQ(Run({"SET", "k", "v", "NX", "XX"}), "(error) ERR syntax error");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "9223372036854775807"}),
            "(error) ERR invalid expire time in 'set' command");
}

TEST_F(MemoryBackendTest, KeysExpireOnTheClock) {
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "10"}), "OK");
  EXPECT_EQ(Run({"TTL", "k"}), "(integer) 10");
  clock_->Advance(milliseconds(9400));
  EXPECT_EQ(Run({"TTL", "k"}), "(integer) 1");  // rounded, as Redis does
  EXPECT_EQ(Run({"PTTL", "k"}), "(integer) 600");
  EXPECT_EQ(Run({"GET", "k"}), "\"v\"");
  clock_->Advance(milliseconds(600));  // the deadline itself: gone
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"EXISTS", "k"}), "(integer) 0");
  EXPECT_EQ(Run({"TTL", "k"}), "(integer) -2");
  EXPECT_EQ(Run({"PTTL", "k"}), "(integer) -2");
}

TEST_F(MemoryBackendTest, PlainSetClearsTheTtl) {
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "10"}), "OK");
  EXPECT_EQ(Run({"SET", "k", "w"}), "OK");
  EXPECT_EQ(Run({"TTL", "k"}), "(integer) -1");
  clock_->Advance(seconds(20));
  EXPECT_EQ(Run({"GET", "k"}), "\"w\"");
}

TEST_F(MemoryBackendTest, ExpireAndPersist) {
  EXPECT_EQ(Run({"EXPIRE", "nokey", "10"}), "(integer) 0");
  EXPECT_EQ(Run({"SET", "k", "v"}), "OK");
  EXPECT_EQ(Run({"PERSIST", "k"}), "(integer) 0");
  EXPECT_EQ(Run({"EXPIRE", "k", "10"}), "(integer) 1");
  EXPECT_EQ(Run({"PERSIST", "k"}), "(integer) 1");
  EXPECT_EQ(Run({"TTL", "k"}), "(integer) -1");

  // A deadline that is not in the future deletes the key, as in Redis.
  EXPECT_EQ(Run({"EXPIRE", "k", "0"}), "(integer) 1");
  EXPECT_EQ(Run({"EXISTS", "k"}), "(integer) 0");
  EXPECT_EQ(Run({"SET", "k", "v"}), "OK");
  EXPECT_EQ(Run({"EXPIRE", "k", "-5"}), "(integer) 1");
  EXPECT_EQ(Run({"EXISTS", "k"}), "(integer) 0");

  EXPECT_EQ(Run({"SET", "k", "v"}), "OK");
  EXPECT_EQ(Run({"PEXPIRE", "k", "1500"}), "(integer) 1");
  EXPECT_EQ(Run({"PTTL", "k"}), "(integer) 1500");
  EXPECT_EQ(Run({"TTL", "k"}), "(integer) 2");

  EXPECT_EQ(Run({"EXPIRE", "k", "abc"}), "(error) ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "foo"}), "(error) ERR Unsupported option foo");
  EXPECT_EQ(Run({"EXPIRE", "k", "9223372036854775807"}),
            "(error) ERR invalid expire time in 'expire' command");
}

TEST_F(MemoryBackendTest, ExpireOptions) {
  EXPECT_EQ(Run({"SET", "k", "v"}), "OK");
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "XX"}), "(integer) 0");
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "GT"}), "(integer) 0");  // no TTL counts as forever
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "NX"}), "(integer) 1");
  EXPECT_EQ(Run({"EXPIRE", "k", "20", "NX"}), "(integer) 0");
  EXPECT_EQ(Run({"EXPIRE", "k", "5", "GT"}), "(integer) 0");
  EXPECT_EQ(Run({"EXPIRE", "k", "20", "gt"}), "(integer) 1");
  EXPECT_EQ(Run({"EXPIRE", "k", "30", "LT"}), "(integer) 0");
  EXPECT_EQ(Run({"EXPIRE", "k", "15", "LT"}), "(integer) 1");
  EXPECT_EQ(Run({"TTL", "k"}), "(integer) 15");
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "NX", "XX"}),
            "(error) ERR NX and XX, GT or LT options at the same time are not compatible");
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "GT", "LT"}),
            "(error) ERR GT and LT options at the same time are not compatible");
}

TEST_F(MemoryBackendTest, Hashes) {
  EXPECT_EQ(Run({"HSET", "h", "f1", "v1", "f2", "v2", "f3", "v3"}), "(integer) 3");
  EXPECT_EQ(Run({"HSET", "h", "f1", "x", "f4", "v4"}), "(integer) 1");
  EXPECT_EQ(Run({"HGET", "h", "f1"}), "\"x\"");
  EXPECT_EQ(Run({"HGET", "h", "nofield"}), "(nil)");
  EXPECT_EQ(Run({"HGET", "nokey", "f1"}), "(nil)");
  EXPECT_EQ(Run({"HLEN", "h"}), "(integer) 4");
  EXPECT_EQ(Run({"TYPE", "h"}), "hash");
  EXPECT_EQ(Run({"HDEL", "h", "f2", "nofield"}), "(integer) 1");
  EXPECT_EQ(Run({"HSET", "h", "f2", "y"}), "(integer) 1");
  // Small hashes keep insertion order, as Redis's listpack does.
  EXPECT_EQ(Run({"HGETALL", "h"}),
            "[\"f1\", \"x\", \"f3\", \"v3\", \"f4\", \"v4\", \"f2\", \"y\"]");
  EXPECT_EQ(Run({"HGETALL", "nokey"}), "[]");
  EXPECT_EQ(Run({"HLEN", "nokey"}), "(integer) 0");
  EXPECT_EQ(Run({"HDEL", "nokey", "f"}), "(integer) 0");
}

TEST_F(MemoryBackendTest, DeletingTheLastFieldRemovesTheHash) {
  EXPECT_EQ(Run({"HSET", "h", "a", "1", "b", "2"}), "(integer) 2");
  EXPECT_EQ(Run({"EXPIRE", "h", "100"}), "(integer) 1");
  EXPECT_EQ(Run({"HDEL", "h", "a", "b", "c"}), "(integer) 2");
  EXPECT_EQ(Run({"EXISTS", "h"}), "(integer) 0");
  EXPECT_EQ(Run({"TYPE", "h"}), "none");
  EXPECT_EQ(Run({"HSET", "h", "a", "1"}), "(integer) 1");
  EXPECT_EQ(Run({"TTL", "h"}), "(integer) -1");  // a new key, no old deadline
}

TEST_F(MemoryBackendTest, BigHashes) {
  const std::string long_value(100, 'x');
  EXPECT_EQ(Run({"HSET", "h", "a", "1", "b", long_value}), "(integer) 2");
  for (int i = 0; i < 300; ++i) Run({"HSET", "h", StrCat("f", i), StrCat(i)});
  EXPECT_EQ(Run({"HLEN", "h"}), "(integer) 302");
  EXPECT_EQ(Run({"HGET", "h", "b"}), StrCat("\"", long_value, "\""));
  EXPECT_EQ(Run({"HGET", "h", "f299"}), "\"299\"");
  EXPECT_EQ(Run({"HSET", "h", "f299", "new"}), "(integer) 0");
  EXPECT_EQ(Run({"HDEL", "h", "f0", "f1"}), "(integer) 2");
  EXPECT_EQ(Run({"HLEN", "h"}), "(integer) 300");
}

TEST_F(MemoryBackendTest, WrongType) {
  const std::string kWrongType =
      "(error) WRONGTYPE Operation against a key holding the wrong kind of value";
  EXPECT_EQ(Run({"SET", "s", "v"}), "OK");
  EXPECT_EQ(Run({"HSET", "h", "f", "v"}), "(integer) 1");
  EXPECT_EQ(Run({"GET", "h"}), kWrongType);
  EXPECT_EQ(Run({"SET", "h", "v", "GET"}), kWrongType);
  EXPECT_EQ(Run({"HGET", "s", "f"}), kWrongType);
  EXPECT_EQ(Run({"HSET", "s", "f", "v"}), kWrongType);
  EXPECT_EQ(Run({"HDEL", "s", "f"}), kWrongType);
  EXPECT_EQ(Run({"HGETALL", "s"}), kWrongType);
  EXPECT_EQ(Run({"HLEN", "s"}), kWrongType);
  EXPECT_EQ(Run({"MGET", "s", "h"}), "[\"v\", (nil)]");  // MGET reads other types as nil
  EXPECT_EQ(Run({"SET", "h", "v"}), "OK");               // SET overwrites any type
  EXPECT_EQ(Run({"TYPE", "h"}), "string");
}

TEST_F(MemoryBackendTest, ArityAndUnknownCommands) {
  EXPECT_EQ(Run({"GET"}), "(error) ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(Run({"get", "a", "b"}), "(error) ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(Run({"HSET", "h", "a"}), "(error) ERR wrong number of arguments for 'hset' command");
  EXPECT_EQ(Run({"HSET", "h", "a", "1", "b"}),
            "(error) ERR wrong number of arguments for 'hset' command");
  EXPECT_EQ(Run({"PING", "a", "b"}), "(error) ERR wrong number of arguments for 'ping' command");
  EXPECT_EQ(Run({"foo", "a", "b"}),
            "(error) ERR unknown command 'foo', with args beginning with: 'a' 'b' ");
  EXPECT_EQ(Run({"foo"}), "(error) ERR unknown command 'foo', with args beginning with: ");
  EXPECT_EQ(Run({"SCRIPT"}), "(error) ERR wrong number of arguments for 'script' command");
  EXPECT_EQ(Run({"SCRIPT", "foo"}), "(error) ERR unknown subcommand 'foo'. Try SCRIPT HELP.");
  EXPECT_EQ(Run({"SCRIPT", "LOAD"}),
            "(error) ERR wrong number of arguments for 'script|load' command");
  EXPECT_EQ(Run({"FLUSHALL", "foo"}), "(error) ERR syntax error");
}

TEST_F(MemoryBackendTest, PingKeysDbsizeFlushall) {
  EXPECT_EQ(Run({"PING"}), "PONG");
  EXPECT_EQ(Run({"PING", "hi"}), "\"hi\"");
  for (const char* key : {"k[1]", "k?", "k*z", "kab", "other"}) Run({"SET", key, "v"});
  EXPECT_EQ(Run({"KEYS", "k\\[*"}), "[\"k[1]\"]");
  EXPECT_EQ(Run({"KEYS", "k\\?"}), "[\"k?\"]");
  EXPECT_EQ(Run({"KEYS", "o*"}), "[\"other\"]");
  EXPECT_EQ(Run({"DBSIZE"}), "(integer) 5");
  EXPECT_EQ(Run({"FLUSHALL"}), "OK");
  EXPECT_EQ(Run({"DBSIZE"}), "(integer) 0");
  EXPECT_EQ(Run({"KEYS", "*"}), "[]");
}

TEST_F(MemoryBackendTest, ExpiredKeysAreDroppedWithoutBeingRead) {
  for (int i = 0; i < 1000; ++i) Run({"SET", StrCat("t", i), "v", "EX", StrCat(1 + i % 10)});
  // Many refreshes of one key leave stale deadlines behind.
  for (int i = 0; i < 5000; ++i) Run({"SET", "refreshed", "v", "EX", "100"});
  Run({"SET", "persistent", "v"});
  EXPECT_EQ(Run({"DBSIZE"}), "(integer) 1002");
  clock_->Advance(seconds(5));
  EXPECT_EQ(Run({"DBSIZE"}), "(integer) 502");
  clock_->Advance(seconds(5));
  EXPECT_EQ(Run({"DBSIZE"}), "(integer) 2");
  EXPECT_EQ(Run({"KEYS", "*"}).size(), std::string("[\"refreshed\", \"persistent\"]").size());
  clock_->Advance(seconds(100));
  EXPECT_EQ(Run({"KEYS", "*"}), "[\"persistent\"]");
}

TEST_F(MemoryBackendTest, ScriptCache) {
  const std::string script = "return 1";
  const std::string sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";  // as Redis names it
  EXPECT_EQ(Run({"EVALSHA", sha, "0"}), "(error) NOSCRIPT No matching script. Please use EVAL.");
  EXPECT_EQ(Run({"EVALSHA", "abc", "x"}), "(error) NOSCRIPT No matching script. Please use EVAL.");
  EXPECT_EQ(Run({"SCRIPT", "EXISTS", sha}), "[(integer) 0]");
  EXPECT_EQ(Run({"SCRIPT", "LOAD", script}), StrCat("\"", sha, "\""));
  EXPECT_EQ(Run({"EVALSHA", sha, "0"}), "(integer) 1");
  EXPECT_EQ(Run({"EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"}), "(integer) 1");
  EXPECT_EQ(Run({"SCRIPT", "EXISTS", sha, "abc"}), "[(integer) 1, (integer) 0]");
  EXPECT_EQ(Run({"SCRIPT", "FLUSH"}), "OK");
  EXPECT_EQ(Run({"EVALSHA", sha, "0"}), "(error) NOSCRIPT No matching script. Please use EVAL.");
  // EVAL caches the script too.
  EXPECT_EQ(Run({"EVAL", script, "0"}), "(integer) 1");
  EXPECT_EQ(Run({"EVALSHA", sha, "0"}), "(integer) 1");
  EXPECT_EQ(Run({"SCRIPT", "FLUSH", "bad"}),
            "(error) ERR SCRIPT FLUSH only support SYNC|ASYNC option");
}

TEST_F(MemoryBackendTest, EvalArguments) {
  EXPECT_EQ(Run({"EVAL", "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", "2", "k1", "k2", "a1"}),
            "[\"k1\", \"k2\", \"a1\", (integer) 1]");
  EXPECT_EQ(Run({"EVAL", "return 1", "x"}), "(error) ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"EVAL", "return 1", "-1"}), "(error) ERR Number of keys can't be negative");
  EXPECT_EQ(Run({"EVAL", "return 1", "2", "a"}),
            "(error) ERR Number of keys can't be greater than number of args");
}

TEST_F(MemoryBackendTest, LuaToRedisConversion) {
  EXPECT_EQ(Run({"EVAL", "return {1, 2.9, 'a', true, false, nil, 3}", "0"}),
            "[(integer) 1, (integer) 2, \"a\", (integer) 1, (nil)]");
  EXPECT_EQ(Run({"EVAL", "return -2.9", "0"}), "(integer) -2");
  EXPECT_EQ(Run({"EVAL", "return 1/0", "0"}), "(integer) -9223372036854775808");
  EXPECT_EQ(Run({"EVAL", "return nil", "0"}), "(nil)");
  EXPECT_EQ(Run({"EVAL", "return true", "0"}), "(integer) 1");
  EXPECT_EQ(Run({"EVAL", "return false", "0"}), "(nil)");
  EXPECT_EQ(Run({"EVAL", "return {1, {2, 'a'}, {err='e'}, {ok='fine'}}", "0"}),
            "[(integer) 1, [(integer) 2, \"a\"], (error) e, fine]");
  EXPECT_EQ(Run({"EVAL", "return {ok=5}", "0"}), "[]");
  EXPECT_EQ(Run({"EVAL", "return {err='x y'}", "0"}), "(error) x y");
  EXPECT_EQ(Run({"EVAL", "return {err='foo\\nbar'}", "0"}), "(error) foo bar");
  EXPECT_EQ(Run({"EVAL", "return redis.status_reply('fine')", "0"}), "fine");
  EXPECT_EQ(Run({"EVAL", "return redis.error_reply('foo bar')", "0"}), "(error) foo bar");
  EXPECT_EQ(Run({"EVAL", "return redis.error_reply('foo')", "0"}), "(error) ERR foo");
  EXPECT_EQ(Run({"EVAL", "return redis.error_reply(5)", "0"}),
            "(error) ERR wrong number or type of arguments");
  EXPECT_EQ(Run({"EVAL", "return redis.sha1hex('return 1')", "0"}),
            "\"e0e1f9fabfc9d4800c877a703b823ac0578ff8db\"");
}

TEST_F(MemoryBackendTest, RedisToLuaConversion) {
  Run({"SET", "s", "v"});
  Run({"HSET", "h", "f", "v"});
  EXPECT_EQ(Run({"EVAL", "return type(redis.call('GET', 'nokey'))", "0"}), "\"boolean\"");
  EXPECT_EQ(Run({"EVAL", "return redis.call('SET', 'a', 'b')['ok']", "0"}), "\"OK\"");
  EXPECT_EQ(Run({"EVAL", "return redis.call('HGETALL', 'h')", "0"}), "[\"f\", \"v\"]");
  EXPECT_EQ(Run({"EVAL", "return redis.call('TTL', 's') + 1", "0"}), "(integer) 0");
  EXPECT_EQ(Run({"EVAL", "return redis.pcall('HGET', 's', 'f')['err']", "0"}),
            "\"WRONGTYPE Operation against a key holding the wrong kind of value\"");
  // Numbers are passed as Redis writes them.
  EXPECT_EQ(Run({"EVAL",
                 "redis.call('SET', 'n', 3.0) redis.call('SET', 'm', 0.1) "
                 "return {redis.call('GET', 'n'), redis.call('GET', 'm')}",
                 "0"}),
            "[\"3\", \"0.10000000000000001\"]");
}

TEST_F(MemoryBackendTest, ScriptErrors) {
  Run({"SET", "s", "v"});
  auto error_of = [](const std::string& script, const std::string& message) {
    return StrCat("(error) ", message, " script: ", Sha1Hex(script), ", on @user_script:1.");
  };
  const std::string wrongtype = "return redis.call('HGET', KEYS[1], 'f')";
  EXPECT_EQ(
      Run({"EVAL", wrongtype, "1", "s"}),
      error_of(wrongtype, "WRONGTYPE Operation against a key holding the wrong kind of value"));
  const std::string global = "return foo";
  EXPECT_EQ(Run({"EVAL", global, "0"}),
            error_of(global,
                     "ERR user_script:1: Script attempted to access nonexistent global "
                     "variable 'foo'"));
  const std::string assign = "x = 1";
  EXPECT_EQ(Run({"EVAL", assign, "0"}),
            error_of(assign, "ERR user_script:1: Attempt to modify a readonly table"));
  const std::string boom = "error('boom')";
  EXPECT_EQ(Run({"EVAL", boom, "0"}), error_of(boom, "ERR user_script:1: boom"));
  const std::string raised = "error({err='MYERR boom'})";
  EXPECT_EQ(Run({"EVAL", raised, "0"}), error_of(raised, "MYERR boom"));
  const std::string arity = "return redis.call('get')";
  EXPECT_EQ(Run({"EVAL", arity, "0"}),
            error_of(arity, "ERR Wrong number of args calling Redis command from script"));
  const std::string unknown = "return redis.call('nope', 1)";
  EXPECT_EQ(Run({"EVAL", unknown, "0"}),
            error_of(unknown, "ERR Unknown Redis command called from script"));
  const std::string nested = "return redis.call('eval', 'return 1', 0)";
  EXPECT_EQ(Run({"EVAL", nested, "0"}),
            error_of(nested, "ERR This Redis command is not allowed from script"));
  const std::string bad_arg = "return redis.call('get', {})";
  EXPECT_EQ(Run({"EVAL", bad_arg, "0"}),
            error_of(bad_arg, "ERR Lua redis lib command arguments must be strings or integers"));
  EXPECT_EQ(Run({"EVAL", "return 1 +", "0"}),
            "(error) ERR Error compiling script (new function): user_script:1: unexpected symbol "
            "near '<eof>'");
  EXPECT_EQ(Run({"EVAL", "error({})", "0"}).substr(0, 12), "(error) ERR ");
  const std::string second_line = "local a = 1\nreturn a + nil";
  EXPECT_EQ(Run({"EVAL", second_line, "0"}),
            StrCat("(error) ERR user_script:2: attempt to perform arithmetic on a nil value "
                   "script: ",
                   Sha1Hex(second_line), ", on @user_script:2."));
  // A table that contains itself is no reply, but no crash either.
  EXPECT_NE(Run({"EVAL", "local t = {} t[1] = t return t", "0"}).find("reached lua stack limit"),
            std::string::npos);
  // The engine is still fine.
  EXPECT_EQ(Run({"EVAL", "return redis.call('GET', 's')", "0"}), "\"v\"");
}

TEST_F(MemoryBackendTest, ScriptsSeeFrozenTimeAndShareTheKeyspace) {
  EXPECT_EQ(
      Run({"EVAL", "redis.call('SET', KEYS[1], 'v', 'EX', 10) return redis.call('TTL', KEYS[1])",
           "1", "k"}),
      "(integer) 10");
  EXPECT_EQ(Run({"GET", "k"}), "\"v\"");
  clock_->Advance(seconds(10));
  EXPECT_EQ(Run({"EVAL", "return redis.call('EXISTS', KEYS[1])", "1", "k"}), "(integer) 0");
}

TEST_F(MemoryBackendTest, PipelineGetsOneReplyPerCommand) {
  auto replies = backend_.Execute({{{"SET", "a", "1"}}, {{"HGET", "a", "f"}}, {{"GET", "a"}}});
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(Describe(replies[0]), "OK");
  EXPECT_TRUE(replies[1].is_error());
  EXPECT_EQ(Describe(replies[2]), "\"1\"");
  EXPECT_TRUE(backend_.Execute({}).empty());
}

// The real scripts, with the replies Redis gives for them.
constexpr char kLink[] = "sf:{ns:lk:u}svc";
constexpr char kLinks[] = "sf:{ns:lk:u}";

TEST_F(MemoryBackendTest, SetLinkScript) {
  // The first call meets NOSCRIPT, loads the script and runs it.
  EXPECT_EQ(RunScript("set_link", {kLink, kLinks}, {"svc", "7", "-1", "set"}),
            "[(integer) 1, (integer) -1]");
  EXPECT_EQ(Run({"GET", kLink}), "\"7\"");
  EXPECT_EQ(Run({"TTL", kLink}), "(integer) -1");
  EXPECT_EQ(Run({"HGETALL", kLinks}), "[\"svc\", \"7\"]");

  // try: a different pod holds a persistent link.
  EXPECT_EQ(RunScript("set_link", {kLink, kLinks}, {"svc", "8", "-1", "try"}),
            "[(integer) 0, \"7\"]");
  EXPECT_EQ(Run({"GET", kLink}), "\"7\"");
  // try with the same pod applies, and can make the link temporary.
  EXPECT_EQ(RunScript("set_link", {kLink, kLinks}, {"svc", "7", "30", "try"}),
            "[(integer) 1, \"7\"]");
  EXPECT_EQ(Run({"TTL", kLink}), "(integer) 30");
  EXPECT_EQ(Run({"EXISTS", kLinks}), "(integer) 0");  // HDEL emptied the hash
  // try against a temporary link applies.
  EXPECT_EQ(RunScript("set_link", {kLink, kLinks}, {"svc", "8", "-1", "try"}),
            "[(integer) 1, \"7\"]");
  EXPECT_EQ(Run({"TTL", kLink}), "(integer) -1");

  // absent: an existing link is left alone, TTL and all.
  EXPECT_EQ(RunScript("set_link", {kLink, kLinks}, {"svc", "0", "20", "set"}),
            "[(integer) 1, \"8\"]");
  clock_->Advance(seconds(5));
  EXPECT_EQ(RunScript("set_link", {kLink, kLinks}, {"svc", "9", "60", "absent"}),
            "[(integer) 0, \"0\"]");
  EXPECT_EQ(Run({"TTL", kLink}), "(integer) 15");
  clock_->Advance(seconds(15));
  EXPECT_EQ(RunScript("set_link", {kLink, kLinks}, {"svc", "9", "60", "absent"}),
            "[(integer) 1, (integer) -1]");

  // "null", as other clients write it, is no link.
  Run({"SET", kLink, "null"});
  EXPECT_EQ(RunScript("set_link", {kLink, kLinks}, {"svc", "3", "-1", "absent"}),
            "[(integer) 1, (integer) -1]");

  EXPECT_EQ(RunScript("set_link", {kLink, kLinks}, {"svc", "3", "-1", "bogus"}),
            "(error) ERR set_link.lua: unknown mode bogus");
}

TEST_F(MemoryBackendTest, SetLinkOnAKeyOfTheWrongType) {
  Run({"HSET", kLink, "f", "v"});
  const std::string reply = RunScript("set_link", {kLink, kLinks}, {"svc", "7", "-1", "set"});
  EXPECT_EQ(reply.substr(0, 17), "(error) WRONGTYPE") << reply;
}

TEST_F(MemoryBackendTest, GetLinkIfPersistScript) {
  EXPECT_EQ(RunScript("get_link_if_persist", {kLink}, {}), "(integer) -1");
  Run({"SET", kLink, "5"});
  EXPECT_EQ(RunScript("get_link_if_persist", {kLink}, {}), "\"5\"");
  Run({"EXPIRE", kLink, "10"});
  EXPECT_EQ(RunScript("get_link_if_persist", {kLink}, {}), "(integer) -1");
  Run({"SET", kLink, "nil"});
  EXPECT_EQ(RunScript("get_link_if_persist", {kLink}, {}), "(integer) -1");
}

TEST_F(MemoryBackendTest, RemoveLinkScript) {
  EXPECT_EQ(RunScript("remove_link", {kLink, kLinks}, {"svc", "0"}), "(integer) 0");
  RunScript("set_link", {kLink, kLinks}, {"svc", "4", "-1", "set"});
  EXPECT_EQ(RunScript("remove_link", {kLink, kLinks}, {"svc", "0", "5"}), "(integer) 0");
  EXPECT_EQ(Run({"GET", kLink}), "\"4\"");

  // keep > 0 leaves a temporary link for the grace period.
  EXPECT_EQ(RunScript("remove_link", {kLink, kLinks}, {"svc", "30", "4"}), "(integer) 1");
  EXPECT_EQ(Run({"TTL", kLink}), "(integer) 30");
  EXPECT_EQ(Run({"EXISTS", kLinks}), "(integer) 0");

  EXPECT_EQ(RunScript("remove_link", {kLink, kLinks}, {"svc", "-1"}), "(integer) 1");
  EXPECT_EQ(Run({"EXISTS", kLink}), "(integer) 0");
}

TEST_F(MemoryBackendTest, ConcurrentSetIfAbsentHasOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 50;
  for (int round = 0; round < kRounds; ++round) {
    const std::string link = StrCat("sf:{ns:lk:u", round, "}svc");
    const std::string links = StrCat("sf:{ns:lk:u", round, "}");
    std::vector<std::string> linked(kThreads);
    std::vector<char> applied(kThreads);  // not vector<bool>: its bits share words
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const std::string pod = StrCat(t);
        const Reply reply = Script("set_link", {link, links}, {"svc", pod, "-1", "absent"});
        ASSERT_EQ(reply.elements.size(), 2u);
        applied[t] = reply.elements[0].integer == 1;
        linked[t] = applied[t] ? pod : reply.elements[1].str;
      });
    }
    for (std::thread& thread : threads) thread.join();
    int winners = 0;
    for (int t = 0; t < kThreads; ++t) {
      winners += applied[t] ? 1 : 0;
      EXPECT_EQ(linked[t], linked[0]) << "round " << round << ", thread " << t;
    }
    EXPECT_EQ(winners, 1) << "round " << round;
    EXPECT_EQ(Run({"GET", link}), StrCat("\"", linked[0], "\""));
  }
}

TEST(Sha1Test, KnownDigests) {
  EXPECT_EQ(Sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(Sha1Hex(std::string(1000000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  // What CMake computed for the embedded scripts, at other lengths.
  for (int i = 0; i < kEmbeddedScriptCount; ++i) {
    EXPECT_EQ(Sha1Hex(kEmbeddedScripts[i].source), kEmbeddedScripts[i].sha1)
        << kEmbeddedScripts[i].name;
  }
}

TEST(GlobTest, RedisPatterns) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("h?llo", "hello"));
  EXPECT_FALSE(GlobMatch("h?llo", "hllo"));
  EXPECT_TRUE(GlobMatch("h*llo", "heeeello"));
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[ae]llo", "hillo"));
  EXPECT_TRUE(GlobMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(GlobMatch("h[b-a]llo", "hallo"));  // reversed ranges work too
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_TRUE(GlobMatch("[\\]]", "]"));
  EXPECT_TRUE(GlobMatch("sf:{ns:lk:*}*", "sf:{ns:lk:u}svc"));
  EXPECT_TRUE(GlobMatch("*a*b*c*", "xxaxxbxxcxx"));
  EXPECT_FALSE(GlobMatch("*a*b*c*", "xxaxxcxxbxx"));
  EXPECT_FALSE(GlobMatch("a*", "b"));
  EXPECT_TRUE(GlobMatch("a**", "a"));
  EXPECT_FALSE(GlobMatch("", "a"));
  std::string stars(30, '*');  // not `std::string(30, '*') + "b"`: GCC 12 warns falsely on it
  stars += 'b';
  EXPECT_FALSE(GlobMatch(stars, std::string(100, 'a')));
}

}  // namespace
}  // namespace sfroute::internal
