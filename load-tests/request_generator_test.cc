#include "load-tests/request_generator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace egmla::loadgen {
namespace {

std::string WriteTemp(const std::string& contents) {
  char path[] = "/tmp/loadgen_dataset_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << contents;
  return path;
}

TEST(RangeAroundTest, MatchesVllmsRandomRangeRatio) {
  EXPECT_EQ(RangeAround(100, 0).min, 100);
  EXPECT_EQ(RangeAround(100, 0).max, 100);
  EXPECT_EQ(RangeAround(100, 0.25).min, 75);
  EXPECT_EQ(RangeAround(100, 0.25).max, 125);
  EXPECT_EQ(RangeAround(1, 0.9).min, 1);  // never below one token
}

TEST(RequestGeneratorTest, RandomPromptsHaveLengthsInRangeAndIdsInVocab) {
  RequestGenerator generator(
      {.input_len = 40, .output_len = 10, .range_ratio = 0.5, .vocab_size = 7, .seed = 3});
  int64_t min_len = 1000, max_len = 0;
  for (int i = 0; i < 500; ++i) {
    const RequestSpec spec = generator.Next();
    EXPECT_EQ(spec.index, i);
    const auto len = static_cast<int64_t>(spec.prompt.token_ids.size());
    min_len = std::min(min_len, len);
    max_len = std::max(max_len, len);
    for (int32_t id : spec.prompt.token_ids) {
      EXPECT_GE(id, 0);
      EXPECT_LT(id, 7);
    }
    EXPECT_GE(spec.max_tokens, 5);
    EXPECT_LE(spec.max_tokens, 15);
  }
  EXPECT_EQ(min_len, 20);
  EXPECT_EQ(max_len, 60);
}

TEST(RequestGeneratorTest, SameSeedSameRequests) {
  GeneratorOptions options{.input_len = 16, .output_len = 4, .vocab_size = 100, .seed = 9};
  RequestGenerator a(options);
  RequestGenerator b(options);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.Next().prompt.token_ids, b.Next().prompt.token_ids);
}

TEST(RequestGeneratorTest, DatasetIsUsedInOrderCyclically) {
  GeneratorOptions options{.output_len = 8, .vocab_size = 100};
  options.dataset = {{.token_ids = {1, 2}}, {.text = "hello"}};
  RequestGenerator generator(options);
  EXPECT_EQ(generator.Next().prompt.token_ids, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(generator.Next().prompt.text, "hello");
  const RequestSpec third = generator.Next();
  EXPECT_EQ(third.prompt.token_ids, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(third.max_tokens, 8);
}

TEST(ReadDatasetTest, IdLinesTextLinesAndBlankLines) {
  const std::string path = WriteTemp("1, 2 3\r\n\n  \nOnce upon a time\n42\n");
  absl::StatusOr<std::vector<Prompt>> prompts = ReadDataset(path);
  std::remove(path.c_str());
  ASSERT_TRUE(prompts.ok()) << prompts.status();
  ASSERT_EQ(prompts->size(), 3u);
  EXPECT_EQ((*prompts)[0].token_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_TRUE((*prompts)[1].token_ids.empty());
  EXPECT_EQ((*prompts)[1].text, "Once upon a time");
  EXPECT_EQ((*prompts)[2].token_ids, (std::vector<int32_t>{42}));
}

TEST(ReadDatasetTest, ErrorsNameTheFlag) {
  EXPECT_NE(ReadDataset("/nonexistent/prompts.txt").status().message().find("--dataset"),
            std::string::npos);
  const std::string path = WriteTemp("\n\n");
  absl::StatusOr<std::vector<Prompt>> prompts = ReadDataset(path);
  std::remove(path.c_str());
  EXPECT_FALSE(prompts.ok());
}

TEST(ToGenerateRequestTest, CarriesPromptLengthsAndSampling) {
  const RequestSpec spec{.index = 5, .prompt = {.token_ids = {3, 4}}, .max_tokens = 9};
  const egmla::v1::GenerateRequest r = ToGenerateRequest(
      spec, {.request_id_prefix = "lg", .temperature = 0, .ignore_eos = true, .seed = 100});
  EXPECT_EQ(r.request_id(), "lg-5");
  ASSERT_TRUE(r.has_token_ids());
  EXPECT_EQ(r.token_ids().ids_size(), 2);
  EXPECT_EQ(r.stopping().max_tokens(), 9u);
  EXPECT_TRUE(r.stopping().ignore_eos());
  EXPECT_TRUE(r.sampling().has_temperature());
  EXPECT_EQ(r.sampling().temperature(), 0.0f);
  EXPECT_EQ(r.sampling().seed(), 105u);

  const egmla::v1::GenerateRequest text =
      ToGenerateRequest({.prompt = {.text = "hi"}, .max_tokens = 1}, {.request_id_prefix = "x"});
  EXPECT_EQ(text.text(), "hi");
}

}  // namespace
}  // namespace egmla::loadgen
