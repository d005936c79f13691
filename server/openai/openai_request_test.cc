#include "server/openai/openai_request.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The error message of parsing `body` as a completion request ("" when it parses).
std::string CompletionError(const std::string& body) {
  absl::StatusOr<OpenAiRequest> r = ParseCompletionRequest(body);
  EXPECT_TRUE(r.ok() || r.status().code() == absl::StatusCode::kInvalidArgument) << r.status();
  return r.ok() ? "" : std::string(r.status().message());
}

TEST(OpenAiRequestTest, CompletionFieldsBecomeTheGrpcRequest) {
  absl::StatusOr<OpenAiRequest> r = ParseCompletionRequest(R"({
      "model": "m", "prompt": "In the beginning", "max_tokens": 7, "temperature": 0.5,
      "top_p": 0.9, "top_k": 5, "min_p": 0.1, "seed": 42, "stop": ["\n", "."],
      "presence_penalty": 0.5, "frequency_penalty": -0.5, "repetition_penalty": 1.1,
      "min_tokens": 2, "ignore_eos": true, "logprobs": 3, "echo": true, "stream": true,
      "stream_options": {"include_usage": true}, "user": "ignored", "n": 1,
      "some_future_field": {"x": 1}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->model, "m");
  EXPECT_EQ(r->generate.text(), "In the beginning");
  const v1::SamplingParams& s = r->generate.sampling();
  EXPECT_FLOAT_EQ(s.temperature(), 0.5f);
  EXPECT_FLOAT_EQ(s.top_p(), 0.9f);
  EXPECT_EQ(s.top_k(), 5u);
  EXPECT_FLOAT_EQ(s.min_p(), 0.1f);
  EXPECT_EQ(s.seed(), 42u);
  EXPECT_FLOAT_EQ(s.presence_penalty(), 0.5f);
  EXPECT_FLOAT_EQ(s.frequency_penalty(), -0.5f);
  EXPECT_FLOAT_EQ(s.repetition_penalty(), 1.1f);
  const v1::StoppingCriteria& stop = r->generate.stopping();
  EXPECT_EQ(stop.max_tokens(), 7u);
  EXPECT_EQ(stop.min_tokens(), 2u);
  EXPECT_TRUE(stop.ignore_eos());
  ASSERT_EQ(stop.stop_sequences_size(), 2);
  EXPECT_EQ(stop.stop_sequences(1), ".");
  EXPECT_EQ(r->logprobs, 3u);
  EXPECT_TRUE(r->echo);
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
}

TEST(OpenAiRequestTest, UnsetAndNullFieldsKeepTheServersDefaults) {
  absl::StatusOr<OpenAiRequest> r =
      ParseCompletionRequest(R"({"prompt": "x", "temperature": null, "stop": null})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->generate.sampling().has_temperature());
  EXPECT_FALSE(r->generate.sampling().has_seed());
  EXPECT_EQ(r->generate.stopping().max_tokens(), 0u);  // the server's --default-max-tokens
  EXPECT_FALSE(r->logprobs.has_value());
  EXPECT_FALSE(r->stream);
}

TEST(OpenAiRequestTest, PromptsMayBeTokenIdsOrAListOfOne) {
  for (const char* body : {R"({"prompt": [5, 6, 7]})", R"({"prompt": [[5, 6, 7]]})"}) {
    absl::StatusOr<OpenAiRequest> r = ParseCompletionRequest(body);
    ASSERT_TRUE(r.ok()) << body << ": " << r.status();
    EXPECT_THAT(r->generate.token_ids().ids(), ::testing::ElementsAre(5, 6, 7));
  }
  absl::StatusOr<OpenAiRequest> one = ParseCompletionRequest(R"({"prompt": ["only"]})");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->generate.text(), "only");
}

