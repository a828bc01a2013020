#include "redis/tls.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "str_cat.h"
#include "sync.h"

namespace sfroute::internal {
namespace {

bool IsIpLiteral(const std::string& host) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// The newest error of this thread's OpenSSL queue as text; empties the queue.
std::string LastOpenSslError() {
  const unsigned long error = ERR_peek_last_error();
  ERR_clear_error();
  if (error == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(error);
  return reason != nullptr ? reason : StrCat("error ", error);
}

std::string Text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

// "DNS:a, IP Address:1.2.3.4" (the certificate's subjectAltName), else its
// subject: what a name is checked against.
std::string NamesOf(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  const int index = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
  X509_EXTENSION* names = index >= 0 ? X509_get_ext(cert, index) : nullptr;
  if (names == nullptr || X509V3_EXT_print(bio, names, 0, 0) != 1) {
    (void)BIO_reset(bio);
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_ONELINE);
  }
  std::string text = Text(bio);
  BIO_free(bio);
  return text;
}

std::string IssuerOf(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_issuer_name(cert), 0, XN_FLAG_ONELINE);
  std::string text = Text(bio);
  BIO_free(bio);
  return text;
}

std::string TimeText(const ASN1_TIME* time) {
  BIO* bio = BIO_new(BIO_s_mem());
  ASN1_TIME_print(bio, time);
  std::string text = Text(bio);
  BIO_free(bio);
  return text;
}

// A file given in a setting must be readable: said with the setting's name,
// before OpenSSL's less telling error.
absl::Status CheckReadable(std::string_view setting, const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("invalid ", setting, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  std::fclose(file);
  return absl::OkStatus();
}

class OpenSslClient;

// One TLS connection. Its SSL is used by a writer and a reader at once
// (transport.h): each SSL_* call runs under mutex_. The socket is read and
// written through a BIO of ours: send() with MSG_NOSIGNAL (OpenSSL's socket
// BIO may raise SIGPIPE), and a look at the first byte the server sends.
class TlsTransport final : public Transport {
 public:
  TlsTransport(std::shared_ptr<const OpenSslClient> client, UniqueFd socket);
  ~TlsTransport() override;

  int fd() const override { return fd_; }
  IoResult Handshake() override;
  IoResult Send(const char* data, std::size_t size) override;
  IoResult Receive(char* buffer, std::size_t size) override;
  bool HasBufferedInput() const override { return buffered_.load(std::memory_order_acquire); }
  // Not under mutex_: it wakes a thread inside a blocking wait, and sends
  // no close_notify (the connection is given up, not closed politely).
  void Shutdown() override { shutdown(fd_, SHUT_RDWR); }

  // The first certificate that failed verification (called inside
  // SSL_connect, under mutex_).
  void NoteRefused(X509* cert) {
    if (refused_ != nullptr || cert == nullptr) return;
    X509_up_ref(cert);
    refused_ = cert;
  }

  void NoteCertificateRequest() { asked_for_certificate_ = true; }

  // The BIO's two ends.
  int Read(char* buffer, int size, BIO* bio);
  int Write(const char* data, int size, BIO* bio);

 private:
  // What went wrong, after `result` of an SSL_* call failed with `error`
  // (SSL_get_error): what the server did, and what to set.
  std::string Describe(int error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  std::string DescribeVerifyFailure(long result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const std::shared_ptr<const OpenSslClient> client_;
  const UniqueFd socket_;
  const int fd_;
  Mutex mutex_;
  SSL* const ssl_;
  // Set by the BIO, under mutex_ (it runs inside SSL_* calls).
  bool received_any_ = false;
  unsigned char first_byte_ = 0;
  int last_errno_ = 0;
  X509* refused_ = nullptr;  // NoteRefused
  // With TLS 1.3 a server refuses the client's certificate (or its absence)
  // after the client's handshake is done: its alert may then be lost to the
  // reset of the connection (the server closes with our first command
  // unread). That it asked for one tells what happened.
  bool asked_for_certificate_ = false;
  // Decrypted or still encrypted bytes left inside OpenSSL by a Receive
  // that filled its buffer (read-ahead takes what the socket has).
  std::atomic<bool> buffered_{false};
};

class OpenSslClient final : public TlsClient, public std::enable_shared_from_this<OpenSslClient> {
 public:
  OpenSslClient(TlsOptions options, std::string name)
      : options_(std::move(options)), name_(std::move(name)) {}
  ~OpenSslClient() override {
    SSL_CTX_free(context_);
    BIO_meth_free(bio_method_);
  }

  absl::Status Init();
  std::unique_ptr<Transport> Wrap(UniqueFd socket) const override {
    return std::make_unique<TlsTransport>(shared_from_this(), std::move(socket));
  }

  const TlsOptions options_;
  const std::string name_;  // checked against the certificate, sent as SNI (unless an IP)
  SSL_CTX* context_ = nullptr;
  BIO_METHOD* bio_method_ = nullptr;
};

// Keeps the certificate that failed verification for the message (the
// peer's certificate is not kept after a failed handshake).
int OnVerify(int ok, X509_STORE_CTX* store) {
  if (ok == 1) return 1;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  static_cast<TlsTransport*>(SSL_get_app_data(ssl))
      ->NoteRefused(X509_STORE_CTX_get_current_cert(store));
  return 0;
}

// Called when the server asks for the client's certificate.
int OnCertificateRequest(SSL* ssl, void*) {
  static_cast<TlsTransport*>(SSL_get_app_data(ssl))->NoteCertificateRequest();
  return 1;
}

int BioRead(BIO* bio, char* buffer, int size) {
  return static_cast<TlsTransport*>(BIO_get_data(bio))->Read(buffer, size, bio);
}
int BioWrite(BIO* bio, const char* data, int size) {
  return static_cast<TlsTransport*>(BIO_get_data(bio))->Write(data, size, bio);
}
long BioControl(BIO*, int command, long, void*) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;  // writes are not buffered
}
int BioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

absl::Status OpenSslClient::Init() {
  if (options_.cert_file.empty() != options_.key_file.empty()) {
    return absl::InvalidArgumentError(
        "invalid tls_cert/tls_key: a client certificate needs both tls_cert and tls_key");
  }
  context_ = SSL_CTX_new(TLS_client_method());
  bio_method_ = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sfroute socket");
  if (context_ == nullptr || bio_method_ == nullptr ||
      BIO_meth_set_read(bio_method_, BioRead) != 1 ||
      BIO_meth_set_write(bio_method_, BioWrite) != 1 ||
      BIO_meth_set_ctrl(bio_method_, BioControl) != 1 ||
      BIO_meth_set_create(bio_method_, BioCreate) != 1) {
    return absl::InternalError(StrCat("cannot set up OpenSSL: ", LastOpenSslError()));
  }
  SSL_CTX_set_min_proto_version(context_, TLS1_2_VERSION);
  SSL_CTX_set_options(context_, SSL_OP_NO_RENEGOTIATION);
  // Partial writes: a send reports each record that went out. Moving
  // buffer: the connection's send buffer may be reallocated between tries.
  SSL_CTX_set_mode(context_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One recv takes every record the socket holds (not a header, then a body).
  SSL_CTX_set_read_ahead(context_, 1);

  if (!options_.ca_file.empty()) {
    if (auto readable = CheckReadable("tls_ca", options_.ca_file); !readable.ok()) return readable;
    if (SSL_CTX_load_verify_locations(context_, options_.ca_file.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(StrCat("invalid tls_ca: ", options_.ca_file,
                                               " holds no PEM certificate: ", LastOpenSslError()));
    }
  } else if (options_.verify != TlsVerify::kNone &&
             SSL_CTX_set_default_verify_paths(context_) != 1) {
    return absl::InternalError(
        StrCat("cannot load the system's CA certificates: ", LastOpenSslError()));
  }
  if (!options_.cert_file.empty()) {
    if (auto readable = CheckReadable("tls_cert", options_.cert_file); !readable.ok()) {
      return readable;
    }
    if (auto readable = CheckReadable("tls_key", options_.key_file); !readable.ok()) {
      return readable;
    }
    if (SSL_CTX_use_certificate_chain_file(context_, options_.cert_file.c_str()) != 1) {
      return absl::InvalidArgumentError(StrCat("invalid tls_cert: ", options_.cert_file,
                                               " holds no PEM certificate: ", LastOpenSslError()));
    }
    const bool loaded =
        SSL_CTX_use_PrivateKey_file(context_, options_.key_file.c_str(), SSL_FILETYPE_PEM) == 1;
    if (!loaded && ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
      return absl::InvalidArgumentError(StrCat("invalid tls_key: ", options_.key_file,
                                               " holds no PEM private key: ", LastOpenSslError()));
    }
    if (!loaded || SSL_CTX_check_private_key(context_) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError(StrCat("invalid tls_key: ", options_.key_file,
                                               " is not the key of tls_cert ", options_.cert_file));
    }
  }

  SSL_CTX_set_cert_cb(context_, OnCertificateRequest, nullptr);
  SSL_CTX_set_verify(
      context_, options_.verify == TlsVerify::kNone ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, OnVerify);
  if (options_.verify == TlsVerify::kFull) {
    // Every SSL made from the context inherits the name to check.
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(context_);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = IsIpLiteral(name_)
                        ? X509_VERIFY_PARAM_set1_ip_asc(param, name_.c_str())
                        : X509_VERIFY_PARAM_set1_host(param, name_.c_str(), name_.size());
    if (set != 1) {
      return absl::InvalidArgumentError(
          StrCat("invalid tls_sni: cannot check certificates against '", name_, "'"));
    }
  }
  return absl::OkStatus();
}

TlsTransport::TlsTransport(std::shared_ptr<const OpenSslClient> client, UniqueFd socket)
    : client_(std::move(client)),
      socket_(std::move(socket)),
      fd_(socket_.get()),
      ssl_(SSL_new(client_->context_)) {
  BIO* bio = BIO_new(client_->bio_method_);
  if (ssl_ == nullptr || bio == nullptr) {
    BIO_free(bio);
    return;  // Handshake() reports it
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_app_data(ssl_, this);
  // SNI names a host; an IP address is never sent (RFC 6066).
  if (!IsIpLiteral(client_->name_)) SSL_set_tlsext_host_name(ssl_, client_->name_.c_str());
}

TlsTransport::~TlsTransport() {
  SSL_free(ssl_);
  X509_free(refused_);
}

int TlsTransport::Read(char* buffer, int size, BIO* bio) {
  BIO_clear_retry_flags(bio);
  last_errno_ = 0;
  for (;;) {
    const ssize_t received = recv(fd_, buffer, static_cast<std::size_t>(size), 0);
    if (received > 0) {
      if (!received_any_) first_byte_ = static_cast<unsigned char>(buffer[0]);
      received_any_ = true;
      return static_cast<int>(received);
    }
    if (received == 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_read(bio);
    } else {
      last_errno_ = errno;
    }
    return -1;
  }
}

int TlsTransport::Write(const char* data, int size, BIO* bio) {
  BIO_clear_retry_flags(bio);
  last_errno_ = 0;
  for (;;) {
    const ssize_t sent = send(fd_, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<int>(sent);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_write(bio);
    } else {
      last_errno_ = errno;
    }
    return -1;
  }
}

IoResult TlsTransport::Handshake() {
  MutexLock lock(&mutex_);
  if (ssl_ == nullptr) {
    return IoResult::Failed(
        absl::UnavailableError(StrCat("TLS: cannot set up a connection: ", LastOpenSslError())));
  }
  ERR_clear_error();
  const int result = SSL_connect(ssl_);
  if (result == 1) return IoResult::Moved(0);
  const int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ) return IoResult::Want(IoResult::kWantRead);
  if (error == SSL_ERROR_WANT_WRITE) return IoResult::Want(IoResult::kWantWrite);
  return IoResult::Failed(absl::UnavailableError(Describe(error)));
}

IoResult TlsTransport::Send(const char* data, std::size_t size) {
  MutexLock lock(&mutex_);
  ERR_clear_error();
  std::size_t sent = 0;
  const int result = SSL_write_ex(ssl_, data, size, &sent);
  if (result == 1) return IoResult::Moved(sent);
  const int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_WRITE) return IoResult::Want(IoResult::kWantWrite);
  if (error == SSL_ERROR_WANT_READ) return IoResult::Want(IoResult::kWantRead);
  return IoResult::Failed(absl::UnavailableError(Describe(error)));
}

IoResult TlsTransport::Receive(char* buffer, std::size_t size) {
  MutexLock lock(&mutex_);
  std::size_t filled = 0;
  IoResult outcome = IoResult::Moved(0);
  for (;;) {
    ERR_clear_error();
    std::size_t read = 0;
    const int result = SSL_read_ex(ssl_, buffer + filled, size - filled, &read);
    if (result == 1) {
      filled += read;
      // Records left in OpenSSL's buffer are invisible to poll(): take them
      // now. (A partial one makes the next read reach the socket, which
      // then says whether more is there.)
      if (filled < size && SSL_has_pending(ssl_) == 1) continue;
      break;
    }
    // Bytes already taken go up first; a lasting error comes back next time.
    if (filled > 0) break;
    const int error = SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_WANT_READ) {
      outcome = IoResult::Want(IoResult::kWantRead);
    } else if (error == SSL_ERROR_WANT_WRITE) {
      outcome = IoResult::Want(IoResult::kWantWrite);
    } else if (error == SSL_ERROR_ZERO_RETURN ||
               (error == SSL_ERROR_SYSCALL && last_errno_ == 0 && ERR_peek_error() == 0) ||
               ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      // close_notify, or the peer closed without one (as Redis does).
      ERR_clear_error();
      outcome = IoResult::Closed();
    } else {
      outcome = IoResult::Failed(absl::UnavailableError(Describe(error)));
    }
    break;
  }
  buffered_.store(filled == size && SSL_has_pending(ssl_) == 1, std::memory_order_release);
  if (filled > 0) outcome = IoResult::Moved(filled);
  return outcome;
}

std::string TlsTransport::Describe(int error) {
  const unsigned long last = ERR_peek_last_error();
  const int reason = ERR_GET_REASON(last);
  const TlsOptions& options = client_->options_;
  // The server's first byte opens no TLS record (20..23): it is no TLS
  // server. (A plain Redis answers a ClientHello with -ERR, if at all.)
  if (received_any_ && (first_byte_ < 20 || first_byte_ > 23)) {
    ERR_clear_error();
    return "TLS: the server does not speak TLS (a plain port?): use redis:// for it, or its TLS "
           "port";
  }
  if (const long verified = SSL_get_verify_result(ssl_);
      verified != X509_V_OK && options.verify != TlsVerify::kNone) {
    ERR_clear_error();
    return DescribeVerifyFailure(verified);
  }
  // A TLS alert from the server: its reason is the alert's code + 1000.
  if (ERR_GET_LIB(last) == ERR_LIB_SSL && reason > SSL_AD_REASON_OFFSET &&
      reason < SSL_AD_REASON_OFFSET + 256) {
    const int alert = reason - SSL_AD_REASON_OFFSET;
    ERR_clear_error();
    // OpenSSL 3.0 has no name for TLS 1.3's certificate_required.
    const std::string what =
        StrCat("the server ended the connection with TLS alert '",
               alert == TLS13_AD_CERTIFICATE_REQUIRED ? "certificate required"
                                                      : SSL_alert_desc_string_long(alert),
               "'");
    const bool about_client_certificate =
        alert == TLS13_AD_CERTIFICATE_REQUIRED || alert == SSL_AD_HANDSHAKE_FAILURE ||
        alert == SSL_AD_BAD_CERTIFICATE || alert == SSL_AD_UNKNOWN_CA ||
        alert == SSL_AD_CERTIFICATE_UNKNOWN || alert == SSL_AD_CERTIFICATE_EXPIRED;
    if (about_client_certificate && options.cert_file.empty()) {
      return StrCat("TLS: ", what,
                    ": the server requires a client certificate: set tls_cert and tls_key");
    }
    if (about_client_certificate) {
      return StrCat("TLS: ", what, ": the server does not accept the client certificate (tls_cert ",
                    options.cert_file, "): it must be signed by a CA the server trusts");
    }
    if (alert == SSL_AD_PROTOCOL_VERSION) {
      return StrCat("TLS: ", what, ": the server does not offer TLS 1.2 or newer");
    }
    return StrCat("TLS: ", what);
  }
  if (error == SSL_ERROR_SYSCALL || error == SSL_ERROR_ZERO_RETURN ||
      reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ERR_clear_error();
    const char* why = last_errno_ != 0 ? std::strerror(last_errno_) : "closed";
    if (!SSL_is_init_finished(ssl_)) {
      return StrCat("TLS: the connection ended during the TLS handshake (", why,
                    "): is the port a TLS port?");
    }
    if (asked_for_certificate_ && options.cert_file.empty()) {
      return StrCat(
          "TLS: the server asked for a client certificate, none was given, and it "
          "ended the connection (",
          why, "): the server requires a client certificate: set tls_cert and tls_key");
    }
    if (asked_for_certificate_) {
      return StrCat("TLS: the server ended the connection after the handshake (", why,
                    "): it may not accept the client certificate (tls_cert ", options.cert_file,
                    "): it must be signed by a CA the server trusts");
    }
    return StrCat("TLS: ", why);
  }
  return StrCat("TLS: ", LastOpenSslError());
}

std::string TlsTransport::DescribeVerifyFailure(long result) {
  const TlsOptions& options = client_->options_;
  X509* cert = refused_ != nullptr ? refused_ : SSL_get0_peer_certificate(ssl_);
  const std::string error = X509_verify_cert_error_string(result);
  switch (result) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return StrCat("TLS: the server's certificate is not for ", client_->name_,
                    cert != nullptr ? StrCat(" (it is for ", NamesOf(cert), ")") : "",
                    ": set tls_sni to a name it has, or tls_verify=ca to check the CA only");
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return StrCat("TLS: the server's certificate has expired",
                    cert != nullptr ? StrCat(" (on ", TimeText(X509_get0_notAfter(cert)), ")") : "",
                    ": the server needs a new one");
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return StrCat(
          "TLS: the server's certificate is not valid yet",
          cert != nullptr ? StrCat(" (from ", TimeText(X509_get0_notBefore(cert)), ")") : "",
          ": check the clocks");
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
      return StrCat("TLS: the server's certificate is not signed by a trusted CA (", error,
                    cert != nullptr ? StrCat("; issuer ", IssuerOf(cert)) : "", "): set tls_ca",
                    options.ca_file.empty()
                        ? " to the CA's PEM file (the system's CA store does not have it)"
                        : StrCat(" to the CA's PEM file (", options.ca_file, " does not have it)"));
    default:
      return StrCat("TLS: the server's certificate is refused: ", error);
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TlsClient>> TlsClient::Create(const TlsOptions& options,
                                                                   std::string_view url_host) {
  std::string name(options.sni.empty() ? url_host : std::string_view(options.sni));
  auto client = std::make_shared<OpenSslClient>(options, std::move(name));
  if (absl::Status ready = client->Init(); !ready.ok()) return ready;
  return client;
}

}  // namespace sfroute::internal
