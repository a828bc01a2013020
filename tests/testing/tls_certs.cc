#include "tls_certs.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace sfroute::testing {
namespace {

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "tls certs: %s\n", why.c_str());
  std::abort();
}

// `openssl ca` is what can sign with given dates (OpenSSL 3.0's x509 has
// no -not_after): it wants a config, an index and a serial file.
constexpr char kCaConfig[] = R"([ca]
default_ca = test
[test]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
)";

// Run in the temp dir by /bin/sh; stops at the first failure.
constexpr char kScript[] = R"(set -e
touch index.txt
echo 01 > serial
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
for ca in ca other-ca; do
  openssl req -x509 $key -keyout $ca.key -out $ca.crt -days 2 -subj /CN=sfroute-test-$ca
done
# leaf <name> <CN> <extensions> <not before> <not after>
leaf() {
  openssl req -new $key -keyout $1.key -out $1.csr -subj /CN=$2
  printf "basicConstraints=CA:FALSE\n$3\n" > $1.ext
  openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in $1.csr -out $1.crt \
    -startdate $4 -enddate $5 -extfile $1.ext -notext
}
# A server presents its certificate as a client too (cluster bus, replication).
server="subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth"
leaf server localhost "$server" 20200101000000Z 20991231000000Z
leaf ip-only 127.0.0.1 "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth" \
  20200101000000Z 20991231000000Z
leaf wrong wrong.example \
  "subjectAltName=DNS:wrong.example\nextendedKeyUsage=serverAuth" 20200101000000Z 20991231000000Z
leaf expired localhost "$server" 20200101000000Z 20200102000000Z
leaf client sfroute-client "extendedKeyUsage=clientAuth" 20200101000000Z 20991231000000Z
chmod 644 *.key
)";

}  // namespace

std::unique_ptr<TlsCerts> TlsCerts::Make() {
  char dir_template[] = "/tmp/sfroute-tls-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) Die("mkdtemp failed");
  std::unique_ptr<TlsCerts> certs(new TlsCerts(dir_template));
  std::ofstream(certs->dir_ + "/ca.cnf") << kCaConfig;
  std::ofstream(certs->dir_ + "/make.sh") << kScript;
  const std::string command = "cd " + certs->dir_ + " && /bin/sh make.sh > make.log 2>&1";
  if (std::system(command.c_str()) != 0) {
    Die("openssl failed; see " + certs->dir_ + "/make.log");
  }
  return certs;
}

TlsCerts::~TlsCerts() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::vector<std::string> TlsCerts::ServerArgs(int tls_port, const std::string& name,
                                              bool require_client_cert) const {
  return {"--tls-port",         std::to_string(tls_port),
          "--tls-cert-file",    Cert(name),
          "--tls-key-file",     Key(name),
          "--tls-ca-cert-file", Cert("ca"),
          "--tls-auth-clients", require_client_cert ? "yes" : "no"};
}

}  // namespace sfroute::testing
