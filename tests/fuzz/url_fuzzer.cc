// Fuzz target: the deployment URL parser (src/redis_url.h) and RedactedUrl
// (include/sfroute/options.h).
//
// The first input byte picks the mode:
//  - raw: the rest of the input is the URL;
//  - built: the input describes a URL part by part (scheme, user, password,
//    hosts, port and db texts), so the target knows what the parse must give
//    and checks it exactly: a port or db is accepted only as a canonical
//    decimal in range, the password and user come back percent-decoded.
// For every URL that parses:
//  - ports are 1-65535, db 0-2^20, hosts non-empty;
//  - with a password, RedactedUrl keeps everything but the password, which
//    becomes "***" at the userinfo place; without one, it is the URL itself;
//  - the redacted URL parses to the same kind, hosts, ports, db and user;
//  - the endpoint written back as a URL (everything percent-encoded, port
//    and db explicit) parses to the same endpoint.
// For every URL that does not parse: the message is short (it never echoes
// the URL, which may hold a password) and RedactedUrl shows nothing of it.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "redis_url.h"
#include "sfroute/options.h"

namespace sfroute::fuzz {
namespace {

using internal::HostPort;
using internal::ParseRedisUrl;
using internal::RedisEndpoint;

constexpr std::string_view kInvalidShown = "(an invalid redis_url, not shown)";
constexpr int kMaxDb = 1 << 20;

std::string_view SchemeOf(RedisEndpoint::Kind kind, bool tls) {
  switch (kind) {
    case RedisEndpoint::Kind::kStandalone:
      return tls ? "rediss://" : "redis://";
    case RedisEndpoint::Kind::kCluster:
      return tls ? "rediss-cluster://" : "redis-cluster://";
    case RedisEndpoint::Kind::kSentinel:
      return tls ? "rediss-sentinel://" : "redis-sentinel://";
    case RedisEndpoint::Kind::kMemory:
      return "memory://";
  }
  return "";
}
std::string_view SchemeOf(const RedisEndpoint& endpoint) {
  return SchemeOf(endpoint.kind, endpoint.tls);
}

// The reference: a canonical decimal (no sign, no leading zero, digits only)
// in [0, max].
std::optional<int> CanonicalDecimal(std::string_view text, int max) {
  if (text.empty() || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
    if (value > max) return std::nullopt;
  }
  return static_cast<int>(value);
}

std::string PercentEncodeAll(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    out.push_back('%');
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string DescribeEndpoint(const RedisEndpoint& endpoint) {
  std::string out = std::string(SchemeOf(endpoint)) + " user=\"" + Escape(endpoint.user) +
                    "\" password=\"" + Escape(endpoint.password) + "\" nodes=";
  for (const HostPort& node : endpoint.nodes) {
    out += "[" + Escape(node.host) + "]:" + std::to_string(node.port) + " ";
  }
  return out + "db=" + std::to_string(endpoint.db) + " memory_name=\"" +
         Escape(endpoint.memory_name) + "\" master=\"" + Escape(endpoint.sentinel_master) +
         "\" sentinel_user=\"" + Escape(endpoint.sentinel_user) + "\" tls_ca=\"" +
         Escape(endpoint.tls_options.ca_file) + "\"";
}

// Same deployment and credentials (the redacted URL is not compared).
bool SameEndpoint(const RedisEndpoint& a, const RedisEndpoint& b, bool compare_password) {
  return a.kind == b.kind && a.tls == b.tls && a.nodes == b.nodes && a.user == b.user &&
         a.db == b.db && a.memory_name == b.memory_name && a.sentinel_master == b.sentinel_master &&
         a.sentinel_user == b.sentinel_user && a.tls_options == b.tls_options &&
         (!compare_password ||
          (a.password == b.password && a.sentinel_password == b.sentinel_password));
}

// The endpoint as a URL with nothing left implicit.
std::string WriteUrl(const RedisEndpoint& endpoint) {
  std::string url(SchemeOf(endpoint));
  if (endpoint.kind == RedisEndpoint::Kind::kMemory) return url + endpoint.memory_name;
  if (!endpoint.password.empty()) {
    url += PercentEncodeAll(endpoint.user) + ":" + PercentEncodeAll(endpoint.password) + "@";
  }
  for (std::size_t i = 0; i < endpoint.nodes.size(); ++i) {
    const HostPort& node = endpoint.nodes[i];
    if (i > 0) url += ",";
    // "host:port" splits at the last ':', so only a host that starts with
    // '[' needs the brackets.
    url += node.host.starts_with('[') ? "[" + node.host + "]" : node.host;
    url += ":" + std::to_string(node.port);
  }
  if (endpoint.kind == RedisEndpoint::Kind::kSentinel) {
    url += "/" + PercentEncodeAll(endpoint.sentinel_master);
  }
  if (endpoint.kind != RedisEndpoint::Kind::kCluster) url += "/" + std::to_string(endpoint.db);
  char separator = '?';
  const auto parameter = [&](std::string_view name, const std::string& value) {
    url += separator + std::string(name) + "=" + PercentEncodeAll(value);
    separator = '&';
  };
  if (endpoint.tls) {
    const sfroute::TlsOptions& tls = endpoint.tls_options;
    if (!tls.ca_file.empty()) parameter("tls_ca", tls.ca_file);
    if (!tls.cert_file.empty()) parameter("tls_cert", tls.cert_file);
    if (!tls.key_file.empty()) parameter("tls_key", tls.key_file);
    if (!tls.sni.empty()) parameter("tls_sni", tls.sni);
    constexpr const char* kVerify[] = {"full", "ca", "none"};
    parameter("tls_verify", kVerify[static_cast<int>(tls.verify)]);
  }
  if (!endpoint.sentinel_user.empty()) parameter("sentinel_user", endpoint.sentinel_user);
  if (!endpoint.sentinel_password.empty()) {
    parameter("sentinel_password", endpoint.sentinel_password);
  }
  return url;
}

// `url` as RedactedUrl must show it: the password of the userinfo and the
// value of each sentinel_password query parameter become "***".
std::string ExpectedRedaction(std::string_view url, std::string_view scheme, bool has_password) {
  const std::size_t at = url.rfind('@');
  const std::size_t question = url.find('?', at == std::string_view::npos ? 0 : at);
  std::string_view before_query = url.substr(0, question);
  std::string expected;
  if (has_password) {
    const std::string_view userinfo = before_query.substr(scheme.size(), at - scheme.size());
    expected = std::string(scheme) + std::string(userinfo.substr(0, userinfo.find(':'))) + ":***" +
               std::string(before_query.substr(at));
  } else {
    expected = std::string(before_query);
  }
  if (question == std::string_view::npos) return expected;
  // Empty parts ("…?", "a=1&&b=2", "a=1&") are dropped.
  std::string_view query = url.substr(question + 1);
  char separator = '?';
  while (true) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      expected += separator;
      expected += pair.starts_with("sentinel_password=") ? std::string("sentinel_password=***")
                                                         : std::string(pair);
      separator = '&';
    }
    if (amp == std::string_view::npos) return expected;
    query = query.substr(amp + 1);
  }
}

void CheckParsed(std::string_view url, const RedisEndpoint& endpoint) {
  const std::string context = "url \"" + Escape(url) + "\" parsed as " + DescribeEndpoint(endpoint);
  const std::string_view scheme = SchemeOf(endpoint);
  FUZZ_CHECK(url.starts_with(scheme), context);
  const std::string redacted = RedactedUrl(url);
  FUZZ_CHECK(redacted == endpoint.redacted_url, context + "; RedactedUrl gave " + Escape(redacted));

  if (endpoint.kind == RedisEndpoint::Kind::kMemory) {
    FUZZ_CHECK(endpoint.memory_name == url.substr(scheme.size()), context);
    FUZZ_CHECK(endpoint.password.empty() && redacted == url, context);
    return;
  }

  FUZZ_CHECK(!endpoint.nodes.empty(), context);
  if (endpoint.kind == RedisEndpoint::Kind::kCluster) {
    FUZZ_CHECK(endpoint.db == 0, context);
  } else {
    FUZZ_CHECK(endpoint.kind != RedisEndpoint::Kind::kStandalone || endpoint.nodes.size() == 1,
               context);
    FUZZ_CHECK(endpoint.db >= 0 && endpoint.db <= kMaxDb, context);
  }
  FUZZ_CHECK((endpoint.kind == RedisEndpoint::Kind::kSentinel) != endpoint.sentinel_master.empty(),
             context);
  FUZZ_CHECK(endpoint.tls || endpoint.tls_options == sfroute::TlsOptions{}, context);
  for (const HostPort& node : endpoint.nodes) {
    FUZZ_CHECK(!node.host.empty(), context);
    FUZZ_CHECK(node.port >= 1 && node.port <= 65535, context);
  }

  if (endpoint.password.empty()) FUZZ_CHECK(endpoint.user.empty(), context);
  // The userinfo's password and each sentinel_password's value become "***";
  // the rest is kept as written.
  const std::string expected = ExpectedRedaction(url, scheme, !endpoint.password.empty());
  FUZZ_CHECK(redacted == expected, context + "; redacted \"" + Escape(redacted) +
                                       "\", expected \"" + Escape(expected) + "\"");

  auto reparsed = ParseRedisUrl(redacted);
  FUZZ_CHECK(reparsed.ok(), context + "; the redacted URL \"" + Escape(redacted) +
                                "\" does not parse: " + std::string(reparsed.status().message()));
  FUZZ_CHECK(SameEndpoint(*reparsed, endpoint, /*compare_password=*/false),
             context + "; the redacted URL parses as " + DescribeEndpoint(*reparsed));
  FUZZ_CHECK(reparsed->password == (endpoint.password.empty() ? "" : "***"),
             context + "; the redacted URL has password \"" + Escape(reparsed->password) + "\"");
  FUZZ_CHECK(reparsed->sentinel_password == (endpoint.sentinel_password.empty() ? "" : "***"),
             context + "; the redacted URL has sentinel_password \"" +
                 Escape(reparsed->sentinel_password) + "\"");

  const std::string written = WriteUrl(endpoint);
  auto again = ParseRedisUrl(written);
  FUZZ_CHECK(again.ok(), context + "; written back as \"" + Escape(written) +
                             "\" it does not parse: " + std::string(again.status().message()));
  FUZZ_CHECK(SameEndpoint(*again, endpoint, /*compare_password=*/true),
             context + "; written back as \"" + Escape(written) + "\" it parses as " +
                 DescribeEndpoint(*again));
}

void CheckRejected(std::string_view url, const absl::Status& status) {
  const std::string context =
      "url \"" + Escape(url) + "\" rejected: " + std::string(status.message());
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, context);
  // The messages are fixed texts: a long URL is never echoed.
  FUZZ_CHECK(status.message().size() < 400, context);
  FUZZ_CHECK(RedactedUrl(url) == kInvalidShown, context);
}

