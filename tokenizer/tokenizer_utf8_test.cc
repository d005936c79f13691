#include "tokenizer/tokenizer_utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace egmla {
namespace {

const std::string kFffd(kUtf8Replacement);

TEST(Utf8Test, DecodesCharacters) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  Utf8Unit unit = DecodeUtf8Unit(text, 0);
  EXPECT_EQ(unit.kind, Utf8Unit::Kind::kChar);
  EXPECT_EQ(unit.code_point, U'a');
  unit = DecodeUtf8Unit(text, 1);
  EXPECT_EQ(unit.length, 2u);
  EXPECT_EQ(unit.code_point, U'\u00E9');
  unit = DecodeUtf8Unit(text, 3);
  EXPECT_EQ(unit.length, 3u);
  EXPECT_EQ(unit.code_point, U'\u20AC');
  unit = DecodeUtf8Unit(text, 6);
  EXPECT_EQ(unit.length, 4u);
  EXPECT_EQ(unit.code_point, U'\U0001F600');
}

TEST(Utf8Test, FirstInvalidOffset) {
  EXPECT_FALSE(FirstInvalidUtf8Offset(""));
  EXPECT_FALSE(FirstInvalidUtf8Offset("plain ascii"));
  EXPECT_FALSE(FirstInvalidUtf8Offset("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8Offset("ab\xFF"), 2u);
  EXPECT_EQ(FirstInvalidUtf8Offset("a\xC0\x80"), 1u);         // overlong NUL
  EXPECT_EQ(FirstInvalidUtf8Offset("xy\xED\xA0\x80"), 2u);    // a surrogate
  EXPECT_EQ(FirstInvalidUtf8Offset("\xF4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8Offset("ok\xE2\x82"), 2u);        // truncated at the end
  EXPECT_EQ(FirstInvalidUtf8Offset("\xC3\xA9\x80"), 2u);      // stray continuation
  EXPECT_TRUE(IsValidUtf8("\xE6\x97\xA5\xE6\x9C\xAC"));
}

TEST(Utf8Test, IncompleteSuffix) {
  EXPECT_EQ(IncompleteUtf8SuffixLength(""), 0u);
  EXPECT_EQ(IncompleteUtf8SuffixLength("abc"), 0u);
  EXPECT_EQ(IncompleteUtf8SuffixLength("a\xF0"), 1u);
  EXPECT_EQ(IncompleteUtf8SuffixLength("a\xF0\x9F"), 2u);
  EXPECT_EQ(IncompleteUtf8SuffixLength("a\xF0\x9F\x98"), 3u);
  EXPECT_EQ(IncompleteUtf8SuffixLength("a\xF0\x9F\x98\x80"), 0u);  // complete
  EXPECT_EQ(IncompleteUtf8SuffixLength("a\xE2\x82"), 2u);
  EXPECT_EQ(IncompleteUtf8SuffixLength("\xC3"), 1u);
  EXPECT_EQ(IncompleteUtf8SuffixLength("a\x80"), 0u);      // never completes
  EXPECT_EQ(IncompleteUtf8SuffixLength("a\xE0\x80"), 0u);  // E0 80 is ill-formed already
  EXPECT_EQ(IncompleteUtf8SuffixLength("a\xFF"), 0u);
}

TEST(Utf8Test, ReplacesMaximalSubparts) {
  EXPECT_EQ(ToValidUtf8("fine \xC3\xA9"), "fine \xC3\xA9");
  EXPECT_EQ(ToValidUtf8("a\xF0\x9F\x98"
                        "b"),
            "a" + kFffd + "b");  // one per maximal subpart
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), kFffd + kFffd);
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);
  EXPECT_EQ(ToValidUtf8("x\xE2\x82"), "x" + kFffd);
  EXPECT_EQ(ToValidUtf8("\xFF\xFE"), kFffd + kFffd);
}

TEST(Utf8Test, AppendEncodes) {
  std::string out;
  for (char32_t c : {U'A', U'\u00E9', U'\u20AC', U'\U0001F600'}) AppendUtf8(c, &out);
  EXPECT_EQ(out, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

}  // namespace
}  // namespace egmla
