#include "tokenizer/bpe_pretokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace egmla {
namespace {

using ::testing::ElementsAre;
using Json = nlohmann::json;

std::vector<std::string> Words(const Json& json, std::string_view text) {
  auto pre = BpePreTokenizer::FromJson(json);
  EXPECT_TRUE(pre.ok()) << pre.status();
  std::vector<std::string> words;
  if (pre.ok()) {
    EXPECT_TRUE(pre->Split(text, &words).ok());
  }
  return words;
}

Json Split(const Json& pattern, const std::string& behavior, bool invert = false) {
  return {{"type", "Split"}, {"pattern", pattern}, {"behavior", behavior}, {"invert", invert}};
}

TEST(BpePreTokenizerTest, Gpt2Pattern) {
  const Json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}};
  EXPECT_THAT(Words(byte_level, "Hello world, it's 2024!!  \n\tok"),
              ElementsAre("Hello", " world", ",", " it", "'s", " 2024", "!!", "  \n", "\t", "ok"));
  EXPECT_THAT(Words(byte_level, "I'LL   go"), ElementsAre("I", "'", "LL", "  ", " go"));
  EXPECT_THAT(Words(byte_level, "trailing   "), ElementsAre("trailing", "   "));
  EXPECT_THAT(Words(byte_level, "日本語 テキスト😀"), ElementsAre("日本語", " テキスト", "😀"));
  const Json prefixed = {{"type", "ByteLevel"}, {"add_prefix_space", true}};
  EXPECT_THAT(Words(prefixed, "Hi there"), ElementsAre(" Hi", " there"));
  EXPECT_THAT(Words(prefixed, " Hi"), ElementsAre(" Hi"));
  const Json no_regex = {{"type", "ByteLevel"}, {"use_regex", false}};
  EXPECT_THAT(Words(no_regex, "a b  c"), ElementsAre("a b  c"));
  EXPECT_THAT(Words(nullptr, "a b"), ElementsAre("a b"));
}

TEST(BpePreTokenizerTest, SplitBehaviors) {
  const Json dash = {{"String", "-"}};
  EXPECT_THAT(Words(Split(dash, "Removed"), "a-b--c-"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Words(Split(dash, "Isolated"), "a-b--c"), ElementsAre("a", "-", "b", "-", "-", "c"));
  EXPECT_THAT(Words(Split(dash, "MergedWithPrevious"), "a-b--c"),
              ElementsAre("a-", "b-", "-", "c"));
  EXPECT_THAT(Words(Split(dash, "MergedWithNext"), "a-b--c"), ElementsAre("a", "-b", "-", "-c"));
  EXPECT_THAT(Words(Split(dash, "Contiguous"), "a-b--c"), ElementsAre("a", "-", "b", "--", "c"));
  EXPECT_THAT(Words(Split({{"Regex", "\\s+"}}, "Removed", /*invert=*/true), "ab  cd e"),
              ElementsAre("  ", " "));
  EXPECT_THAT(Words(Split({{"String", "."}}, "Isolated"), "a.b"), ElementsAre("a", ".", "b"));
}

TEST(BpePreTokenizerTest, Digits) {
  EXPECT_THAT(Words({{"type", "Digits"}, {"individual_digits", true}}, "ab123c"),
              ElementsAre("ab", "1", "2", "3", "c"));
  EXPECT_THAT(Words({{"type", "Digits"}, {"individual_digits", false}}, "ab123c4"),
              ElementsAre("ab", "123", "c", "4"));
}

TEST(BpePreTokenizerTest, Llama3StyleSequence) {
  const Json llama3 = {
      {"type", "Sequence"},
      {"pretokenizers",
       {Split({{"Regex",
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
              "Isolated"),
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  auto pre = BpePreTokenizer::FromJson(llama3);
  ASSERT_TRUE(pre.ok()) << pre.status();
  EXPECT_TRUE(pre->has_byte_level());
  EXPECT_THAT(Words(llama3, "I'M 1234567 hello\n\nworld"),
              ElementsAre("I", "'M", " ", "123", "456", "7", " hello", "\n\n", "world"));
}

// DeepSeek-V3's pre-tokenizer shape: digits in threes, CJK runs, then a GPT-4-like pattern with
// \p{M}, \p{P}, \p{S}. PCRE2 must take all of it; the words must cover the text exactly.
TEST(BpePreTokenizerTest, DeepSeekStyleSequence) {
  const Json deepseek = {
      {"type", "Sequence"},
      {"pretokenizers",
       {Split({{"Regex", "\\p{N}{1,3}"}}, "Isolated"),
        Split({{"Regex", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"}}, "Isolated"),
        Split({{"Regex",
                "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}"
                "\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}},
              "Isolated"),
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  const std::string text = "Hello 世界! 1234567 .NET naïve\n\n  x 😀";
  const std::vector<std::string> words = Words(deepseek, text);
  std::string joined;
  for (const std::string& word : words) joined += word;
  EXPECT_EQ(joined, text);
  EXPECT_THAT(words, ::testing::ElementsAre("Hello", " ", "世界", "!", " ", "123", "456", "7", " .",
                                            "NET", " naïve", "\n\n", " ", " x", " 😀"));
}

TEST(BpePreTokenizerTest, Errors) {
  EXPECT_EQ(BpePreTokenizer::FromJson({{"type", "Whitespace"}}).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(BpePreTokenizer::FromJson(Split({{"String", "x"}}, "Sideways")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BpePreTokenizer::FromJson(Split({{"Regex", "[a-"}}, "Isolated")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BpePreTokenizer::FromJson({{"type", 7}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BpePreTokenizer::FromJson({{"type", "Sequence"}, {"pretokenizers", 3}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BpeRegexTest, EmptyMatchesAdvance) {
  auto regex = BpeRegex::Compile("x*");
  ASSERT_TRUE(regex.ok());
  std::vector<std::pair<size_t, size_t>> matches;
  ASSERT_TRUE((*regex)->FindAll("axx\xC3\xA9x", &matches).ok());
  EXPECT_THAT(matches,
              ElementsAre(std::pair<size_t, size_t>{1, 3}, std::pair<size_t, size_t>{5, 6}));
  EXPECT_TRUE((*regex)->FullMatch("xxx"));
  EXPECT_FALSE((*regex)->FullMatch("xxa"));
}

}  // namespace
}  // namespace egmla
