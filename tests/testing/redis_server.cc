#include "redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace sfroute::testing {
namespace {

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "test harness: %s\n", why.c_str());
  std::abort();
}

bool Answers(int port) {
  timeval tv{0, 200 * 1000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  bool ok = false;
  if (c != nullptr && c->err == 0) {
    redisSetTimeout(c, tv);
    auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
    // A server that wants a password answers NOAUTH: it is up all the same.
    ok = reply != nullptr &&
         (reply->type == REDIS_REPLY_STATUS ||
          (reply->type == REDIS_REPLY_ERROR && std::string(reply->str).rfind("NOAUTH", 0) == 0));
    if (reply != nullptr) freeReplyObject(reply);
  }
  if (c != nullptr) redisFree(c);
  return ok;
}

}  // namespace

int FreeLoopbackPort() {
  // Ports below the kernel's ephemeral range (32768 on), so that no client
  // socket of a test running beside this one takes the port between this
  // choice and the server's bind (CI failed on that once). A port is also
  // reserved with a lock held until this process ends, so that two test
  // processes, or two servers of one, never choose the same one.
  constexpr int kFirst = 20000, kCount = 12000;
  static std::mutex mutex;
  static unsigned next =
      static_cast<unsigned>(getpid()) * 7919u +
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::lock_guard<std::mutex> lock(mutex);
  std::filesystem::create_directories("/tmp/sfroute-test-ports");
  for (int tries = 0; tries < kCount; ++tries) {
    const int port = kFirst + static_cast<int>(next++ % kCount);
    const std::string lock_path = "/tmp/sfroute-test-ports/" + std::to_string(port);
    const int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lock_fd < 0) Die("cannot open " + lock_path);
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      close(lock_fd);  // another test process has it
      continue;
    }
    // Nobody may listen there now either (a server started by a script).
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (fd >= 0) close(fd);
    if (free) return port;  // lock_fd stays open: the reservation lasts as long as this process
    close(lock_fd);
  }
  Die("cannot find a free loopback port");
}

std::string RedisServer::NewDir() {
  char dir_template[] = "/tmp/sfroute-redis-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) Die("mkdtemp failed");
  return dir_template;
}

std::unique_ptr<RedisServer> RedisServer::Start(std::vector<std::string> extra_args) {
  std::unique_ptr<RedisServer> server(
      new RedisServer(FreeLoopbackPort(), NewDir(), std::move(extra_args)));
  server->Launch();
  return server;
}

std::unique_ptr<RedisServer> RedisServer::StartSentinel(const std::string& config) {
  std::unique_ptr<RedisServer> server(new RedisServer(FreeLoopbackPort(), NewDir(), {}));
  server->sentinel_config_ = server->dir_ + "/sentinel.conf";
  std::FILE* file = std::fopen(server->sentinel_config_.c_str(), "w");
  if (file == nullptr) Die("cannot write " + server->sentinel_config_);
  const std::string text = "port " + std::to_string(server->port_) + "\nbind 127.0.0.1\ndir " +
                           server->dir_ + "\nlogfile " + server->dir_ +
                           "/redis.log\ndaemonize no\n" + config + "\n";
  std::fputs(text.c_str(), file);
  std::fclose(file);
  server->Launch();
  return server;
}

RedisServer::RedisServer(int port, std::string dir, std::vector<std::string> extra_args)
    : port_(port), dir_(std::move(dir)), extra_args_(std::move(extra_args)) {}

RedisServer::~RedisServer() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

namespace {

// Starts redis-server with `args` and returns its pid. Every server is
// forked from one thread that lives as long as the test binary: PDEATHSIG
// fires when the thread that forked a child ends, and a server must die with
// its test binary (a sanitizer that stops it, a crash), not with whichever
// thread of a test started it.
pid_t Spawn(std::vector<std::string> args) {
  struct Spawner {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> args;
    bool requested = false;
    pid_t pid = -1;
  };
  static Spawner* const spawner = [] {
    auto* created = new Spawner;
    std::thread([created] {
      const pid_t parent = getpid();
      std::unique_lock<std::mutex> lock(created->mutex);
      for (;;) {
        created->changed.wait(lock, [created] { return created->requested; });
        // Built before the fork: the child only calls what is safe there.
        std::vector<char*> argv;
        for (auto& arg : created->args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        const pid_t pid = fork();
        if (pid == 0) {
          prctl(PR_SET_PDEATHSIG, SIGKILL);
          if (getppid() != parent) _exit(1);
          // Nor may it hold ctest's output pipe open: it logs to its file.
          const int null = open("/dev/null", O_RDWR);
          if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
          }
          execvp(argv[0], argv.data());
          _exit(127);
        }
        created->pid = pid;
        created->requested = false;
        created->changed.notify_all();
      }
    }).detach();
    return created;
  }();
  static std::mutex one_at_a_time;
  std::lock_guard<std::mutex> turn(one_at_a_time);
  std::unique_lock<std::mutex> lock(spawner->mutex);
  spawner->args = std::move(args);
  spawner->requested = true;
  spawner->changed.notify_all();
  spawner->changed.wait(lock, [] { return !spawner->requested; });
  if (spawner->pid < 0) Die("fork failed");
  return spawner->pid;
}

}  // namespace

void RedisServer::Launch() {
  std::vector<std::string> args;
  if (!sentinel_config_.empty()) {
    // A sentinel takes its port, dir and log file from its config file.
    args = {"redis-server", sentinel_config_, "--sentinel"};
  } else {
    args = {"redis-server",
            "--port",
            std::to_string(port_),
            "--bind",
            "127.0.0.1",
            "--dir",
            dir_,
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            dir_ + "/redis.log",
            "--daemonize",
            "no"};
  }
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = Spawn(std::move(args));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!Answers(port_)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      Die("redis-server exited at start; see " + dir_ + "/redis.log");
    }
    if (std::chrono::steady_clock::now() > deadline) Die("redis-server did not answer PING");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void RedisServer::Freeze() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void RedisServer::Thaw() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

void RedisServer::Restart() {
  Kill();
  Launch();
}

std::string SharedRedisUrl() {
  if (const char* url = std::getenv("SFROUTE_TEST_REDIS"); url != nullptr && *url != '\0') {
    return url;
  }
  static std::unique_ptr<RedisServer> server = RedisServer::Start();
  return server->url();
}

std::string UniqueNamespace() {
  static std::atomic<int> counter{0};
  std::string name = "t";
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    name += "-";
    name += info->name();
  }
  // A namespace may not contain '{', '}', ':' or bytes outside 0x21-0x7E.
  for (char& c : name) {
    if (c == '{' || c == '}' || c == ':' || c < 0x21 || c > 0x7e) c = '_';
  }
  return name + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

}  // namespace sfroute::testing
