#include "tools/client_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace egmla::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(CollectFlagValuesTest, EveryOccurrenceInOrder) {
  std::vector<std::string> args = {"egmla", "generate", "--stop",       "a", "--stop=b,c", "-stop",
                                   "d",     "-stop=e",  "--max_tokens", "3"};
  EXPECT_THAT(CollectFlagValues(args, "stop"), ElementsAre("a", "b,c", "d", "e"));
}

TEST(CollectFlagValuesTest, IgnoresOtherFlagsWithTheSamePrefixAndStopsAtDoubleDash) {
  std::vector<std::string> args = {"egmla",   "generate", "--stops=x", "--stop_x", "y",
                                   "--stop=", "--",       "--stop",    "z"};
  EXPECT_THAT(CollectFlagValues(args, "stop"), ElementsAre(""));
}

TEST(CollectFlagValuesTest, ValueMayStartWithDashes) {
  std::vector<std::string> args = {"egmla", "--stop", "--", "--stop", "-x"};
  EXPECT_THAT(CollectFlagValues(args, "stop"), ElementsAre("--", "-x"));
}

TEST(ParseStopSequencesTest, SplitsCommasAcrossOccurrences) {
  EXPECT_THAT(ParseStopSequences({"a,b", "c"}), ElementsAre("a", "b", "c"));
}

TEST(ParseStopSequencesTest, DropsEmptyEntries) {
  EXPECT_THAT(ParseStopSequences({",a,,b,", ""}), ElementsAre("a", "b"));
  EXPECT_THAT(ParseStopSequences({}), IsEmpty());
}

TEST(ParseStopSequencesTest, Escapes) {
  EXPECT_THAT(ParseStopSequences({R"(a\,b,\n,x\ty,c\\,d\q,e\)"}),
              ElementsAre("a,b", "\n", "x\ty", "c\\", "d\\q", "e\\"));
}

TEST(ParseStopSequencesTest, KeepsSpacesAndUtf8) {
  EXPECT_THAT(ParseStopSequences({" end , ünd"}), ElementsAre(" end ", " ünd"));
}

GenerateOptions IdsOptions() { return {.token_ids = "1,2,3"}; }

TEST(BuildGenerateRequestTest, DefaultsSetOnlyTemperature) {
  absl::StatusOr<egmla::v1::GenerateRequest> request = BuildGenerateRequest(IdsOptions());
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_THAT(request->token_ids().ids(), ElementsAre(1, 2, 3));
  EXPECT_FALSE(request->has_text());
  EXPECT_EQ(request->request_id(), "");
  const egmla::v1::SamplingParams& s = request->sampling();
  ASSERT_TRUE(s.has_temperature());
  EXPECT_EQ(s.temperature(), 0.0f);
  EXPECT_FALSE(s.has_top_p());
  EXPECT_FALSE(s.has_top_k());
  EXPECT_FALSE(s.has_min_p());
  EXPECT_FALSE(s.has_seed());
  EXPECT_FALSE(s.has_repetition_penalty());
  EXPECT_FALSE(s.has_presence_penalty());
  EXPECT_FALSE(s.has_frequency_penalty());
  EXPECT_EQ(request->stopping().max_tokens(), 0u);
  EXPECT_FALSE(request->stopping().ignore_eos());
  EXPECT_THAT(request->stopping().stop_sequences(), IsEmpty());
  EXPECT_FALSE(request->return_logprobs());
  EXPECT_EQ(request->top_logprobs(), 0u);
  EXPECT_EQ(request->priority(), 0);
}

TEST(BuildGenerateRequestTest, GivenFlagsAreSet) {
  GenerateOptions o = IdsOptions();
  o.request_id = "r1";
  o.max_tokens = 7;
  o.temperature = 0.8f;
  o.top_p = 0.9f;
  o.top_k = 0;  // given, even though 0 is the default: still sent
  o.min_p = 0.05f;
  o.seed = 42;
  o.stop = {"\n\n", "END"};
  o.ignore_eos = true;
  o.logprobs = true;
  absl::StatusOr<egmla::v1::GenerateRequest> request = BuildGenerateRequest(o);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->request_id(), "r1");
  const egmla::v1::SamplingParams& s = request->sampling();
  EXPECT_EQ(s.temperature(), 0.8f);
  EXPECT_EQ(s.top_p(), 0.9f);
  ASSERT_TRUE(s.has_top_k());
  EXPECT_EQ(s.top_k(), 0u);
  EXPECT_EQ(s.min_p(), 0.05f);
  EXPECT_EQ(s.seed(), 42u);
  EXPECT_EQ(request->stopping().max_tokens(), 7u);
  EXPECT_TRUE(request->stopping().ignore_eos());
  EXPECT_THAT(request->stopping().stop_sequences(), ElementsAre("\n\n", "END"));
  EXPECT_TRUE(request->return_logprobs());
}

