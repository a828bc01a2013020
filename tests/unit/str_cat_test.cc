// StrCat and ShortText: the text they build, in place or on the heap.
#include "str_cat.h"

#include <string>

#include "gtest/gtest.h"

namespace sfroute::internal {
namespace {

TEST(StrCatTest, JoinsTextAndNumbers) {
  EXPECT_EQ(StrCat("GetLinkedPod(", std::string_view("sf:{a:lk:u1}s"), ") ", -42, " ", 7u),
            "GetLinkedPod(sf:{a:lk:u1}s) -42 7");
  EXPECT_EQ(StrCat(), "");
}

TEST(ShortTextTest, KeepsShortAndLongTextWhole) {
  const std::string at_limit(ShortText::kInline, 'x');
  const std::string over_limit(ShortText::kInline + 1, 'y');
  for (const std::string& text : {std::string(), std::string("Op(k)"), at_limit, over_limit}) {
    EXPECT_EQ(ShortText(text).view(), text);
    EXPECT_EQ(ShortText::Cat(text).view(), text);
  }
  EXPECT_EQ(ShortText::Cat("Op(", at_limit, ")").view(), "Op(" + at_limit + ")");
  EXPECT_EQ(ShortText::Cat("n=", 12345).view(), "n=12345");
}

TEST(ShortTextTest, CopiesAndMovesKeepTheText) {
  const std::string long_text(200, 'z');
  for (const std::string& text : {std::string("short"), long_text}) {
    ShortText original(text);
    ShortText copy = original;
    ShortText moved = std::move(original);
    EXPECT_EQ(copy.view(), text);
    EXPECT_EQ(moved.view(), text);
    ShortText assigned;
    assigned = copy;
    EXPECT_EQ(std::string_view(assigned), text);
  }
}

}  // namespace
}  // namespace sfroute::internal
