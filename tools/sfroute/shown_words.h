// Command-line words quoted back in usage errors, with URL passwords hidden.
//
// CLI11 and the CLI's own option checks quote what was typed ("got ...",
// "The following argument was not expected: ..."), and a URL typed in the
// wrong place carries its password there. The words are known exactly (they
// are argv), so each one that may hold a URL password is replaced by what
// the library's URL parser (sfroute::RedactedUrl) shows of it. No text is
// scanned for something that looks like a URL.
#ifndef SFROUTE_TOOLS_SFROUTE_SHOWN_WORDS_H_
#define SFROUTE_TOOLS_SFROUTE_SHOWN_WORDS_H_

#include <string>
#include <string_view>
#include <vector>

namespace sfroute::cli {

// How `word` may be shown in a message:
//  - a word without '@' as it is (the URL syntax puts a password only
//    before an '@');
//  - "--name=value" as "--name=" and what is shown of the value;
//  - a word with "://" as RedactedUrl shows it: the password as "***", or
//    nothing of it when the parser refuses the URL;
//  - any other word with '@' read as the seed list of --cluster
//    ("[[user]:password@]host:port,..."), the same way.
std::string ShownWord(std::string_view word);

// `message` with every occurrence of a word of `words` that ShownWord
// changes replaced by what ShownWord shows (longest words first).
std::string HidePasswordsOf(const std::vector<std::string>& words, std::string_view message);

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_SHOWN_WORDS_H_
