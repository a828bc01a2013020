// The byte stream under a connection: plain TCP, or TLS on top of it (one
// seam, so the pipelined connection above does not care which).
#ifndef SFROUTE_SRC_REDIS_TRANSPORT_H_
#define SFROUTE_SRC_REDIS_TRANSPORT_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "loop/unique_fd.h"

namespace sfroute::internal {

// What a send, a receive or a handshake step did.
struct IoResult {
  enum Kind {
    kDone,       // `bytes` moved (for a receive, 0 bytes never means done)
    kWantRead,   // would block until the socket is readable
    kWantWrite,  // would block until the socket is writable
    kClosed,     // the peer closed the stream
    kError,      // `error` says what
  };
  Kind kind = kDone;
  std::size_t bytes = 0;
  absl::Status error;

  static IoResult Moved(std::size_t bytes) { return {kDone, bytes, absl::OkStatus()}; }
  static IoResult Want(Kind kind) { return {kind, 0, absl::OkStatus()}; }
  static IoResult Closed() { return {kClosed, 0, absl::OkStatus()}; }
  static IoResult Failed(absl::Status error) { return {kError, 0, std::move(error)}; }
};

// Not thread-safe: the connection gives sending and receiving to one
// thread each at a time (the writer and the reader), which a transport
// must allow (plain TCP does; TLS serializes them itself).
class Transport {
 public:
  virtual ~Transport() = default;
  virtual int fd() const = 0;
  // After the TCP connect: kDone when the stream is ready for data;
  // kWantRead/kWantWrite to be called again when the socket is.
  virtual IoResult Handshake() = 0;
  virtual IoResult Send(const char* data, std::size_t size) = 0;
  virtual IoResult Receive(char* buffer, std::size_t size) = 0;
  // Received bytes held inside the transport, which poll() on the socket
  // does not see (TLS records already decrypted).
  virtual bool HasBufferedInput() const = 0;
  // Both directions end; a thread blocked on the socket wakes up.
  virtual void Shutdown() = 0;
};

// TCP as it is.
std::unique_ptr<Transport> PlainTransport(UniqueFd socket);

}  // namespace sfroute::internal

#endif  // SFROUTE_SRC_REDIS_TRANSPORT_H_
