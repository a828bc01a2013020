#include "redis_url.h"

#include <charconv>

#include "sfroute/options.h"
#include "str_cat.h"

namespace sfroute::internal {
namespace {

constexpr std::string_view kForms =
    " (expected redis://[[user]:password@]host[:port][/db], "
    "redis-cluster://[[user]:password@]host:port[,host:port...] or memory://[name])";

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
absl::StatusOr<HostPort> ParseHostPort(std::string_view text) {
  HostPort node;
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

absl::StatusOr<RedisEndpoint> ParseStandalone(std::string_view rest) {
  RedisEndpoint endpoint;
  endpoint.redacted_url = "redis://";
  auto host_port = ParseUserinfo(rest, endpoint);
  if (!host_port.ok()) return host_port.status();
  if (const auto slash = host_port->find('/'); slash != std::string_view::npos) {
    const std::string_view db = host_port->substr(slash + 1);
    if (!db.empty() && !ParseNumber(db, 1 << 20, &endpoint.db)) {
      return Invalid("db must be a number");
    }
    *host_port = host_port->substr(0, slash);
  }
  auto node = ParseHostPort(*host_port);
  if (!node.ok()) return node.status();
  endpoint.nodes = {*std::move(node)};
  return endpoint;
}

absl::StatusOr<RedisEndpoint> ParseCluster(std::string_view rest) {
  RedisEndpoint endpoint;
  endpoint.kind = RedisEndpoint::Kind::kCluster;
  endpoint.redacted_url = "redis-cluster://";
  auto seeds = ParseUserinfo(rest, endpoint);
  if (!seeds.ok()) return seeds.status();
  if (seeds->find('/') != std::string_view::npos) return Invalid("a cluster has no db");
  endpoint.nodes.clear();
  std::string_view list = *seeds;
  while (true) {
    const auto comma = list.find(',');
    const std::string_view seed = list.substr(0, comma);
    if (seed.empty()) return Invalid("empty cluster seed node");
    auto node = ParseHostPort(seed);
    if (!node.ok()) return node.status();
    endpoint.nodes.push_back(*std::move(node));
    if (comma == std::string_view::npos) break;
    list = list.substr(comma + 1);
  }
  return endpoint;
}

}  // namespace

std::string HostPort::Address() const {
  if (host.find(':') != std::string::npos) return StrCat("[", host, "]:", port);
  return StrCat(host, ":", port);
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kRedis = "redis://";
  constexpr std::string_view kCluster = "redis-cluster://";
  constexpr std::string_view kMemory = "memory://";
  if (url.starts_with(kRedis)) return ParseStandalone(url.substr(kRedis.size()));
  if (url.starts_with(kCluster)) return ParseCluster(url.substr(kCluster.size()));
  if (url.starts_with(kMemory)) {
    RedisEndpoint endpoint;
    endpoint.kind = RedisEndpoint::Kind::kMemory;
    endpoint.memory_name = std::string(url.substr(kMemory.size()));
    endpoint.redacted_url = std::string(url);
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
