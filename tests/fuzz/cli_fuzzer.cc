// Fuzz target: the CLI's argument handling, sfroute::cli::Run (cli.h), in
// the process, always on an in-memory store (no network).
//
// The input is up to 4 command lines separated by an empty line; each line
// of a command line is one word (argument). Every command line runs as
//   sfroute --redis memory://fuzz-cli <words...>
// with the words that would leave the process or run for long taken out:
// --redis, --cluster, --audit-log and --metrics-* (and their values), demo
// and bench. The command lines of one input share one store (an executor
// held open on it), so a `link get` can read what a `link set` wrote.
// Checked, for every command line:
//  - Run returns (no crash, no exception, no exit()), with 0, 1, 2, 3 or 4,
//    and not 3 or 4 (memory:// is never unavailable and has no ACL);
//  - exit 0 prints exactly one JSON object on stdout (or the help text for
//    --help/-h); any other exit prints nothing on stdout and exactly one
//    {"error":{"code":C,"message":M}} line on stderr, C a status code name
//    whose exit code is the one returned (INVALID_ARGUMENT 2, ...), never an
//    "unexpected exception"; other stderr lines are {"log":{...}} objects;
//    all of it valid UTF-8 JSON;
//  - an integer option (--pod, --ttl, --keep, --if-pod, --threshold,
//    --timeout-ms, the pod of --link U=N) whose value is not a canonical
//    decimal (010, -0, +1, 1e3, ...) is a usage error (exit 2), and so is a
//    word that is not valid UTF-8.
// stdout and stderr are captured (std::cout and std::cerr), never printed;
// file descriptor 1 goes to /dev/null for anything written around them.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "fuzz_check.h"
#include "nlohmann/json.hpp"
#include "sfroute/sfroute.h"

