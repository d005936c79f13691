#include "runner/request_states.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::ElementsAre;

TEST(RequestStatesTest, BeginKeepsTablesAcrossStepsAndDropsFinishedRequests) {
  RequestStates states;
  ASSERT_TRUE(states
                  .Begin({.new_requests = {{.request_id = 1, .prompt_ids = {1, 2, 3, 4, 5}}},
                          .requests = {{.request_id = 1,
                                        .token_ids = {1, 2, 3, 4, 5},
                                        .new_block_ids = {6, 2},
                                        .sample = true}}},
                         /*block_size=*/4)
                  .ok());
  ASSERT_TRUE(states
                  .Begin({.requests = {{.request_id = 1,
                                        .token_ids = {9},
                                        .num_computed_tokens = 5,
                                        .sample = true}}},
                         4)
                  .ok());
  EXPECT_THAT(states.at(1).block_table, ElementsAre(6, 2));
  ASSERT_TRUE(states
                  .Begin({.requests = {{.request_id = 1,
                                        .token_ids = {9, 9, 9},
                                        .num_computed_tokens = 6,
                                        .new_block_ids = {0},
                                        .sample = true}}},
                         4)
                  .ok());
  EXPECT_THAT(states.at(1).block_table, ElementsAre(6, 2, 0));
  ASSERT_TRUE(states.Begin({.finished_ids = {1}}, 4).ok());
  EXPECT_EQ(states.size(), 0u);
}

TEST(RequestStatesTest, BeginRefusesUnknownRequestsAndShortTables) {
  RequestStates states;
  const absl::Status unknown = states.Begin(
      {.requests = {{.request_id = 3, .token_ids = {1}, .new_block_ids = {0}, .sample = true}}}, 4);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(unknown.message()), ::testing::HasSubstr("unknown request 3"));
  const absl::Status short_table = states.Begin(
      {.new_requests = {{.request_id = 4, .prompt_ids = {1, 2, 3, 4, 5}}},
       .requests =
           {{.request_id = 4, .token_ids = {1, 2, 3, 4, 5}, .new_block_ids = {1}, .sample = true}}},
      4);
  EXPECT_EQ(short_table.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(short_table.message()), ::testing::HasSubstr("1 blocks for 5 tokens"));
}

TEST(RequestStatesTest, PromptLogprobRangeCoversPositionsAPromptTokenFollows) {
  CachedRequestState state{.prompt_ids = {1, 2, 3, 4, 5},
                           .output_options = {.return_prompt_logprobs = true}};
  ScheduledRequest chunk{.token_ids = {3, 4, 5}, .num_computed_tokens = 2};
  EXPECT_EQ(RequestStates::PromptLogprobRange(chunk, state),
            std::make_pair(int64_t{2}, int64_t{4}));
  state.output_options.return_prompt_logprobs = false;
  EXPECT_EQ(RequestStates::PromptLogprobRange(chunk, state),
            std::make_pair(int64_t{2}, int64_t{2}));
}

TEST(RequestStatesTest, PostprocessSamplesMasksBeforeMinTokensAndReportsLogprobs) {
  // Vocab 4; token 3 (eos) is the most likely, token 1 next.
  const std::vector<float> logits = {0.0f, 2.0f, 1.0f, 5.0f};
  CachedRequestState state{.prompt_ids = {0},
                           .sampling = {.temperature = 0.0f},
                           .stopping = {.min_tokens = 1, .eos_token_ids = {3}},
                           .output_options = {.return_logprobs = true, .top_logprobs = 2}};
  const ScheduledRequest step{.request_id = 8, .token_ids = {0}, .sample = true};
  SampledOutput first;
  RequestStates::Postprocess(step, state, logits.data(), 4, first);
  EXPECT_EQ(first.request_id, 8);
  EXPECT_EQ(first.token_id, 1) << "eos is masked before min_tokens";
  double z = 0;
  for (float l : logits) z += std::exp(l);
  EXPECT_NEAR(first.logprob, 2.0 - std::log(z), 1e-5) << "logprobs are of the raw logits";
  EXPECT_THAT(first.top_logprobs.token_ids, ElementsAre(3, 1));
  SampledOutput second;
  RequestStates::Postprocess(step, state, logits.data(), 4, second);
  EXPECT_EQ(second.token_id, 3);
  EXPECT_THAT(state.output_ids, ElementsAre(1, 3));
}

}  // namespace
}  // namespace egmla
