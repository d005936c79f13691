// Byte-level BPE pieces on small hand-made tokenizer.json files (GPT-2's own ids are checked in
// gpt2_tokenizer_test.cc).
#include "tokenizer/bpe_tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/tokenizer_utf8.h"

namespace egmla {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

// A byte-level string: each byte through GPT-2's table.
std::string ByteLevel(std::string_view bytes) {
  std::string out;
  for (char c : bytes) AppendUtf8(ByteToUnicode(static_cast<uint8_t>(c)), &out);
  return out;
}

// A tokenizer.json whose vocabulary is the 256 bytes (id = byte value) plus the results of
// `merges` (ids 256, 257, ... in order).
Json TinyTokenizer(const std::vector<std::pair<std::string, std::string>>& merges) {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b) vocab[ByteLevel(std::string(1, static_cast<char>(b)))] = b;
  Json merge_list = Json::array();
  int next_id = 256;
  for (const auto& [left, right] : merges) {
    vocab[ByteLevel(left + right)] = next_id++;
    merge_list.push_back(ByteLevel(left) + " " + ByteLevel(right));
  }
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
          {"added_tokens", Json::array()}};
}

std::unique_ptr<BpeTokenizer> Load(const Json& json) {
  auto tokenizer = BpeTokenizer::FromJson(json.dump(), "test.json");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

std::vector<int32_t> Ids(const Tokenizer& tokenizer, std::string_view text) {
  auto ids = tokenizer.Encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : std::vector<int32_t>{};
}

TEST(ByteLevelTableTest, IsGpt2s) {
  EXPECT_EQ(ByteToUnicode('A'), U'A');
  EXPECT_EQ(ByteToUnicode(' '), U'\u0120');   // 'Ġ'
  EXPECT_EQ(ByteToUnicode('\n'), U'\u010A');  // 'Ċ'
  EXPECT_EQ(ByteToUnicode(0xAD), U'\u0143');
  for (int b = 0; b < 256; ++b) EXPECT_EQ(ByteFromUnicode(ByteToUnicode(b)), b);
  EXPECT_EQ(ByteFromUnicode(U' '), -1);
  EXPECT_EQ(ByteFromUnicode(U'\u4E2D'), -1);
}

TEST(BpeTokenizerTest, MergesByRank) {
  auto tokenizer = Load(TinyTokenizer({{"l", "l"}, {"h", "e"}, {"he", "ll"}, {"hell", "o"}}));
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->vocab_size(), 260);
  EXPECT_THAT(Ids(*tokenizer, "hello"), ElementsAre(259));
  EXPECT_THAT(Ids(*tokenizer, "hell"), ElementsAre(258));
  EXPECT_THAT(Ids(*tokenizer, "help"), ElementsAre(257, 'l', 'p'));
  EXPECT_THAT(Ids(*tokenizer, "lll"), ElementsAre(256, 'l'));  // leftmost pair first
  EXPECT_THAT(Ids(*tokenizer, ""), ElementsAre());
  EXPECT_EQ(*tokenizer->Decode(Ids(*tokenizer, "hello hell")), "hello hell");
  EXPECT_EQ(tokenizer->TokenId(ByteLevel("hello")), 259);
  EXPECT_EQ(tokenizer->TokenId("nope"), std::nullopt);
}

TEST(BpeTokenizerTest, MergesAsPairs) {
  Json json = TinyTokenizer({{"a", "b"}});
  json["model"]["merges"] = Json::array({Json::array({"a", "b"})});
  auto tokenizer = Load(json);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_THAT(Ids(*tokenizer, "abab"), ElementsAre(256, 256));
}

TEST(BpeTokenizerTest, IgnoreMerges) {
  Json json = TinyTokenizer({{"a", "b"}, {"ab", "c"}});
  json["model"]["vocab"][ByteLevel("bc")] = 300;  // reachable only as a whole word
  auto plain = Load(json);
  json["model"]["ignore_merges"] = true;
  auto ignoring = Load(json);
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(ignoring, nullptr);
  EXPECT_THAT(Ids(*plain, "bc"), ElementsAre('b', 'c'));
  EXPECT_THAT(Ids(*ignoring, "bc"), ElementsAre(300));
  EXPECT_THAT(Ids(*ignoring, "abc"), ElementsAre(257));
}