namespace sfroute::fuzz {
namespace {

constexpr char kStoreUrl[] = "memory://fuzz-cli";
constexpr std::size_t kMaxCommandLines = 4;
constexpr std::size_t kMaxWords = 40;

// Options that take a value and would leave the process (a server, a
// file, a port); their value is dropped with them.
bool IsForbiddenOption(std::string_view word) {
  for (std::string_view option :
       {"--redis", "--cluster", "--audit-log", "--metrics-file", "--metrics-port"}) {
    if (word == option ||
        (word.starts_with(option) && word.size() > option.size() && word[option.size()] == '=')) {
      return true;
    }
  }
  return word.starts_with("--metrics");
}

bool IsIntegerOption(std::string_view word) {
  for (std::string_view option :
       {"--pod", "--ttl", "--keep", "--if-pod", "--threshold", "--timeout-ms"}) {
    if (word == option) return true;
  }
  return false;
}

// "0", or an optional '-' and digits without a leading zero (docs/cli.md):
// not "-0", "010", "+1", " 1".
bool IsCanonicalIntegerWord(std::string_view text) {
  if (text == "0") return true;
  if (text.starts_with('-')) text.remove_prefix(1);
  if (text.empty() || text.front() < '1' || text.front() > '9') return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      length = 2;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      length = 3;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t j = 1; j < length; ++j) {
      const auto next = static_cast<unsigned char>(text[i + j]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid.
    if ((length == 2 && code < 0x80) || (length == 3 && code < 0x800) ||
        (length == 4 && code < 0x10000) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

// What a command line must be refused for, whatever else it says: a
// non-canonical integer option value, or a word that is not UTF-8.
bool MustBeUsageError(const std::vector<std::string>& words, std::string& why) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (!IsValidUtf8(word)) {
      why = "word " + std::to_string(i) + " is not UTF-8";
      return true;
    }
    std::string_view value;
    bool has_value = false;
    if (IsIntegerOption(word) && i + 1 < words.size()) {
      value = words[i + 1];
      has_value = true;
    } else if (const std::size_t eq = word.find('=');
               eq != std::string::npos && IsIntegerOption(word.substr(0, eq))) {
      value = std::string_view(word).substr(eq + 1);
      has_value = true;
    } else if (word == "--link" && i + 1 < words.size()) {
      const std::string& link = words[i + 1];
      const std::size_t eq = link.rfind('=');
      if (eq != std::string::npos) {
        value = std::string_view(link).substr(eq + 1);
        has_value = true;
      }
    }
    // "--pod --ttl": the next word is an option, not this one's value;
    // CLI11 reports the missing value, a usage error as well.
    if (has_value && !value.starts_with("--") && !IsCanonicalIntegerWord(value)) {
      why = "\"" + word + "\" has the non-canonical value \"" + std::string(value) + "\"";
      return true;
    }
  }
  return false;
}

// --help, or -h alone or among short flags ("-huid" is -h -u -i -d). Also
// after "--": CLI11 hands the words after a subcommand's "--" back to its
// parent, which takes -h as help.
bool AsksForHelp(const std::vector<std::string>& words) {
  for (const std::string& word : words) {
    if (word == "--help" || word.starts_with("--help=")) return true;
    if (word.size() > 1 && word[0] == '-' && word[1] != '-' &&
        word.find('h') != std::string::npos) {
      return true;
    }
  }
  return false;
}

int ExitCodeOf(std::string_view code) {
  if (code == "INVALID_ARGUMENT") return 2;
  if (code == "UNAVAILABLE" || code == "DEADLINE_EXCEEDED") return 3;
  if (code == "PERMISSION_DENIED") return 4;
  return 1;
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    lines.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// Parses one line of output as a JSON object; aborts if it is not one.
nlohmann::json ParseObject(const std::string& line, const std::string& context) {
  nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!json.is_discarded() && json.is_object(),
             context + ": not a JSON object: \"" + Escape(line) + "\"");
  return json;
}

// Runs one command line and checks its exit code and output.
void RunCommandLine(std::vector<std::string> words) {
  std::vector<std::string> argv_words = {"sfroute", "--redis", kStoreUrl};
  argv_words.insert(argv_words.end(), words.begin(), words.end());
  std::vector<char*> argv;
  for (std::string& word : argv_words) argv.push_back(word.data());
  argv.push_back(nullptr);

  std::ostringstream out, err;
  std::streambuf* const cout_buffer = std::cout.rdbuf(out.rdbuf());
  std::streambuf* const cerr_buffer = std::cerr.rdbuf(err.rdbuf());
  const int exit_code = cli::Run(static_cast<int>(argv_words.size()), argv.data());
  std::cout.rdbuf(cout_buffer);
  std::cerr.rdbuf(cerr_buffer);

  std::string command_line;
  for (const std::string& word : words) command_line += " \"" + Escape(word, 60) + "\"";
  const std::string context = "sfroute" + command_line + " -> exit " + std::to_string(exit_code) +
                              ", stdout \"" + Escape(out.str(), 300) + "\", stderr \"" +
                              Escape(err.str(), 300) + "\"";
  // SFROUTE_FUZZ_TRACE=1: every command line and what it printed.
  static const bool trace = std::getenv("SFROUTE_FUZZ_TRACE") != nullptr;
  if (trace) std::fprintf(stderr, "%s\n", context.c_str());
  FUZZ_CHECK(exit_code >= 0 && exit_code <= 2, context);

  const std::vector<std::string> stdout_lines = Lines(out.str());
  const std::vector<std::string> stderr_lines = Lines(err.str());
  std::size_t errors = 0;
  std::string error_code;
  for (const std::string& line : stderr_lines) {
    nlohmann::json json = ParseObject(line, context);
    if (json.contains("log")) continue;
    FUZZ_CHECK(json.size() == 1 && json.contains("error") && json["error"].is_object() &&
                   json["error"]["code"].is_string() && json["error"]["message"].is_string(),
               context);
    error_code = json["error"]["code"].get<std::string>();
    // What Run says when an exception escaped a command (cli.cc).
    FUZZ_CHECK(!json["error"]["message"].get<std::string>().starts_with("unexpected exception: "),
               context);
    ++errors;
  }

  if (exit_code == 0) {
    FUZZ_CHECK(errors == 0, context);
    if (AsksForHelp(words)) {
      FUZZ_CHECK(!out.str().empty(), context);
    } else {
      FUZZ_CHECK(stdout_lines.size() == 1, context);
      ParseObject(stdout_lines[0], context);
    }
  } else {
    FUZZ_CHECK(out.str().empty(), context);
    FUZZ_CHECK(errors == 1, context);
    FUZZ_CHECK(ExitCodeOf(error_code) == exit_code, context + ": code " + error_code);
  }

  std::string why;
  if (!AsksForHelp(words) && MustBeUsageError(words, why)) {
    FUZZ_CHECK(exit_code == 2, context + ": " + why);
  }
}

// The words of a command line, without those that would leave the process
// or run for long.
std::vector<std::string> AllowedWords(const std::vector<std::string>& lines) {
  std::vector<std::string> words;
  for (std::size_t i = 0; i < lines.size() && words.size() < kMaxWords; ++i) {
    // A process's arguments are C strings: a word ends at its first NUL.
    const std::string word = lines[i].substr(0, lines[i].find('\0'));
    if (IsForbiddenOption(word)) {
      if (word.find('=') == std::string::npos) ++i;  // and its value
      continue;
    }
    if (word == "demo" || word == "bench") continue;
    words.push_back(word);
  }
  return words;
}

}  // namespace
}  // namespace sfroute::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The deployment comes from the command line only; nothing is printed.
  unsetenv("SFROUTE_REDIS");
  unsetenv("SFROUTE_CLUSTER");
  const int null = open("/dev/null", O_WRONLY);
  if (null >= 0) {
    dup2(null, STDOUT_FILENO);
    close(null);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sfroute::fuzz;  // NOLINT
  // One store for the command lines of this input, dropped after it.
  auto store = sfroute::Executor::Open({.redis_url = kStoreUrl});
  FUZZ_CHECK(store.ok(), store.status().ToString());

  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  std::size_t command_lines = 0;
  for (const std::string& line : Lines(text)) {
    if (!line.empty()) {
      lines.push_back(line);
      continue;
    }
    if (!lines.empty() && command_lines++ < kMaxCommandLines) RunCommandLine(AllowedWords(lines));
    lines.clear();
  }
  if (!lines.empty() && command_lines < kMaxCommandLines) RunCommandLine(AllowedWords(lines));
  return 0;
}
