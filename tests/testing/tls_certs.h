// Certificates for TLS tests, made with the openssl CLI in a temp dir
// (removed when the object dies): a test CA, and the certificates it signed.
#ifndef SFROUTE_TESTS_TESTING_TLS_CERTS_H_
#define SFROUTE_TESTS_TESTING_TLS_CERTS_H_

#include <memory>
#include <string>
#include <vector>

namespace sfroute::testing {

class TlsCerts {
 public:
  // The certificates (EC P-256 keys), each `<name>.crt` + `<name>.key`:
  //   ca        the test CA, which signed all the others
  //   other-ca  a CA that signed nothing here (a CA the client must not trust)
  //   server    a server certificate for localhost (SAN DNS:localhost, IP:127.0.0.1),
  //             also good as a client's (a cluster node presents it to the others)
  //   ip-only   as `server`, but for 127.0.0.1 only (SAN IP:127.0.0.1, no DNS name)
  //   wrong     a server certificate for wrong.example only
  //   expired   as `server`, but valid only on 2020-01-01
  //   client    a client certificate (CN sfroute-client)
  // Aborts the test binary when openssl fails: nothing can be tested then.
  static std::unique_ptr<TlsCerts> Make();
  ~TlsCerts();
  TlsCerts(const TlsCerts&) = delete;
  TlsCerts& operator=(const TlsCerts&) = delete;

  std::string Cert(const std::string& name) const { return dir_ + "/" + name + ".crt"; }
  std::string Key(const std::string& name) const { return dir_ + "/" + name + ".key"; }
  const std::string& dir() const { return dir_; }

  // redis-server arguments for a TLS port `tls_port` serving certificate
  // `name`, trusting the test CA for client certificates, which it requires
  // when `require_client_cert`.
  std::vector<std::string> ServerArgs(int tls_port, const std::string& name = "server",
                                      bool require_client_cert = false) const;

 private:
  explicit TlsCerts(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace sfroute::testing

#endif  // SFROUTE_TESTS_TESTING_TLS_CERTS_H_
