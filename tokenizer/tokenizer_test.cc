#include "tokenizer/tokenizer.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/scoped_temp_dir.h"
#include "common/test_fifo.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;

const std::string kDataDir = EGMLA_TOKENIZER_TEST_DATA;
const std::string kModelsDir = EGMLA_MODELS_DIR;

// Expected values are counted independently: from the vocabulary of tokenizer.json (GPT-2's
// longest token is 64 "ÃĤ"-style pairs, 128 bytes) and from `spm_export_vocab` of the .model
// files ("▁Nebuchadnezzar": 14 letters and the space).
TEST(MaxTokenBytesTest, BundledTokenizers) {
  struct Case {
    std::string path;
    int64_t expected;
  };
  for (const Case& c :
       {Case{kDataDir + "/gpt2_tokenizer.json", 128}, Case{kDataDir + "/tiny_sp.model", 14},
        Case{kModelsDir + "/egmla-kjv/tokenizer.model", 15}}) {
    absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = LoadTokenizer(c.path);
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    EXPECT_EQ((*tokenizer)->max_token_bytes(), c.expected) << c.path;
    size_t longest = 0;
    for (int32_t id = 0; id < (*tokenizer)->vocab_size(); ++id) {
      const size_t size = (*tokenizer)->TokenBytes(id).size();
      ASSERT_LE(static_cast<int64_t>(size), (*tokenizer)->max_token_bytes()) << c.path << " " << id;
      longest = std::max(longest, size);
    }
    EXPECT_EQ(static_cast<int64_t>(longest), (*tokenizer)->max_token_bytes()) << c.path;
  }
}

TEST(MaxTokenBytesTest, NeverBelowOneUtf8Character) {
  EXPECT_EQ(MaxTokenBytes({}), kMinMaxTokenBytes);
  EXPECT_EQ(MaxTokenBytes({"a", "", "bc"}), 4);
  EXPECT_EQ(MaxTokenBytes({"a", "\xF0\x9F\x98\x80!", "bc"}), 5);
}

class ModelTokenizerFilesTest : public ::testing::Test {
 protected:
  // Expects LoadModelTokenizer to fail, naming `name` and saying `what`.
  void ExpectRefused(const std::string& name, const std::string& what) {
    const std::string path = dir_ + "/" + name;
    absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
        testing::CallUnblockingFifo(path, [&] { return LoadModelTokenizer(dir_); });
    ASSERT_FALSE(tokenizer.ok()) << name << " " << what << ": loaded, has tokenizer "
                                 << (*tokenizer != nullptr);
    EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tokenizer.status().message(), HasSubstr(path + ": " + what));
  }

  egmla::testing::ScopedTempDir tmp_{"egmla_model_tokenizer"};
  const std::string dir_ = tmp_.path();
};

TEST_F(ModelTokenizerFilesTest, AbsentMeansNoTokenizer) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = LoadModelTokenizer(dir_);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(*tokenizer, nullptr);
}

// Each of these used to be skipped silently, leaving the model without a tokenizer.
TEST_F(ModelTokenizerFilesTest, DirectoryIsAnError) {
  std::filesystem::create_directory(dir_ + "/tokenizer.json");
  std::filesystem::copy_file(kDataDir + "/tiny_sp.model", dir_ + "/tokenizer.model");
  ExpectRefused("tokenizer.json", "is a directory");
}

TEST_F(ModelTokenizerFilesTest, DanglingSymlinkIsAnError) {
  std::filesystem::create_symlink(dir_ + "/gone.model", dir_ + "/tokenizer.model");
  ExpectRefused("tokenizer.model", "is a dangling symbolic link");
}

TEST_F(ModelTokenizerFilesTest, FifoIsAnErrorAndDoesNotBlock) {
  ASSERT_TRUE(testing::MakeFifo(dir_ + "/tokenizer.model"));
  ExpectRefused("tokenizer.model", "is a FIFO");
  std::filesystem::remove(dir_ + "/tokenizer.model");
  ASSERT_TRUE(testing::MakeFifo(dir_ + "/tokenizer.json"));
  ExpectRefused("tokenizer.json", "is a FIFO");
}

TEST_F(ModelTokenizerFilesTest, SymlinkToATokenizerLoads) {
  std::filesystem::create_symlink(kDataDir + "/tiny_sp.model", dir_ + "/tokenizer.model");
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = LoadModelTokenizer(dir_);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  ASSERT_NE(*tokenizer, nullptr);
  EXPECT_EQ((*tokenizer)->vocab_size(), 600);
}

TEST(LoadTokenizerTest, FifoIsRefusedWithoutBlocking) {
  const std::string fifo =
      ::testing::TempDir() + "/egmla_tokenizer_fifo_" + std::to_string(getpid()) + ".model";
  std::filesystem::remove(fifo);
  ASSERT_TRUE(testing::MakeFifo(fifo));
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      testing::CallUnblockingFifo(fifo, [&] { return LoadTokenizer(fifo); });
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tokenizer.status().message(), HasSubstr(fifo + ": is a FIFO"));
  std::filesystem::remove(fifo);
}

}  // namespace
}  // namespace egmla
