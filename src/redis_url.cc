#include "redis_url.h"

#include <charconv>

#include "sfroute/options.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

constexpr int kRedisPort = 6379;
constexpr int kSentinelPort = 26379;

constexpr std::string_view kForms =
    " (expected redis://[[user]:password@]host[:port][/db], redis-cluster://host:port[,...], "
    "redis-sentinel://host:port[,...]/master[/db], rediss... for TLS, or memory://[name])";

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("invalid redis_url: ", what, kForms));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Userinfo may be percent-encoded (a password with '@' or ':' in it).
absl::StatusOr<std::string> PercentDecode(std::string_view text, std::string_view part) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) return Invalid(StrCat("bad percent-encoding in the ", part));
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

// A canonical decimal: digits only, no sign, no leading zero ("0" itself
// is fine), as every integer sfroute reads.
bool ParseNumber(std::string_view text, int max, int* out) {
  if (text.empty() || (text.size() > 1 && text.front() == '0') || text.front() == '+' ||
      text.front() == '-') {
    return false;
  }
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && *out >= 0 && *out <= max;
}

// [user]:password before '@', if any; returns what follows it.
absl::StatusOr<std::string_view> ParseUserinfo(std::string_view rest, RedisEndpoint& endpoint) {
  const auto at = rest.rfind('@');
  if (at == std::string_view::npos) {
    endpoint.redacted_url.append(rest);
    return rest;
  }
  const std::string_view userinfo = rest.substr(0, at);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return Invalid("credentials must be [user]:password@");
  auto user = PercentDecode(userinfo.substr(0, colon), "user");
  if (!user.ok()) return user.status();
  auto password = PercentDecode(userinfo.substr(colon + 1), "password");
  if (!password.ok()) return password.status();
  if (password->empty()) return Invalid("empty password");
  endpoint.user = *std::move(user);
  endpoint.password = *std::move(password);
  // The user stays as written (it is not a secret); the password goes.
  endpoint.redacted_url.append(userinfo.substr(0, colon));
  endpoint.redacted_url.append(":***");
  endpoint.redacted_url.append(rest.substr(at));
  return rest.substr(at + 1);
}

// host[:port] or [ipv6][:port]; empty parts keep the defaults.
absl::StatusOr<HostPort> ParseHostPort(std::string_view text, int default_port) {
  HostPort node;
  node.port = default_port;
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return Invalid("unclosed '[' in host");
    node.host = std::string(text.substr(1, close - 1));
    const std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Invalid("expected ':' after ']'");
      port_text = after.substr(1);
      has_port = true;
    }
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    node.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    has_port = true;
  } else if (!text.empty()) {
    node.host = std::string(text);
  }
  if (node.host.empty()) node.host = "127.0.0.1";
  if (has_port && (!ParseNumber(port_text, 65535, &node.port) || node.port == 0)) {
    return Invalid("port must be 1-65535");
  }
  return node;
}

// A list of host[:port], comma-separated, none empty.
absl::Status ParseNodeList(std::string_view list, int default_port, std::string_view what,
                           RedisEndpoint& endpoint) {
  endpoint.nodes.clear();
  while (true) {
    const auto comma = list.find(',');
    const std::string_view text = list.substr(0, comma);
    if (text.empty()) return Invalid(StrCat("empty ", what));
    auto node = ParseHostPort(text, default_port);
    if (!node.ok()) return node.status();
    endpoint.nodes.push_back(*std::move(node));
    if (comma == std::string_view::npos) return absl::OkStatus();
    list = list.substr(comma + 1);
  }
}

absl::Status ParseDb(std::string_view text, RedisEndpoint& endpoint) {
  if (!text.empty() && !ParseNumber(text, 1 << 20, &endpoint.db)) {
    return Invalid("db must be a number");
  }
  return absl::OkStatus();
}

// host[:port][/db]
absl::Status ParseStandalone(std::string_view where, RedisEndpoint& endpoint) {
  if (const auto slash = where.find('/'); slash != std::string_view::npos) {
    if (auto db = ParseDb(where.substr(slash + 1), endpoint); !db.ok()) return db;
    where = where.substr(0, slash);
  }
  auto node = ParseHostPort(where, kRedisPort);
  if (!node.ok()) return node.status();
  endpoint.nodes = {*std::move(node)};
  return absl::OkStatus();
}

// host:port[,host:port...]
absl::Status ParseCluster(std::string_view where, RedisEndpoint& endpoint) {
  if (where.find('/') != std::string_view::npos) return Invalid("a cluster has no db");
  return ParseNodeList(where, kRedisPort, "cluster seed node", endpoint);
}

// host:port[,host:port...]/master[/db]
absl::Status ParseSentinel(std::string_view where, RedisEndpoint& endpoint) {
  const auto slash = where.find('/');
  if (slash == std::string_view::npos) return Invalid("a sentinel URL needs /<master name>");
  if (auto sentinels = ParseNodeList(where.substr(0, slash), kSentinelPort, "sentinel", endpoint);
      !sentinels.ok()) {
    return sentinels;
  }
  std::string_view master = where.substr(slash + 1);
  if (const auto db = master.find('/'); db != std::string_view::npos) {
    if (auto parsed = ParseDb(master.substr(db + 1), endpoint); !parsed.ok()) return parsed;
    master = master.substr(0, db);
  }
  auto name = PercentDecode(master, "master name");
  if (!name.ok()) return name.status();
  if (name->empty()) return Invalid("empty master name");
  endpoint.sentinel_master = *std::move(name);
  return absl::OkStatus();
}