TEST(BuildGenerateRequestTest, OutOfRangeValuesAreLeftToTheServer) {
  GenerateOptions o = IdsOptions();
  o.temperature = -1;
  o.top_p = 2;
  absl::StatusOr<egmla::v1::GenerateRequest> request = BuildGenerateRequest(o);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->sampling().temperature(), -1.0f);
  EXPECT_EQ(request->sampling().top_p(), 2.0f);
}

TEST(BuildGenerateRequestTest, Text) {
  GenerateOptions o{.text = "-- hello"};
  absl::StatusOr<egmla::v1::GenerateRequest> request = BuildGenerateRequest(o);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->text(), "-- hello");
  EXPECT_FALSE(request->has_token_ids());
}

TEST(BuildGenerateRequestTest, EmptyTextIsSentForTheServerToRefuse) {
  absl::StatusOr<egmla::v1::GenerateRequest> request = BuildGenerateRequest({.text = ""});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->has_text());
}

TEST(BuildGenerateRequestTest, NeedsExactlyOneInput) {
  absl::StatusOr<egmla::v1::GenerateRequest> none = BuildGenerateRequest({});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(none.status().message(), HasSubstr("--token-ids"));
  absl::StatusOr<egmla::v1::GenerateRequest> both =
      BuildGenerateRequest({.token_ids = "1", .text = "x"});
  EXPECT_EQ(both.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(both.status().message(), HasSubstr("not both"));
}

TEST(BuildGenerateRequestTest, BadTokenIds) {
  absl::StatusOr<egmla::v1::GenerateRequest> request = BuildGenerateRequest({.token_ids = "1,x,3"});
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(request.status().message(), HasSubstr("'x'"));
}

egmla::v1::Chunk MakeChunk(std::vector<uint32_t> ids, std::vector<float> logprobs,
                           std::string text) {
  egmla::v1::Chunk chunk;
  for (uint32_t id : ids) chunk.add_token_ids(id);
  for (float lp : logprobs) chunk.add_logprobs(lp);
  chunk.set_text(std::move(text));
  return chunk;
}

TEST(FormatChunkTest, Styles) {
  const egmla::v1::Chunk chunk = MakeChunk({5, 17}, {-0.5f, -1.23456f}, " hi");
  EXPECT_EQ(FormatChunk(chunk, ChunkStyle::kText, true), " hi");
  EXPECT_EQ(FormatChunk(chunk, ChunkStyle::kText, false), " hi");
  EXPECT_EQ(FormatChunk(chunk, ChunkStyle::kIds, true), "5 17");
  EXPECT_EQ(FormatChunk(chunk, ChunkStyle::kIds, false), " 5 17");
  EXPECT_EQ(FormatChunk(chunk, ChunkStyle::kLogprobs, true), "5(-0.5000) 17(-1.2346)");
}

TEST(FormatChunkTest, LogprobsMissingPrintsIds) {
  EXPECT_EQ(FormatChunk(MakeChunk({5, 6}, {-1}, ""), ChunkStyle::kLogprobs, false),
            " 5(-1.0000) 6");
}

TEST(FormatChunkTest, EmptyChunkPrintsNothing) {
  EXPECT_EQ(FormatChunk(MakeChunk({}, {}, ""), ChunkStyle::kIds, false), "");
}

TEST(ToJsonLineTest, ProtoNamesAndZeroFields) {
  egmla::v1::GenerateResponse response;
  response.set_request_id("r");
  response.mutable_complete()->set_completion_tokens(3);
  response.mutable_complete()->set_seed(7);
  const std::string json = ToJsonLine(response);
  EXPECT_THAT(json, HasSubstr(R"("request_id":"r")"));
  EXPECT_THAT(json, HasSubstr(R"("completion_tokens":3)"));
  EXPECT_THAT(json, HasSubstr(R"("cached_tokens":0)"));
  EXPECT_THAT(json, HasSubstr(R"("finish_reason":"FINISH_REASON_UNSPECIFIED")"));
  EXPECT_THAT(json, HasSubstr(R"("seed":"7")"));  // 64-bit integers are strings in proto3 JSON
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace egmla::cli
