#include "scheduler/stop_checker.h"

#include <vector>

#include "gtest/gtest.h"

namespace egmla {
namespace {

constexpr int32_t kEos = 2;
constexpr int32_t kStopId = 7;

// A request with a 3-token prompt and `outputs` generated.
Request Make(std::vector<int32_t> outputs) {
  Request r;
  r.token_ids = {10, 11, 12};
  r.num_prompt_tokens = 3;
  r.token_ids.insert(r.token_ids.end(), outputs.begin(), outputs.end());
  r.stopping.max_tokens = 5;
  r.stopping.eos_token_ids = {kEos};
  r.stopping.stop_token_ids = {kStopId};
  r.stopping.max_context_tokens = 100;
  return r;
}

TEST(StopCheckerTest, GoesOnForOrdinaryTokens) {
  std::optional<int32_t> matched;
  EXPECT_EQ(CheckStop(Make({5}), &matched), FinishReason::kNone);
  EXPECT_FALSE(matched.has_value());
}

TEST(StopCheckerTest, EosStopsWithoutMatchedId) {
  std::optional<int32_t> matched;
  EXPECT_EQ(CheckStop(Make({5, kEos}), &matched), FinishReason::kStop);
  EXPECT_FALSE(matched.has_value());
}

TEST(StopCheckerTest, StopTokenIdStopsAndIsMatched) {
  std::optional<int32_t> matched;
  EXPECT_EQ(CheckStop(Make({kStopId}), &matched), FinishReason::kStop);
  EXPECT_EQ(matched, kStopId);
}

TEST(StopCheckerTest, IgnoreEosKeepsStopIds) {
  Request r = Make({kEos});
  r.stopping.ignore_eos = true;
  std::optional<int32_t> matched;
  EXPECT_EQ(CheckStop(r, &matched), FinishReason::kNone);
  r.token_ids.push_back(kStopId);
  EXPECT_EQ(CheckStop(r, &matched), FinishReason::kStop);
  EXPECT_EQ(matched, kStopId);
}

TEST(StopCheckerTest, EosThatIsAlsoAStopIdCountsAsEos) {
  Request r = Make({kEos});
  r.stopping.stop_token_ids = {kEos};
  std::optional<int32_t> matched;
  EXPECT_EQ(CheckStop(r, &matched), FinishReason::kStop);
  EXPECT_FALSE(matched.has_value());
}

TEST(StopCheckerTest, MinTokensMasksEosAndStopIdsUntilReached) {
  std::optional<int32_t> matched;
  Request r = Make({kEos});
  r.stopping.min_tokens = 2;
  EXPECT_EQ(CheckStop(r, &matched), FinishReason::kNone);
  r.token_ids.back() = kStopId;
  EXPECT_EQ(CheckStop(r, &matched), FinishReason::kNone);
  EXPECT_FALSE(matched.has_value());
  r.token_ids.push_back(kStopId);  // the second output: min_tokens reached
  EXPECT_EQ(CheckStop(r, &matched), FinishReason::kStop);
  EXPECT_EQ(matched, kStopId);
}

TEST(StopCheckerTest, MaxTokensGivesLength) {
  std::optional<int32_t> matched;
  EXPECT_EQ(CheckStop(Make({1, 1, 1, 1}), &matched), FinishReason::kNone);
  EXPECT_EQ(CheckStop(Make({1, 1, 1, 1, 1}), &matched), FinishReason::kLength);
}

TEST(StopCheckerTest, StopTokenWinsOverMaxTokens) {
  std::optional<int32_t> matched;
  EXPECT_EQ(CheckStop(Make({1, 1, 1, 1, kEos}), &matched), FinishReason::kStop);
}

TEST(StopCheckerTest, MaskedEosAtMaxTokensGivesLength) {
  Request r = Make({1, 1, 1, 1, kEos});
  r.stopping.min_tokens = 6;
  std::optional<int32_t> matched;
  EXPECT_EQ(CheckStop(r, &matched), FinishReason::kLength);
}

TEST(StopCheckerTest, ContextLimit) {
  Request r = Make({1, 1});
  r.stopping.max_context_tokens = 5;
  std::optional<int32_t> matched;
  EXPECT_EQ(CheckStop(r, &matched), FinishReason::kContextLimit);
  r.stopping.max_context_tokens = 6;
  EXPECT_EQ(CheckStop(r, &matched), FinishReason::kNone);
}

TEST(StopCheckerTest, LengthWinsWhenContextBindsAtTheSameTime) {
  Request r = Make({1, 1, 1, 1, 1});
  r.stopping.max_context_tokens = 8;
  std::optional<int32_t> matched;
  EXPECT_EQ(CheckStop(r, &matched), FinishReason::kLength);
}

}  // namespace
}  // namespace egmla
