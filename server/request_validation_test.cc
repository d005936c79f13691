// Every refusal DESIGN §5 lists, with the field it must name.
#include "server/request_validation.h"

#include <functional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;

const ValidationLimits kLimits{
    .vocab_size = 100, .max_context_tokens = 16, .default_max_tokens = 256};

v1::GenerateRequest Valid() {
  v1::GenerateRequest r;
  r.mutable_token_ids()->add_ids(1);
  r.mutable_token_ids()->add_ids(2);
  return r;
}

TEST(RequestValidationTest, AcceptsAValidRequestAndAppliesDefaults) {
  absl::StatusOr<ValidatedRequest> v = ValidateGenerateRequest(Valid(), kLimits);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->prompt_ids, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(v->sampling.temperature, 1.0f);
  EXPECT_EQ(v->sampling.top_p, 1.0f);
  EXPECT_EQ(v->sampling.top_k, 0);
  EXPECT_EQ(v->stopping.max_tokens, 256);
  EXPECT_FALSE(v->seed_given);
}

TEST(RequestValidationTest, KeepsGivenValues) {
  v1::GenerateRequest r = Valid();
  r.mutable_sampling()->set_temperature(0.0f);
  r.mutable_sampling()->set_seed(9);
  r.mutable_stopping()->set_max_tokens(5);
  r.mutable_stopping()->add_stop_token_ids(7);
  r.set_top_logprobs(20);
  absl::StatusOr<ValidatedRequest> v = ValidateGenerateRequest(r, kLimits);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->sampling.temperature, 0.0f);
  EXPECT_TRUE(v->seed_given);
  EXPECT_EQ(v->sampling.seed, 9u);
  EXPECT_EQ(v->stopping.max_tokens, 5);
  EXPECT_EQ(v->stopping.stop_token_ids, (std::vector<int32_t>{7}));
  EXPECT_EQ(v->output_options.top_logprobs, 20);
}

struct BadCase {
  std::string name;
  std::function<void(v1::GenerateRequest&)> mutate;
  absl::StatusCode code;
  std::string field;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadRequestTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadRequestTest, IsRefusedNamingTheField) {
  v1::GenerateRequest r = Valid();
  GetParam().mutate(r);
  absl::StatusOr<ValidatedRequest> v = ValidateGenerateRequest(r, kLimits);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), GetParam().code) << v.status();
  EXPECT_THAT(std::string(v.status().message()), HasSubstr(GetParam().field));
}

using R = v1::GenerateRequest;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr auto kPrecondition = absl::StatusCode::kFailedPrecondition;

INSTANTIATE_TEST_SUITE_P(
    Design5, BadRequestTest,
    ::testing::Values(
        BadCase{"EmptyInput", [](R& r) { r.clear_input(); }, kInvalid, "input"},
        BadCase{"EmptyIds", [](R& r) { r.mutable_token_ids()->clear_ids(); }, kInvalid,
                "token_ids"},
        BadCase{"IdOutOfVocab", [](R& r) { r.mutable_token_ids()->add_ids(100); }, kInvalid,
                "token_ids.ids[2]"},
        BadCase{"PromptFillsContext",
                [](R& r) {
                  for (int i = 0; i < 14; ++i) r.mutable_token_ids()->add_ids(3);
                },
                kInvalid, "token_ids"},
        BadCase{"TemperatureNaN", [](R& r) { r.mutable_sampling()->set_temperature(NAN); },
                kInvalid, "sampling.temperature"},
        BadCase{"TemperatureHigh", [](R& r) { r.mutable_sampling()->set_temperature(101); },
                kInvalid, "sampling.temperature"},
        BadCase{"TemperatureNegative", [](R& r) { r.mutable_sampling()->set_temperature(-1); },
                kInvalid, "sampling.temperature"},
        BadCase{"TopPZero", [](R& r) { r.mutable_sampling()->set_top_p(0); }, kInvalid,
                "sampling.top_p"},
        BadCase{"TopPHigh", [](R& r) { r.mutable_sampling()->set_top_p(1.5f); }, kInvalid,
                "sampling.top_p"},
        BadCase{"MinPHigh", [](R& r) { r.mutable_sampling()->set_min_p(2); }, kInvalid,
                "sampling.min_p"},
        BadCase{"RepetitionZero", [](R& r) { r.mutable_sampling()->set_repetition_penalty(0); },
                kInvalid, "sampling.repetition_penalty"},
        BadCase{"RepetitionHigh", [](R& r) { r.mutable_sampling()->set_repetition_penalty(11); },
                kInvalid, "sampling.repetition_penalty"},
        BadCase{"PresenceHigh", [](R& r) { r.mutable_sampling()->set_presence_penalty(2.5f); },
                kInvalid, "sampling.presence_penalty"},
        BadCase{"FrequencyLow", [](R& r) { r.mutable_sampling()->set_frequency_penalty(-3); },
                kInvalid, "sampling.frequency_penalty"},
        BadCase{"FrequencyInf", [](R& r) { r.mutable_sampling()->set_frequency_penalty(INFINITY); },
                kInvalid, "sampling.frequency_penalty"},
        BadCase{"TopLogprobs21", [](R& r) { r.set_top_logprobs(21); }, kInvalid, "top_logprobs"},
        BadCase{"RequestIdLong", [](R& r) { r.set_request_id(std::string(129, 'x')); }, kInvalid,
                "request_id"},
        BadCase{"StopIdOutOfVocab", [](R& r) { r.mutable_stopping()->add_stop_token_ids(100); },
                kInvalid, "stopping.stop_token_ids[0]"},
        BadCase{"SeventeenStops",
                [](R& r) {
                  for (int i = 0; i < 17; ++i) r.mutable_stopping()->add_stop_sequences("x");
                },
                kInvalid, "stopping.stop_sequences"},
        BadCase{"StopTooLong",
                [](R& r) { r.mutable_stopping()->add_stop_sequences(std::string(257, 'x')); },
                kInvalid, "stopping.stop_sequences[0]"},
        BadCase{"StopWithoutTokenizer",
                [](R& r) { r.mutable_stopping()->add_stop_sequences("end"); }, kPrecondition,
                "stopping.stop_sequences"},
        BadCase{"TextWithoutTokenizer", [](R& r) { r.set_text("hello"); }, kPrecondition, "text"}));

}  // namespace
}  // namespace egmla
