// Options for opening an sfroute::Executor.
#ifndef SFROUTE_OPTIONS_H_
#define SFROUTE_OPTIONS_H_

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace sfroute {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Receives the library's log lines (for example: a corrupt value skipped by a
// batch read). Must be thread-safe. Lines never contain passwords.
using LogSink = std::function<void(LogLevel, std::string_view message)>;

struct Options {
  // Where Redis is: redis://[[user]:password@]host[:port][/db].
  // Default: redis://127.0.0.1:6379 (db 0). User and password may be
  // percent-encoded; a user is sent with AUTH <user> <password> (ACL).
  std::string redis_url = "redis://127.0.0.1:6379";

  // Time allowed to open a TCP connection (and authenticate). Default 1000 ms.
  std::chrono::milliseconds connect_timeout{1000};

  // Time allowed for one round trip: sending a command (or pipeline) and
  // reading its reply. Past it the call fails with DEADLINE_EXCEEDED and the
  // connection is discarded. Default 1000 ms.
  std::chrono::milliseconds command_timeout{1000};

  // Most connections kept open to the server. Each call holds one for its
  // round trip; a call that finds all in use waits for one, at most
  // command_timeout (then DEADLINE_EXCEEDED). Default 16.
  int pool_size = 16;

  // Where log lines go. Default (empty): warnings and errors to stderr.
  LogSink log_sink;
};

}  // namespace sfroute

#endif  // SFROUTE_OPTIONS_H_