// Bytes for a user or password, percent-encoding the ones that must be
// (and, at random, others); `decoded` receives what the parser must give.
std::string BuildCredential(FuzzedDataProvider& input, bool is_user, std::string& decoded) {
  static constexpr char kHex[] = "0123456789abcdefABCDEF";
  decoded = input.ConsumeRandomLengthString(24);
  std::string written;
  for (unsigned char c : decoded) {
    const bool must_encode = c == '%' || (is_user && (c == ':' || c == '@'));
    if (must_encode || input.ConsumeIntegralInRange(0, 7) == 0) {
      const bool upper = input.ConsumeBool();
      written.push_back('%');
      written.push_back(kHex[(c >> 4) + (upper && (c >> 4) > 9 ? 6 : 0)]);
      written.push_back(kHex[(c & 15) + (upper && (c & 15) > 9 ? 6 : 0)]);
    } else {
      written.push_back(static_cast<char>(c));
    }
  }
  return written;
}

// Digits, mostly, and the characters a non-canonical number may have.
std::string NumberText(FuzzedDataProvider& input) {
  static constexpr std::string_view kAlphabet = "0123456789000111+- x.";
  std::string text;
  const std::size_t length = input.ConsumeIntegralInRange<std::size_t>(0, 8);
  for (std::size_t i = 0; i < length; ++i) {
    text.push_back(kAlphabet[input.ConsumeIntegralInRange<std::size_t>(0, kAlphabet.size() - 1)]);
  }
  return text;
}