TEST(BpeTokenizerTest, AddedTokensLeftmostLongestFirst) {
  Json json = TinyTokenizer({});
  json["added_tokens"] =
      Json::array({{{"id", 300}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
                   {{"id", 301}, {"content", "<s><s>"}, {"special", true}, {"normalized", false}},
                   {{"id", 302}, {"content", "s>x"}, {"special", false}, {"normalized", true}}});
  auto tokenizer = Load(json);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->vocab_size(), 303);
  EXPECT_THAT(Ids(*tokenizer, "a<s><s><s>b"), ElementsAre('a', 301, 300, 'b'));
  // The normalized=false pass runs first, so "<s>" wins over the overlapping "s>x".
  EXPECT_THAT(Ids(*tokenizer, "<s>x"), ElementsAre(300, 'x'));
  EXPECT_THAT(Ids(*tokenizer, "as>x"), ElementsAre('a', 302));
  EXPECT_TRUE(tokenizer->IsSpecialToken(300));
  EXPECT_FALSE(tokenizer->IsSpecialToken(302));
  EXPECT_FALSE(tokenizer->IsSpecialToken('a'));
  EXPECT_FALSE(tokenizer->IsSpecialToken(5000));
  EXPECT_EQ(tokenizer->TokenBytes(301), "<s><s>");
  EXPECT_EQ(tokenizer->TokenId("<s>"), 300);
  EXPECT_EQ(*tokenizer->Decode({'a', 300, 'b'}), "a<s>b");
}

TEST(BpeTokenizerTest, AddedTokenStripAndSingleWord) {
  Json json = TinyTokenizer({});
  json["added_tokens"] = Json::array(
      {{{"id", 300}, {"content", "<mask>"}, {"lstrip", true}, {"special", true}},
       {{"id", 301}, {"content", "<eot>"}, {"rstrip", true}, {"special", true}},
       {{"id", 302}, {"content", "cat"}, {"single_word", true}, {"normalized", false}}});
  auto tokenizer = Load(json);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_THAT(Ids(*tokenizer, "a  <mask>"), ElementsAre('a', 300));
  EXPECT_THAT(Ids(*tokenizer, "<eot> \n b"), ElementsAre(301, 'b'));
  EXPECT_THAT(Ids(*tokenizer, "a cat!"), ElementsAre('a', ' ', 302, '!'));
  EXPECT_THAT(Ids(*tokenizer, "cats"), ElementsAre('c', 'a', 't', 's'));
  EXPECT_THAT(Ids(*tokenizer, "bobcat"), ElementsAre('b', 'o', 'b', 'c', 'a', 't'));
}

TEST(BpeTokenizerTest, UnknownBytes) {
  Json json = TinyTokenizer({});
  json["model"]["vocab"].erase(ByteLevel("z"));
  json["model"]["vocab"]["<unk>"] = 400;
  auto dropping = Load(json);
  json["model"]["unk_token"] = "<unk>";
  json["model"]["fuse_unk"] = true;
  auto fusing = Load(json);
  ASSERT_NE(dropping, nullptr);
  ASSERT_NE(fusing, nullptr);
  EXPECT_THAT(Ids(*dropping, "azzb"), ElementsAre('a', 'b'));
  EXPECT_THAT(Ids(*fusing, "azzb"), ElementsAre('a', 400, 'b'));
  EXPECT_EQ(fusing->TokenBytes('z'), "");
}

TEST(BpeTokenizerTest, RejectsInvalidUtf8WithOffset) {
  auto tokenizer = Load(TinyTokenizer({}));
  ASSERT_NE(tokenizer, nullptr);
  auto ids = tokenizer->Encode("abc\xC3(");
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ids.status().message(), HasSubstr("byte offset 3"));
  auto text = tokenizer->Decode({1, 256});
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("token id 256 at index 1"));
  EXPECT_EQ(tokenizer->TokenBytes(-1), "");
  EXPECT_EQ(tokenizer->TokenBytes(1 << 20), "");
}

TEST(BpeTokenizerTest, DecodeReplacesBrokenCharacters) {
  auto tokenizer = Load(TinyTokenizer({}));
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(*tokenizer->Decode({0xE2, 0x82, 0xAC}), "\xE2\x82\xAC");
  EXPECT_EQ(*tokenizer->Decode({'a', 0xE2, 0x82}), "a\xEF\xBF\xBD");
  EXPECT_EQ(tokenizer->TokenBytes(0xE2), "\xE2");
}

