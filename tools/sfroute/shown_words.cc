#include "shown_words.h"

#include <algorithm>
#include <utility>

#include "sfroute/options.h"

namespace sfroute::cli {

std::string ShownWord(std::string_view word) {
  if (word.find('@') == std::string_view::npos) return std::string(word);
  if (word.starts_with("--")) {
    if (const auto equals = word.find('='); equals != std::string_view::npos) {
      return std::string(word.substr(0, equals + 1)) + ShownWord(word.substr(equals + 1));
    }
  }
  if (word.find("://") != std::string_view::npos) return RedactedUrl(word);
  constexpr std::string_view kCluster = "redis-cluster://";
  std::string shown = RedactedUrl(std::string(kCluster) + std::string(word));
  if (shown.starts_with(kCluster)) shown.erase(0, kCluster.size());
  return shown;
}

std::string HidePasswordsOf(const std::vector<std::string>& words, std::string_view message) {
  // (word as typed, as shown), for the words that hold something to hide.
  std::vector<std::pair<std::string, std::string>> hidden;
  auto add = [&hidden](std::string_view word) {
    std::string shown = ShownWord(word);
    if (!word.empty() && shown != word) hidden.emplace_back(std::string(word), std::move(shown));
  };
  for (const std::string& word : words) {
    add(word);
    // CLI11 may quote the value of "--name=value" alone.
    if (const auto equals = word.find('='); word.starts_with("--") && equals != std::string::npos) {
      add(std::string_view(word).substr(equals + 1));
    }
  }
  if (hidden.empty()) return std::string(message);
  std::stable_sort(hidden.begin(), hidden.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  std::string out;
  std::size_t i = 0;
  while (i < message.size()) {
    const auto match = std::find_if(hidden.begin(), hidden.end(), [&](const auto& entry) {
      return message.substr(i).starts_with(entry.first);
    });
    if (match == hidden.end()) {
      out += message[i++];
    } else {
      out += match->second;
      i += match->first.size();
    }
  }
  return out;
}

}  // namespace sfroute::cli
