#include "redis/io_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "str_cat.h"

namespace sfroute::internal {
namespace {

constexpr std::uint32_t kReadEvents = EPOLLIN | EPOLLRDHUP;

}  // namespace

absl::StatusOr<std::shared_ptr<IoLoop>> IoLoop::Start() {
  UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
  UniqueFd wakeup(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (epoll.get() < 0 || wakeup.get() < 0) {
    return absl::InternalError(StrCat("cannot start the I/O thread: ", std::strerror(errno)));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wakeup
  if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wakeup.get(), &event) != 0) {
    return absl::InternalError(StrCat("cannot start the I/O thread: ", std::strerror(errno)));
  }
  std::shared_ptr<IoLoop> loop(new IoLoop(std::move(epoll), std::move(wakeup)));
  loop->thread_ = std::thread([raw = loop.get()] { raw->Run(); });
  return loop;
}

IoLoop::IoLoop(UniqueFd epoll, UniqueFd wakeup)
    : epoll_(std::move(epoll)), wakeup_(std::move(wakeup)) {}

IoLoop::~IoLoop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  const std::uint64_t one = 1;
  (void)!write(wakeup_.get(), &one, sizeof one);
  thread_.join();
  // Handlers are destroyed here, outside the lock: that may close sockets.
  std::unordered_map<Handler*, Watched> handlers;
  {
    absl::MutexLock lock(&mutex_);
    handlers.swap(handlers_);
  }
}

absl::Status IoLoop::Watch(int fd, std::shared_ptr<Handler> handler) {
  Handler* const key = handler.get();
  {
    absl::MutexLock lock(&mutex_);
    handlers_.emplace(key, Watched{fd, std::move(handler)});
  }
  epoll_event event{};
  event.events = kReadEvents;
  event.data.ptr = key;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    const int saved_errno = errno;
    absl::MutexLock lock(&mutex_);
    handlers_.erase(key);
    return absl::InternalError(StrCat("cannot watch a socket: ", std::strerror(saved_errno)));
  }
  return absl::OkStatus();
}

bool IoLoop::WatchWritable(int fd, Handler* handler, bool writable) {
  epoll_event event{};
  event.events = writable ? kReadEvents | EPOLLOUT : kReadEvents;
  event.data.ptr = handler;
  // ENOENT: no longer watched, because its handler has failed already.
  return epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event) == 0 || errno == ENOENT;
}

void IoLoop::Run() {
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  for (;;) {
    const int ready = epoll_wait(epoll_.get(), events, kMaxEvents, -1);
    if (ready < 0 && errno != EINTR) break;  // only on a programming error
    for (int i = 0; i < ready; ++i) {
      auto* handler = static_cast<Handler*>(events[i].data.ptr);
      if (handler == nullptr) {
        absl::MutexLock lock(&mutex_);
        if (stopping_) return;
        continue;
      }
      if (!handler->OnReady(events[i].events)) Forget(handler);
    }
  }
}

void IoLoop::Forget(Handler* handler) {
  std::shared_ptr<Handler> last_reference;  // released outside the lock
  absl::MutexLock lock(&mutex_);
  auto it = handlers_.find(handler);
  if (it == handlers_.end()) return;
  // The socket may outlive the handler's watch (its owners still hold it):
  // it must leave the epoll set, or it would keep reporting it is closed.
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
  last_reference = std::move(it->second.handler);
  handlers_.erase(it);
}

}  // namespace sfroute::internal
