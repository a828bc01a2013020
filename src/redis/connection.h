// Opening a connection to one Redis node: connect, log in, select the db.
#ifndef SFROUTE_SRC_REDIS_CONNECTION_H_
#define SFROUTE_SRC_REDIS_CONNECTION_H_

#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "redis_url.h"

namespace sfroute::internal {

// How to reach and log in to one Redis node.
struct ConnectionOptions {
  HostPort node;
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH
  int db = 0;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};
};

// Owns a file descriptor: closes it when destroyed.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd();
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// Connects (within connect_timeout), authenticates and selects the db
// (within command_timeout), and returns the socket in non-blocking mode.
// UNAVAILABLE when the server cannot be reached, PERMISSION_DENIED when it
// refuses the credentials.
absl::StatusOr<UniqueFd> OpenConnection(const ConnectionOptions& options);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_CONNECTION_H_
