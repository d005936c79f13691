// tests/data/tokenizers/tiny_sp.model (make_tiny_sp.sh): a 600-piece BPE model with byte
// fallback, identity normalization and whitespace kept. tiny_sp_expected.json holds the ids
// `spm_encode --output_format=id` gives.
#include "tokenizer/sentencepiece_tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer_utf8.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;

const std::string kDataDir = EGMLA_TOKENIZER_TEST_DATA;
const std::string kModel = kDataDir + "/tiny_sp.model";

std::unique_ptr<Tokenizer> LoadTiny() {
  auto tokenizer = LoadTokenizer(kModel);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

TEST(SentencePieceTokenizerTest, MatchesSpmEncode) {
  auto tokenizer = LoadTiny();
  ASSERT_NE(tokenizer, nullptr);
  std::ifstream in(kDataDir + "/tiny_sp_expected.json");
  std::stringstream contents;
  contents << in.rdbuf();
  const nlohmann::json cases = nlohmann::json::parse(contents.str(), nullptr, false);
  ASSERT_TRUE(cases.is_array());
  ASSERT_GE(cases.size(), 5u);
  for (const auto& c : cases) {
    const std::string text = c["text"].get<std::string>();
    const std::vector<int32_t> expected = c["ids"].get<std::vector<int32_t>>();
    auto ids = tokenizer->Encode(text);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, expected) << text;
    auto decoded = tokenizer->Decode(*ids);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, text);
    // Streaming bytes: the text with the dummy-prefix space kept.
    std::string bytes;
    for (int32_t id : *ids) bytes.append(tokenizer->TokenBytes(id));
    EXPECT_EQ(bytes, " " + text);
  }
}

TEST(SentencePieceTokenizerTest, Vocabulary) {
  auto tokenizer = LoadTiny();
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->vocab_size(), 600);
  EXPECT_EQ(tokenizer->TokenId("<unk>"), 0);
  EXPECT_EQ(tokenizer->TokenId("<s>"), 1);
  EXPECT_EQ(tokenizer->TokenId("</s>"), 2);
  EXPECT_EQ(tokenizer->TokenId("\xE2\x96\x81The"), 482);  // "▁The"
  EXPECT_EQ(tokenizer->TokenId("no such piece"), std::nullopt);
  EXPECT_TRUE(tokenizer->IsSpecialToken(0));
  EXPECT_TRUE(tokenizer->IsSpecialToken(1));
  EXPECT_TRUE(tokenizer->IsSpecialToken(2));
  EXPECT_FALSE(tokenizer->IsSpecialToken(482));
  EXPECT_EQ(tokenizer->TokenBytes(1), "");
  EXPECT_EQ(tokenizer->TokenBytes(482), " The");
  const std::optional<int32_t> tab = tokenizer->TokenId("<0x09>");
  ASSERT_TRUE(tab.has_value());
  EXPECT_EQ(tokenizer->TokenBytes(*tab), "\t");
  EXPECT_EQ(tokenizer->TokenBytes(600), "");
  EXPECT_EQ(tokenizer->TokenBytes(-3), "");
}

TEST(SentencePieceTokenizerTest, Errors) {
  auto tokenizer = LoadTiny();
  ASSERT_NE(tokenizer, nullptr);
  auto ids = tokenizer->Encode("ok\xC3");
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ids.status().message(), HasSubstr("byte offset 2"));
  auto text = tokenizer->Decode({5, 600});
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("600"));
  // A lone byte piece of a multi-byte character decodes to U+FFFD, as spm_decode does.
  auto emoji = tokenizer->Encode("\xF0\x9F\x98\x80");
  ASSERT_TRUE(emoji.ok());
  ASSERT_GE(emoji->size(), 3u);
  auto partial = tokenizer->Decode({emoji->data(), 2});
  ASSERT_TRUE(partial.ok());
  EXPECT_TRUE(IsValidUtf8(*partial));
  EXPECT_THAT(*partial, HasSubstr(std::string(kUtf8Replacement)));
}

TEST(SentencePieceTokenizerTest, LoadsByContentAndRefusesGarbage) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("egmla_sp_", getpid());
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kModel, dir / "spm");  // no extension: sniffed as not JSON
  auto sniffed = LoadTokenizer((dir / "spm").string());
  ASSERT_TRUE(sniffed.ok()) << sniffed.status();
  EXPECT_EQ((*sniffed)->vocab_size(), 600);
  {
    std::ofstream garbage(dir / "bad.model");
    garbage << "this is not a protobuf";
  }
  auto bad = LoadTokenizer((dir / "bad.model").string());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("bad.model"));
  std::filesystem::remove_all(dir);
}

TEST(SentencePieceTokenizerTest, StreamsByteFallbackCharactersWhole) {
  auto tokenizer = LoadTiny();
  ASSERT_NE(tokenizer, nullptr);
  const std::string text = "caf\xC3\xA9 \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD ok";  // café 👍🏽 ok
  auto ids = tokenizer->Encode(text);
  ASSERT_TRUE(ids.ok());
  StreamingDetokenizer detokenizer(*tokenizer);
  std::string streamed;
  int held_steps = 0;
  for (int32_t id : *ids) {
    const std::string piece = detokenizer.Add(id);
    EXPECT_TRUE(IsValidUtf8(piece));
    if (detokenizer.num_held_bytes() > 0) ++held_steps;
    streamed += piece;
  }
  streamed += detokenizer.Finish();
  EXPECT_EQ(streamed, " " + text);
  EXPECT_GE(held_steps, 6);  // é: 1 held step, each 4-byte emoji: 3
}

}  // namespace
}  // namespace egmla
