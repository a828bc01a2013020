// What the fuzz targets share: a CHECK that reports the broken invariant and
// aborts (libFuzzer then saves the input as a crash), and Reply helpers.
#ifndef SFROUTE_TESTS_FUZZ_FUZZ_CHECK_H_
#define SFROUTE_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "reply.h"

namespace sfroute::fuzz {

// Printable form of arbitrary bytes for the failure message: at most
// `limit` bytes, non-printable ones as \xNN.
inline std::string Escape(std::string_view bytes, std::size_t limit = 200) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  if (bytes.size() > limit) out += "...";
  return out;
}

[[noreturn]] inline void Fail(const char* file, int line, const char* condition,
                              const std::string& detail) {
  std::fprintf(stderr, "\n%s:%d: invariant broken: %s\n  %s\n", file, line, condition,
               detail.c_str());
  std::abort();
}

// A one-line description of a reply, for failure messages.
inline std::string Describe(const internal::Reply& reply) {
  using Type = internal::Reply::Type;
  switch (reply.type) {
    case Type::kNil:
      return "(nil)";
    case Type::kInteger:
      return "(integer) " + std::to_string(reply.integer);
    case Type::kString:
      return "\"" + Escape(reply.str) + "\"";
    case Type::kStatus:
      return "+" + Escape(reply.str);
    case Type::kError:
      return "-" + Escape(reply.str);
    case Type::kArray: {
      std::string out = "[";
      for (const internal::Reply& element : reply.elements) {
        if (out.size() > 1) out += ", ";
        out += Describe(element);
        if (out.size() > 400) return out + ", ...]";
      }
      return out + "]";
    }
  }
  return "(a reply of an unknown type " + std::to_string(static_cast<int>(reply.type)) + ")";
}

inline bool SameReply(const internal::Reply& a, const internal::Reply& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case internal::Reply::Type::kNil:
      return true;
    case internal::Reply::Type::kInteger:
      return a.integer == b.integer;
    case internal::Reply::Type::kString:
    case internal::Reply::Type::kStatus:
    case internal::Reply::Type::kError:
      return a.str == b.str;
    case internal::Reply::Type::kArray:
      if (a.elements.size() != b.elements.size()) return false;
      for (std::size_t i = 0; i < a.elements.size(); ++i) {
        if (!SameReply(a.elements[i], b.elements[i])) return false;
      }
      return true;
  }
  return false;
}

// The RESP2 bytes a server would send for `reply`. Only meaningful for a
// well-formed reply (no CR or LF in a status or an error).
inline void AppendResp(const internal::Reply& reply, std::string& out) {
  using Type = internal::Reply::Type;
  switch (reply.type) {
    case Type::kNil:
      out += "$-1\r\n";
      return;
    case Type::kInteger:
      out += ":" + std::to_string(reply.integer) + "\r\n";
      return;
    case Type::kString:
      out += "$" + std::to_string(reply.str.size()) + "\r\n";
      out += reply.str;
      out += "\r\n";
      return;
    case Type::kStatus:
      out += "+" + reply.str + "\r\n";
      return;
    case Type::kError:
      out += "-" + reply.str + "\r\n";
      return;
    case Type::kArray:
      out += "*" + std::to_string(reply.elements.size()) + "\r\n";
      for (const internal::Reply& element : reply.elements) AppendResp(element, out);
      return;
  }
}

}  // namespace sfroute::fuzz

#define FUZZ_CHECK(condition, detail)                                                \
  do {                                                                               \
    if (!(condition)) ::sfroute::fuzz::Fail(__FILE__, __LINE__, #condition, detail); \
  } while (false)

#endif  // SFROUTE_TESTS_FUZZ_FUZZ_CHECK_H_
