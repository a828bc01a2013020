// The narrow interface the executor talks to: one per kind of deployment.
#ifndef SFROUTE_SRC_BACKEND_H_
#define SFROUTE_SRC_BACKEND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "reply.h"

namespace sfroute::internal {

struct Command {
  std::vector<std::string> args;  // the command and its arguments, binary safe
};

// Thread-safe. A backend never resends a command that may have reached the
// server: a lost connection or a timeout is returned to the caller.
class Backend {
 public:
  virtual ~Backend() = default;

  // Sends `commands` in one round trip (a pipeline) and returns one reply per
  // command, in order. A command the server refused comes back as an error
  // reply; only a failed round trip is an error status (UNAVAILABLE,
  // DEADLINE_EXCEEDED, PERMISSION_DENIED when authentication fails).
  virtual absl::StatusOr<std::vector<Reply>> Execute(const std::vector<Command>& commands) = 0;
};

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_BACKEND_H_