TEST(BpeTokenizerTest, LongWordIsFast) {
  auto tokenizer = Load(TinyTokenizer({{"a", "a"}, {"aa", "aa"}, {"aaaa", "aaaa"}}));
  ASSERT_NE(tokenizer, nullptr);
  const std::string text(200000, 'a');  // one pre-tokenizer word
  std::vector<int32_t> ids = Ids(*tokenizer, text);
  EXPECT_EQ(ids.size(), text.size() / 8);
  EXPECT_EQ(*tokenizer->Decode(ids), text);
}

void ExpectError(const Json& json, absl::StatusCode code, std::string_view message) {
  auto tokenizer = BpeTokenizer::FromJson(json.dump(), "bad.json");
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_EQ(tokenizer.status().code(), code) << tokenizer.status();
  EXPECT_THAT(tokenizer.status().message(), HasSubstr(message));
  EXPECT_THAT(tokenizer.status().message(), HasSubstr("bad.json"));
}

TEST(BpeTokenizerTest, RefusesWhatItDoesNotSupport) {
  using absl::StatusCode;
  ASSERT_FALSE(BpeTokenizer::FromJson("{not json", "x").ok());
  Json json = TinyTokenizer({});
  json["model"]["type"] = "WordPiece";
  ExpectError(json, StatusCode::kUnimplemented, "WordPiece");
  json = TinyTokenizer({});
  json["pre_tokenizer"] = {{"type", "Metaspace"}};
  ExpectError(json, StatusCode::kUnimplemented, "Metaspace");
  json["pre_tokenizer"] = {{"type", "Digits"}};
  ExpectError(json, StatusCode::kUnimplemented, "ByteLevel");
  json = TinyTokenizer({});
  json["normalizer"] = {{"type", "NFC"}};
  ExpectError(json, StatusCode::kUnimplemented, "NFC");
  json = TinyTokenizer({});
  json["model"]["dropout"] = 0.1;
  ExpectError(json, StatusCode::kUnimplemented, "dropout");
  json = TinyTokenizer({});
  json["model"]["merges"] = {"a q"};  // "aq" is not in the vocabulary
  ExpectError(json, StatusCode::kInvalidArgument, "merges[0]");
  json["model"]["merges"] = {"abc"};
  ExpectError(json, StatusCode::kInvalidArgument, "merges[0]");
  json = TinyTokenizer({});
  json["model"]["vocab"]["x"] = -4;
  ExpectError(json, StatusCode::kInvalidArgument, "-4");
  json = TinyTokenizer({});
  json["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}},
        {{"type", "ByteLevel"}}}}};
  ExpectError(json, StatusCode::kInvalidArgument, "pattern");
  json = TinyTokenizer({});
  json["added_tokens"] = Json::array({{{"id", 5}, {"content", ""}}});
  ExpectError(json, StatusCode::kInvalidArgument, "empty content");
}

// Found with fuzz/tokenizer_json_fuzz (a hand-made input, larger than libFuzzer's inputs): a
// pre_tokenizer of Sequences nested 200,000 deep was copied recursively and overflowed the stack.
// Now it is read in place and refused by depth.
TEST(BpeTokenizerTest, DeeplyNestedPreTokenizerIsRefused) {
  Json without = TinyTokenizer({});
  without.erase("pre_tokenizer");
  const std::string tiny = without.dump();
  for (int depth : {65, 200000}) {
    std::string nested;
    for (int i = 0; i < depth; ++i) nested += R"({"type": "Sequence", "pretokenizers": [)";
    nested += R"({"type": "ByteLevel"})";
    for (int i = 0; i < depth; ++i) nested += "]}";
    const std::string json = R"({"pre_tokenizer": )" + nested + "," + tiny.substr(1);
    auto tokenizer = BpeTokenizer::FromJson(json, "deep.json");
    ASSERT_FALSE(tokenizer.ok()) << depth;
    EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tokenizer.status().message(), HasSubstr("nested more than 64 levels deep"));
  }
  std::string nested;  // 64 levels are fine
  for (int i = 0; i < 64; ++i) nested += R"({"type": "Sequence", "pretokenizers": [)";
  nested += R"({"type": "ByteLevel"})";
  for (int i = 0; i < 64; ++i) nested += "]}";
  EXPECT_TRUE(
      BpeTokenizer::FromJson(R"({"pre_tokenizer": )" + nested + "," + tiny.substr(1), "ok.json")
          .ok());
}

TEST(LoadTokenizerTest, MissingFileIsNotFound) {
  auto tokenizer = LoadTokenizer("/nonexistent/tokenizer.json");
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace egmla
