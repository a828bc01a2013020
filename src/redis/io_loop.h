// One thread that waits on many sockets at once (epoll) and hands each ready
// socket to its handler. Thread-safe.
#ifndef SFROUTE_SRC_REDIS_IO_LOOP_H_
#define SFROUTE_SRC_REDIS_IO_LOOP_H_

#include <cstdint>
#include <memory>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "redis/connection.h"

namespace sfroute::internal {

class IoLoop {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Runs on the loop's thread when the socket is readable, writable (if
    // asked for), or closed. Returns false when the handler is done with the
    // socket: the loop stops watching it and lets go of the handler.
    virtual bool OnReady(std::uint32_t epoll_events) = 0;
  };

  static absl::StatusOr<std::shared_ptr<IoLoop>> Start();
  ~IoLoop();  // stops the thread, then lets go of every handler
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  // Watches `fd` for reading until the handler returns false. The loop keeps
  // the handler alive as long as it watches; `fd` must stay open as long.
  absl::Status Watch(int fd, std::shared_ptr<Handler> handler);

  // Also reports `fd` writable (true), or no longer (false). For a writer
  // whose send would block; only the current writer of `fd` may call it.
  // False when epoll refuses (the socket cannot be waited for).
  bool WatchWritable(int fd, Handler* handler, bool writable);

 private:
  IoLoop(UniqueFd epoll, UniqueFd wakeup);
  void Run();
  void Forget(Handler* handler);

  struct Watched {
    int fd;
    std::shared_ptr<Handler> handler;
  };

  const UniqueFd epoll_;
  const UniqueFd wakeup_;  // an eventfd: written to stop the thread
  std::thread thread_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::unordered_map<Handler*, Watched> handlers_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_IO_LOOP_H_