TEST(OpenAiRequestTest, BadFieldsAreRefusedNamingThem) {
  EXPECT_THAT(CompletionError("not json"), StartsWith("body: not valid JSON"));
  EXPECT_THAT(CompletionError("[1]"), StartsWith("body: expected a JSON object"));
  EXPECT_THAT(CompletionError("{}"), StartsWith("prompt: required"));
  EXPECT_THAT(CompletionError(R"({"prompt": ["a", "b"]})"),
              StartsWith("prompt: a list of 2 prompts"));
  EXPECT_THAT(CompletionError(R"({"prompt": [1, -2]})"),
              StartsWith("prompt[1]: expected a token id"));
  EXPECT_THAT(CompletionError(R"({"prompt": [1, 2.5]})"), StartsWith("prompt[1]:"));
  EXPECT_THAT(CompletionError(R"({"prompt": 7})"), StartsWith("prompt: expected a string"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "temperature": "hot"})"),
              StartsWith("temperature: expected a number, got string"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "max_tokens": 0})"),
              StartsWith("max_tokens: must be in [1,"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "max_tokens": 1e30})"),
              StartsWith("max_tokens: expected an integer"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "max_tokens": 99999999999})"),
              StartsWith("max_tokens: must be"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "n": 2})"), StartsWith("n: only 1 is supported"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "logprobs": 21})"), StartsWith("logprobs:"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "stop": [1]})"), StartsWith("stop[0]:"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "stop": 3})"), StartsWith("stop: expected"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "stream": "yes"})"), StartsWith("stream:"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "stream_options": {"include_usage": 1}})"),
              StartsWith("stream_options.include_usage:"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "logit_bias": {"5": 10}})"),
              StartsWith("logit_bias: not supported"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "suffix": "y"})"), StartsWith("suffix:"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "seed": 1.5})"), StartsWith("seed:"));
  EXPECT_THAT(CompletionError(R"({"prompt": "x", "model": 3})"), StartsWith("model:"));
  // Not UTF-8: the JSON parser refuses it.
  EXPECT_THAT(CompletionError("{\"prompt\": \"\xff\"}"), StartsWith("body: not valid JSON"));
}

TEST(OpenAiRequestTest, OutOfRangeSamplingValuesAreLeftToTheSharedValidation) {
  // 1e300 is no float: it arrives as infinity, which validation names.
  absl::StatusOr<OpenAiRequest> r =
      ParseCompletionRequest(R"({"prompt": "x", "temperature": 1e300, "top_k": -1})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(std::isinf(r->generate.sampling().temperature()));
  EXPECT_EQ(r->generate.sampling().top_k(), 0u);  // vLLM's -1: off
}

TEST(OpenAiRequestTest, ChatRendersTheConversationInTheModelsFormat) {
  const ChatFormat chatml = *FindChatFormat("chatml");
  absl::StatusOr<OpenAiRequest> r = ParseChatRequest(
      R"({"messages": [{"role": "system", "content": "Be brief."},
                       {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
          "max_completion_tokens": 9, "max_tokens": 3, "logprobs": true, "top_logprobs": 2})",
      chatml);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->endpoint, OpenAiEndpoint::kChatCompletions);
  EXPECT_EQ(r->generate.text(),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(r->generate.stopping().max_tokens(), 9u);
  EXPECT_EQ(r->logprobs, 2u);
}

TEST(OpenAiRequestTest, BadChatRequestsAreRefusedNamingTheField) {
  const ChatFormat chatml = *FindChatFormat("chatml");
  auto error = [&](const std::string& body) {
    absl::StatusOr<OpenAiRequest> r = ParseChatRequest(body, chatml);
    return r.ok() ? std::string() : std::string(r.status().message());
  };
  EXPECT_THAT(error("{}"), StartsWith("messages: required"));
  EXPECT_THAT(error(R"({"messages": []})"), StartsWith("messages: expected a non-empty list"));
  EXPECT_THAT(error(R"({"messages": [3]})"), StartsWith("messages[0]: expected an object"));
  EXPECT_THAT(error(R"({"messages": [{"content": "x"}]})"), StartsWith("messages[0].role:"));
  EXPECT_THAT(error(R"({"messages": [{"role": "tool", "content": "x"}]})"),
              StartsWith("messages[0].role: must be"));
  EXPECT_THAT(error(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})"),
              StartsWith("messages[0].content[0]: only"));
  EXPECT_THAT(error(R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})"),
              StartsWith("top_logprobs: needs"));
  EXPECT_THAT(error(R"({"messages": [{"role": "user", "content": "x"}], "tools": [{}]})"),
              StartsWith("tools:"));
  EXPECT_THAT(error(R"({"messages": [{"role": "user", "content": "x"}],
                        "response_format": {"type": "json_object"}})"),
              StartsWith("response_format:"));
}

TEST(ChatFormatTest, Llama3TrimsContentAndEndsWithTheAssistantsHeader) {
  absl::StatusOr<ChatFormat> llama = FindChatFormat("llama-3");
  ASSERT_TRUE(llama.ok());
  EXPECT_EQ(llama->end_of_turn, "<|eot_id|>");
  absl::StatusOr<std::string> prompt =
      RenderChat(*llama, {{"developer", " Rules. "}, {"user", "Hello\n"}});
  ASSERT_TRUE(prompt.ok());
  EXPECT_EQ(*prompt,
            "<|start_header_id|>system<|end_header_id|>\n\nRules.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_FALSE(FindChatFormat("jinja").ok());
}

}  // namespace
}  // namespace egmla
