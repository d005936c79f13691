#include "tokenizer/detokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer_utf8.h"

namespace egmla {
namespace {

const std::string kFffd(kUtf8Replacement);

// A tokenizer whose tokens are given byte strings (id = index); ids >= 3 are special.
class FakeTokenizer : public Tokenizer {
 public:
  explicit FakeTokenizer(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view) const override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t>) const override {
    return absl::UnimplementedError("fake");
  }
  std::string_view TokenBytes(int32_t id) const override {
    return id >= 0 && id < vocab_size() ? std::string_view(tokens_[id]) : std::string_view();
  }
  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }
  bool IsSpecialToken(int32_t id) const override { return id >= 3; }
  std::optional<int32_t> TokenId(std::string_view) const override { return std::nullopt; }
  int64_t max_token_bytes() const override { return MaxTokenBytes(tokens_); }

 private:
  std::vector<std::string> tokens_;
};

TEST(StreamingDetokenizerTest, HoldsSplitCharacterUntilComplete) {
  // 😀 = F0 9F 98 80 split over three tokens, as byte-level BPE can do.
  FakeTokenizer tokenizer({"a \xF0\x9F", "\x98", "\x80 b", "<eos>"});
  StreamingDetokenizer detokenizer(tokenizer);
  EXPECT_EQ(detokenizer.Add(0), "a ");
  EXPECT_EQ(detokenizer.num_held_bytes(), 2u);
  EXPECT_EQ(detokenizer.Add(1), "");
  EXPECT_EQ(detokenizer.num_held_bytes(), 3u);
  EXPECT_EQ(detokenizer.Add(2), "\xF0\x9F\x98\x80 b");
  EXPECT_EQ(detokenizer.num_held_bytes(), 0u);
  EXPECT_EQ(detokenizer.Finish(), "");
}

TEST(StreamingDetokenizerTest, StoppingTokenTextIsNotEmitted) {
  FakeTokenizer tokenizer({"Hi", " there", "!", "<eos>"});
  StreamingDetokenizer detokenizer(tokenizer);
  std::string text = detokenizer.Add(0) + detokenizer.Add(1);
  // Token 3 is the stopping token: not added, its text never appears.
  text += detokenizer.Finish();
  EXPECT_EQ(text, "Hi there");
}

TEST(StreamingDetokenizerTest, BrokenBytesBecomeReplacementCharacters) {
  FakeTokenizer tokenizer({"x\xE2\x82", "y", "\xFF", "\xC3"});
  StreamingDetokenizer detokenizer(tokenizer);
  EXPECT_EQ(detokenizer.Add(0), "x");
  EXPECT_EQ(detokenizer.Add(1), kFffd + "y");  // E2 82 cut short by 'y'
  EXPECT_EQ(detokenizer.Add(2), kFffd);        // never valid: emitted at once
  EXPECT_EQ(detokenizer.Add(3), "");
  EXPECT_EQ(detokenizer.Finish(), kFffd);  // unfinished at the end
  EXPECT_EQ(detokenizer.Add(1), "y");      // a new run after Finish
}

TEST(StreamingDetokenizerTest, SkipsSpecialAndUnknownIds) {
  FakeTokenizer tokenizer({"a", "b", "c", "<|special|>"});
  StreamingDetokenizer keep(tokenizer);
  StreamingDetokenizer skip(tokenizer, {.skip_special_tokens = true});
  EXPECT_EQ(keep.Add(3), "<|special|>");
  EXPECT_EQ(skip.Add(3), "");
  EXPECT_EQ(keep.Add(99), "");  // past the vocabulary (padded embedding)
  EXPECT_EQ(keep.Add(-1), "");
}

// Streams every GPT-2 fixture text one token at a time: each step is valid UTF-8 and together
// they are the text.
TEST(StreamingDetokenizerTest, Gpt2FixtureStreamsExactly) {
  const std::string dir = EGMLA_TOKENIZER_TEST_DATA;
  auto tokenizer = LoadTokenizer(dir + "/gpt2_tokenizer.json");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::ifstream in(dir + "/gpt2_expected.json");
  std::stringstream contents;
  contents << in.rdbuf();
  const nlohmann::json cases = nlohmann::json::parse(contents.str(), nullptr, false);
  ASSERT_TRUE(cases.is_array());
  int steps_holding_bytes = 0;
  for (const auto& c : cases) {
    StreamingDetokenizer detokenizer(**tokenizer);
    std::string streamed;
    for (int32_t id : c["ids"].get<std::vector<int32_t>>()) {
      const std::string piece = detokenizer.Add(id);
      ASSERT_TRUE(IsValidUtf8(piece)) << c["text"];
      if (detokenizer.num_held_bytes() > 0) ++steps_holding_bytes;
      streamed += piece;
    }
    streamed += detokenizer.Finish();
    EXPECT_EQ(streamed, c["text"].get<std::string>());
  }
  EXPECT_GT(steps_holding_bytes, 50);  // the fixture splits many characters across tokens
}

}  // namespace
}  // namespace egmla
