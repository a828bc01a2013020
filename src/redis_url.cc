#include "redis_url.h"

#include <charconv>

#include "str_cat.h"

namespace sfroute::internal {
namespace {

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(StrCat(
      "invalid redis_url: ", what,
      " (expected redis://[[user]:password@]host[:port][/db])"));
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
    if (i + 2 >= text.size()) return Invalid(StrCat("bad percent-encoding in the ", part));
    const int high = HexValue(text[i + 1]);
    const int low = HexValue(text[i + 2]);
    if (high < 0 || low < 0) return Invalid(StrCat("bad percent-encoding in the ", part));
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

bool ParseNumber(std::string_view text, int max, int* out) {
  if (text.empty()) return false;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && *out >= 0 && *out <= max;
}

}  // namespace

std::string RedisEndpoint::Address() const {
  if (host.find(':') != std::string::npos) return StrCat("[", host, "]:", port);
  return StrCat(host, ":", port);
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) return Invalid("scheme must be redis://");
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint endpoint;

  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) return Invalid("credentials must be [user]:password@");
    auto user = PercentDecode(userinfo.substr(0, colon), "user");
    if (!user.ok()) return user.status();
    auto password = PercentDecode(userinfo.substr(colon + 1), "password");
    if (!password.ok()) return password.status();
    if (password->empty()) return Invalid("empty password");
    endpoint.user = *std::move(user);
    endpoint.password = *std::move(password);
  }

  std::string_view host_port = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    host_port = rest.substr(0, slash);
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !ParseNumber(db, 1 << 20, &endpoint.db)) {
      return Invalid("db must be a number");
    }
  }

  std::string_view port_text;
  if (!host_port.empty() && host_port.front() == '[') {  // [IPv6]:port
    const auto close = host_port.find(']');
    if (close == std::string_view::npos) return Invalid("unclosed '[' in host");
    endpoint.host = std::string(host_port.substr(1, close - 1));
    const std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Invalid("expected ':' after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return Invalid("empty port");
    }
  } else if (const auto colon = host_port.rfind(':'); colon != std::string_view::npos) {
    endpoint.host = std::string(host_port.substr(0, colon));
    port_text = host_port.substr(colon + 1);
    if (port_text.empty()) return Invalid("empty port");
  } else if (!host_port.empty()) {
    endpoint.host = std::string(host_port);
  }
  if (endpoint.host.empty()) endpoint.host = "127.0.0.1";
  if (!port_text.empty() &&
      (!ParseNumber(port_text, 65535, &endpoint.port) || endpoint.port == 0)) {
    return Invalid("port must be 1-65535");
  }
  return endpoint;
}

}  // namespace sfroute::internal