std::string HostText(FuzzedDataProvider& input, bool& bracketed) {
  static constexpr std::string_view kName = "abcxyz0129.-";
  static constexpr std::string_view kIpv6 = "0123abcdef::";
  bracketed = input.ConsumeBool();
  const std::string_view alphabet = bracketed ? kIpv6 : kName;
  std::string host;
  const std::size_t length = input.ConsumeIntegralInRange<std::size_t>(0, 12);
  for (std::size_t i = 0; i < length; ++i) {
    host.push_back(alphabet[input.ConsumeIntegralInRange<std::size_t>(0, alphabet.size() - 1)]);
  }
  return host;
}

// Builds a URL from the input and checks the parse against what was built.
void CheckBuilt(FuzzedDataProvider& input) {
  // The kinds built part by part; TLS and sentinel URLs come from the raw
  // mode (and the dictionary).
  constexpr RedisEndpoint::Kind kBuilt[] = {RedisEndpoint::Kind::kStandalone,
                                            RedisEndpoint::Kind::kCluster,
                                            RedisEndpoint::Kind::kMemory};
  const RedisEndpoint::Kind kind = kBuilt[input.ConsumeIntegralInRange(0, 2)];
  std::string url(SchemeOf(kind, /*tls=*/false));
  if (kind == RedisEndpoint::Kind::kMemory) {
    const std::string name = input.ConsumeRandomLengthString(40);
    url += name;
    auto endpoint = ParseRedisUrl(url);
    FUZZ_CHECK(endpoint.ok() && endpoint->memory_name == name, "url \"" + Escape(url) + "\"");
    return;
  }
  RedisEndpoint expected;
  expected.kind = kind;
  bool valid = true;
  if (input.ConsumeBool()) {
    std::string user, password;
    const std::string user_text = input.ConsumeBool() ? BuildCredential(input, true, user) : "";
    const std::string password_text = BuildCredential(input, false, password);
    url += user_text + ":" + password_text + "@";
    expected.user = user;
    expected.password = password;
    valid = valid && !password.empty();
  }
  const int node_count =
      kind == RedisEndpoint::Kind::kCluster ? input.ConsumeIntegralInRange(1, 3) : 1;
  expected.nodes.clear();
  for (int i = 0; i < node_count; ++i) {
    if (i > 0) url += ",";
    bool bracketed = false;
    HostPort node;
    const std::string host = HostText(input, bracketed);
    url += bracketed ? "[" + host + "]" : host;
    if (!host.empty()) node.host = host;
    const bool has_port = input.ConsumeBool();
    if (has_port) {
      const std::string port = NumberText(input);
      url += ":" + port;
      const std::optional<int> value = CanonicalDecimal(port, 65535);
      valid = valid && value.has_value() && *value > 0;
      if (value.has_value()) node.port = *value;
    }
    // A cluster seed must not be empty; "[]" is one with the default host.
    if (kind == RedisEndpoint::Kind::kCluster && host.empty() && !bracketed && !has_port) {
      valid = false;
    }
    expected.nodes.push_back(node);
  }
  if (kind == RedisEndpoint::Kind::kStandalone && input.ConsumeBool()) {
    const std::string db = NumberText(input);
    url += "/" + db;
    const std::optional<int> value = CanonicalDecimal(db, kMaxDb);
    valid = valid && (db.empty() || value.has_value());
    if (value.has_value()) expected.db = *value;
  }

  auto endpoint = ParseRedisUrl(url);
  const std::string context = "url \"" + Escape(url) + "\", expected " +
                              (valid ? DescribeEndpoint(expected) : std::string("an error"));
  if (!valid) {
    FUZZ_CHECK(!endpoint.ok(), context + ", parsed as " + DescribeEndpoint(*endpoint));
    CheckRejected(url, endpoint.status());
    return;
  }
  FUZZ_CHECK(endpoint.ok(), context + ", rejected: " + std::string(endpoint.status().message()));
  FUZZ_CHECK(SameEndpoint(*endpoint, expected, /*compare_password=*/true),
             context + ", parsed as " + DescribeEndpoint(*endpoint));
  CheckParsed(url, *endpoint);
}

}  // namespace
}  // namespace sfroute::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    const std::string_view url(reinterpret_cast<const char*>(data + 1), size - 1);
    auto endpoint = sfroute::internal::ParseRedisUrl(url);
    if (endpoint.ok()) {
      sfroute::fuzz::CheckParsed(url, *endpoint);
    } else {
      sfroute::fuzz::CheckRejected(url, endpoint.status());
    }
    return 0;
  }
  FuzzedDataProvider input(data + 1, size - 1);
  sfroute::fuzz::CheckBuilt(input);
  return 0;
}
