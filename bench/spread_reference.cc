// A reference for one caller on a Redis Cluster (issue 15), where
// redis-benchmark has none: `redis-benchmark --cluster -c 1` sends every
// command to one node, while a caller's uids are spread over all the
// primaries. This is the plainest client that spreads them the same way:
// one thread, blocking hiredis, one connection per primary, each command
// sent to the primary that serves its key's slot and its reply awaited
// before the next. No pipelining, polling or threads: what a round trip to
// a spread cluster costs without any client of ours in the way.
//
//   spread_reference --cluster HOST:PORT --requests N --keyspace K
//                    [--node HOST:PORT] -- COMMAND ARGS...
//
// Every "__uid__" in the arguments becomes one uid, "u<0..K-1>", drawn at
// random for each command (the uids `sfroute bench` uses). --node: only
// the uids whose slot that primary serves (one node, as redis-benchmark
// does). Prints "<commands/s> <p50 ms> <p99 ms>", the fields
// scripts/bench.sh reads from redis-benchmark.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/slot.h"
#include "command.h"

namespace {

using Clock = std::chrono::steady_clock;

struct ContextFree {
  void operator()(redisContext* context) const { redisFree(context); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

[[noreturn]] void Fail(const std::string& why) {
  std::fprintf(stderr, "spread_reference: %s\n", why.c_str());
  std::exit(1);
}

Context Connect(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) Fail("--cluster/--node: expected HOST:PORT, got " + address);
  Context context(
      redisConnect(address.substr(0, colon).c_str(), std::atoi(address.c_str() + colon + 1)));
  if (context == nullptr || context->err) {
    Fail("cannot connect to " + address + (context ? ": " + std::string(context->errstr) : ""));
  }
  return context;
}

redisReply* Run(redisContext* context, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(args.size()), argv.data(), lengths.data()));
}

// The primary ("host:port") that serves each slot, from CLUSTER SLOTS.
std::vector<std::string> PrimaryOfSlot(redisContext* seed) {
  redisReply* slots = Run(seed, {"CLUSTER", "SLOTS"});
  if (slots == nullptr || slots->type != REDIS_REPLY_ARRAY) Fail("CLUSTER SLOTS failed");
  std::vector<std::string> primary(sfroute::internal::kClusterSlots);
  for (size_t i = 0; i < slots->elements; ++i) {
    const redisReply* range = slots->element[i];
    const redisReply* node = range->element[2];
    const std::string address = std::string(node->element[0]->str, node->element[0]->len) + ":" +
                                std::to_string(node->element[1]->integer);
    for (long long slot = range->element[0]->integer; slot <= range->element[1]->integer; ++slot) {
      primary[slot] = address;
    }
  }
  freeReplyObject(slots);
  return primary;
}

std::string WithUid(std::string arg, const std::string& uid) {
  for (auto at = arg.find("__uid__"); at != std::string::npos; at = arg.find("__uid__", at)) {
    arg.replace(at, 7, uid);
    at += uid.size();
  }
  return arg;
}

}  // namespace

int main(int argc, char** argv) {
  std::string seed_address, node;
  long requests = 0, keyspace = 0;
  int i = 1;
  for (; i < argc && std::string_view(argv[i]) != "--"; i += 2) {
    if (i + 1 >= argc) Fail(std::string(argv[i]) + " needs a value");
    const std::string_view flag = argv[i];
    if (flag == "--cluster")
      seed_address = argv[i + 1];
    else if (flag == "--node")
      node = argv[i + 1];
    else if (flag == "--requests")
      requests = std::atol(argv[i + 1]);
    else if (flag == "--keyspace")
      keyspace = std::atol(argv[i + 1]);
    else
      Fail("unknown option " + std::string(flag));
  }
  const std::vector<std::string> pattern(argv + std::min(i + 1, argc), argv + argc);
  if (seed_address.empty() || requests <= 0 || keyspace <= 0 || pattern.empty()) {
    Fail(
        "usage: spread_reference --cluster HOST:PORT --requests N --keyspace K "
        "[--node HOST:PORT] -- COMMAND ARGS...");
  }

  const std::vector<std::string> primary_of_slot = PrimaryOfSlot(Connect(seed_address).get());
  std::map<std::string, Context> primaries;
  // Each uid's command and its primary's connection, made before timing.
  struct Call {
    std::vector<std::string> args;
    redisContext* context;
  };
  std::vector<Call> calls;
  for (long uid = 0; uid < keyspace; ++uid) {
    sfroute::internal::Command command;
    for (const auto& arg : pattern) command.args.push_back(WithUid(arg, "u" + std::to_string(uid)));
    const sfroute::internal::KeyRange keys = sfroute::internal::Keys(command);
    if (keys.count == 0) Fail("the command has no key to route it by");
    const std::string& address =
        primary_of_slot[sfroute::internal::KeySlot(command.args[keys.first])];
    if (!node.empty() && address != node) continue;
    Context& context = primaries[address];
    if (context == nullptr) context = Connect(address);
    calls.push_back({std::move(command.args), context.get()});
  }
  if (calls.empty()) Fail("no uid of the keyspace is served by " + node);

  std::mt19937_64 random(1);
  std::uniform_int_distribution<size_t> pick(0, calls.size() - 1);
  std::vector<double> micros;
  micros.reserve(requests);
  const auto start = Clock::now();
  for (long n = 0; n < requests; ++n) {
    const Call& call = calls[pick(random)];
    const auto sent = Clock::now();
    redisReply* reply = Run(call.context, call.args);
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
    if (reply == nullptr) Fail("connection lost: " + std::string(call.context->errstr));
    if (reply->type == REDIS_REPLY_ERROR) Fail("the server answered " + std::string(reply->str));
    freeReplyObject(reply);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(micros.begin(), micros.end());
  std::printf("%.0f %.3f %.3f\n", requests / seconds, micros[micros.size() / 2] / 1000,
              micros[micros.size() * 99 / 100] / 1000);
}