absl::Status ParseTlsVerify(std::string_view text, TlsVerify& verify) {
  if (text == "full") {
    verify = TlsVerify::kFull;
  } else if (text == "ca") {
    verify = TlsVerify::kCa;
  } else if (text == "none") {
    verify = TlsVerify::kNone;
  } else {
    return Invalid("tls_verify must be full, ca or none");
  }
  return absl::OkStatus();
}

// name=value[&name=value...]; appends the redacted form to redacted_url.
absl::Status ParseQuery(std::string_view query, RedisEndpoint& endpoint) {
  const bool sentinel = endpoint.kind == RedisEndpoint::Kind::kSentinel;
  char separator = '?';
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2", "a=1&": empty parts are nothing
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos) {
      return Invalid(StrCat("query parameter '", pair.substr(0, 40), "' has no value"));
    }
    const std::string_view name = pair.substr(0, equals);
    const std::string_view shown = name.substr(0, 40);  // messages stay short
    auto value = PercentDecode(pair.substr(equals + 1), StrCat("value of ", shown));
    if (!value.ok()) return value.status();
    const bool is_tls = name.starts_with("tls_");
    const bool is_sentinel = name.starts_with("sentinel_");
    if (is_tls && !endpoint.tls) {
      return Invalid(
          StrCat(shown, " is for TLS URLs (rediss://, rediss-cluster://, rediss-sentinel://)"));
    }
    if (is_sentinel && !sentinel) {
      return Invalid(
          StrCat(shown, " is for sentinel URLs (redis-sentinel://, rediss-sentinel://)"));
    }
    TlsOptions& tls = endpoint.tls_options;
    if (name == "tls_ca") {
      tls.ca_file = *std::move(value);
    } else if (name == "tls_cert") {
      tls.cert_file = *std::move(value);
    } else if (name == "tls_key") {
      tls.key_file = *std::move(value);
    } else if (name == "tls_sni") {
      tls.sni = *std::move(value);
    } else if (name == "tls_verify") {
      if (auto verify = ParseTlsVerify(*value, tls.verify); !verify.ok()) return verify;
    } else if (name == "sentinel_user") {
      endpoint.sentinel_user = *std::move(value);
    } else if (name == "sentinel_password") {
      if (value->empty()) return Invalid("empty sentinel_password");
      endpoint.sentinel_password = *std::move(value);
    } else {
      return Invalid(StrCat("unknown query parameter '", shown, "'"));
    }
    endpoint.redacted_url.push_back(separator);
    endpoint.redacted_url.append(name == "sentinel_password" ? "sentinel_password=***" : pair);
    separator = '&';
  }
  return absl::OkStatus();
}

struct Scheme {
  std::string_view prefix;
  RedisEndpoint::Kind kind;
  bool tls;
};
constexpr Scheme kSchemes[] = {
    {"redis://", RedisEndpoint::Kind::kStandalone, false},
    {"rediss://", RedisEndpoint::Kind::kStandalone, true},
    {"redis-cluster://", RedisEndpoint::Kind::kCluster, false},
    {"rediss-cluster://", RedisEndpoint::Kind::kCluster, true},
    {"redis-sentinel://", RedisEndpoint::Kind::kSentinel, false},
    {"rediss-sentinel://", RedisEndpoint::Kind::kSentinel, true},
};

}  // namespace

std::string HostPort::Address() const {
  if (host.find(':') != std::string::npos) return StrCat("[", host, "]:", port);
  return StrCat(host, ":", port);
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(std::string_view url, const TlsOptions& tls) {
  constexpr std::string_view kMemory = "memory://";
  if (url.starts_with(kMemory)) {
    RedisEndpoint endpoint;
    endpoint.kind = RedisEndpoint::Kind::kMemory;
    endpoint.memory_name = std::string(url.substr(kMemory.size()));
    endpoint.redacted_url = std::string(url);
    return endpoint;
  }
  for (const Scheme& scheme : kSchemes) {
    if (!url.starts_with(scheme.prefix)) continue;
    RedisEndpoint endpoint;
    endpoint.kind = scheme.kind;
    endpoint.tls = scheme.tls;
    endpoint.tls_options = tls;
    endpoint.redacted_url = std::string(scheme.prefix);
    std::string_view rest = url.substr(scheme.prefix.size());
    // The query starts at the first '?' after the credentials (a '?' in a
    // password is found; one in a query value must be percent-encoded).
    const auto at = rest.rfind('@');
    const auto question = rest.find('?', at == std::string_view::npos ? 0 : at);
    const std::string_view query =
        question == std::string_view::npos ? std::string_view() : rest.substr(question + 1);
    auto where = ParseUserinfo(rest.substr(0, question), endpoint);
    if (!where.ok()) return where.status();
    absl::Status parsed;
    switch (scheme.kind) {
      case RedisEndpoint::Kind::kCluster:
        parsed = ParseCluster(*where, endpoint);
        break;
      case RedisEndpoint::Kind::kSentinel:
        parsed = ParseSentinel(*where, endpoint);
        break;
      default:
        parsed = ParseStandalone(*where, endpoint);
    }
    if (!parsed.ok()) return parsed;
    if (auto query_parsed = ParseQuery(query, endpoint); !query_parsed.ok()) return query_parsed;
    return endpoint;
  }
  return Invalid("unknown scheme");
}

}  // namespace sfroute::internal

namespace sfroute {

std::string RedactedUrl(std::string_view redis_url) {
  auto endpoint = internal::ParseRedisUrl(redis_url);
  if (!endpoint.ok()) return "(an invalid redis_url, not shown)";
  return std::move(endpoint->redacted_url);
}

}  // namespace sfroute
