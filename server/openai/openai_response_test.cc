#include "server/openai/openai_response.h"

#include <nlohmann/json.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/openai/openai_error.h"

namespace egmla {
namespace {

using Json = nlohmann::json;
using ::testing::ElementsAre;

// Token i reads "<i>".
class FakeTokenizer : public Tokenizer {
 public:
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view) const override {
    return std::vector<int32_t>();
  }
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t>) const override { return ""; }
  std::string_view TokenBytes(int32_t id) const override { return names_.at(id); }
  int64_t vocab_size() const override { return 10; }
  int64_t max_token_bytes() const override { return 4; }
  bool IsSpecialToken(int32_t) const override { return false; }
  std::optional<int32_t> TokenId(std::string_view) const override { return std::nullopt; }

 private:
  std::vector<std::string> names_ = {"<0>", "<1>", "<2>", "<3>", "<4>",
                                     "<5>", "<6>", "<7>", "<8>", "<9>"};
};

RequestOutput Tokens(std::vector<int32_t> ids, std::string text, bool finished = false) {
  RequestOutput out;
  out.token_ids = std::move(ids);
  out.text = std::move(text);
  for (size_t i = 0; i < out.token_ids.size(); ++i) {
    out.logprobs.push_back(-1.0f - static_cast<float>(i));
    out.top_logprobs.push_back({.token_ids = {out.token_ids[i], 9}, .logprobs = {-1.0f, -2.0f}});
  }
  if (finished) {
    out.finished = true;
    out.finish_reason = FinishReason::kStopSequence;
    out.prompt_tokens = 3;
    out.completion_tokens = 2;
    out.prompt_logprobs = {-0.5f, -0.25f};
  }
  return out;
}

// The JSON objects of an SSE stream, and whether it ended with [DONE].
std::vector<Json> Events(const std::string& stream, bool* done) {
  std::vector<Json> events;
  *done = false;
  size_t at = 0;
  while (at < stream.size()) {
    const size_t end = stream.find("\n\n", at);
    EXPECT_NE(end, std::string::npos) << "an event without its blank line";
    if (end == std::string::npos) break;
    const std::string line = stream.substr(at, end - at);
    EXPECT_EQ(line.rfind("data: ", 0), 0u) << line;
    if (line == "data: [DONE]") {
      *done = true;
    } else {
      events.push_back(Json::parse(line.substr(6)));
    }
    at = end + 2;
  }
  return events;
}

FakeTokenizer tokenizer;

OpenAiAnswerSpec Spec(OpenAiEndpoint endpoint) {
  return {.endpoint = endpoint,
          .id = "cmpl-1",
          .model = "m",
          .created = 7,
          .include_usage = true,
          .logprobs = 2,
          .tokenizer = &tokenizer};
}

TEST(OpenAiAnswerTest, AWholeCompletionWithEchoAndLogprobs) {
  OpenAiAnswerSpec spec = Spec(OpenAiEndpoint::kCompletions);
  spec.echo = true;
  spec.prompt_text = "P";
  spec.prompt_ids = {1, 2, 3};
  OpenAiAnswer answer(spec);
  answer.Add(Tokens({4}, "a"));
  answer.Add(Tokens({5}, "b", /*finished=*/true));
  const Json body = Json::parse(answer.Body());
  EXPECT_EQ(body["id"], "cmpl-1");
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["created"], 7);
  const Json& choice = body["choices"][0];
  EXPECT_EQ(choice["text"], "Pab");
  EXPECT_EQ(choice["finish_reason"], "stop");
  const Json& lp = choice["logprobs"];
  EXPECT_EQ(lp["tokens"], Json({"<1>", "<2>", "<3>", "<4>", "<5>"}));
  EXPECT_TRUE(lp["token_logprobs"][0].is_null());  // nothing predicts the first prompt token
  EXPECT_EQ(lp["token_logprobs"][1], -0.5);
  EXPECT_EQ(lp["token_logprobs"][3], -1.0);
  EXPECT_EQ(lp["top_logprobs"][3], Json({{"<4>", -1.0}, {"<9>", -2.0}}));
  EXPECT_EQ(lp["text_offset"], Json({0, 3, 6, 1, 4}));  // prompt tokens, then after "P"
  EXPECT_EQ(body["usage"],
            Json({{"prompt_tokens", 3}, {"completion_tokens", 2}, {"total_tokens", 5}}));
}

TEST(OpenAiAnswerTest, ACompletionStreamEndsWithUsageAndDone) {
  OpenAiAnswer answer(Spec(OpenAiEndpoint::kCompletions));
  std::string stream = answer.StreamEvents(Tokens({4}, "a"));
  stream += answer.StreamEvents(Tokens({}, ""));  // nothing to show: no event
  stream += answer.StreamEvents(Tokens({5}, "b", /*finished=*/true));
  bool done = false;
  const std::vector<Json> events = Events(stream, &done);
  EXPECT_TRUE(done);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["choices"][0]["text"], "a");
  EXPECT_TRUE(events[0]["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(events[0]["choices"][0]["logprobs"]["tokens"], Json({"<4>"}));
  EXPECT_EQ(events[1]["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(events[1]["choices"][0]["logprobs"]["text_offset"], Json({3}));
  EXPECT_TRUE(events[2]["choices"].empty());
  EXPECT_EQ(events[2]["usage"]["total_tokens"], 5);
}

TEST(OpenAiAnswerTest, AChatStreamNamesTheRoleFirstAndSendsDeltas) {
  OpenAiAnswerSpec spec = Spec(OpenAiEndpoint::kChatCompletions);
  spec.include_usage = false;
  OpenAiAnswer answer(spec);
  std::string stream = answer.StreamEvents(Tokens({4}, "a"));
  stream += answer.StreamEvents(Tokens({5}, "", /*finished=*/true));
  bool done = false;
  const std::vector<Json> events = Events(stream, &done);
  EXPECT_TRUE(done);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["object"], "chat.completion.chunk");
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(events[1]["choices"][0]["delta"]["content"], "a");
  const Json& content = events[1]["choices"][0]["logprobs"]["content"];
  EXPECT_EQ(content[0]["token"], "<4>");
  EXPECT_EQ(content[0]["bytes"], Json({'<', '4', '>'}));
  EXPECT_EQ(content[0]["top_logprobs"].size(), 2u);
  EXPECT_EQ(events[2]["choices"][0]["delta"], Json::object());
  EXPECT_EQ(events[2]["choices"][0]["finish_reason"], "stop");
  EXPECT_FALSE(events[2].contains("usage"));
}

TEST(OpenAiAnswerTest, AWholeChatAnswerIsTheAssistantsMessage) {
  OpenAiAnswer answer(Spec(OpenAiEndpoint::kChatCompletions));
  answer.Add(Tokens({4, 5}, "ab", /*finished=*/true));
  const Json body = Json::parse(answer.Body());
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"][0]["message"], Json({{"role", "assistant"}, {"content", "ab"}}));
  EXPECT_EQ(body["choices"][0]["logprobs"]["content"].size(), 2u);
}

TEST(OpenAiAnswerTest, FinishReasonsInOpenAisWords) {
  EXPECT_STREQ(OpenAiFinishReason(FinishReason::kStop), "stop");
  EXPECT_STREQ(OpenAiFinishReason(FinishReason::kStopSequence), "stop");
  EXPECT_STREQ(OpenAiFinishReason(FinishReason::kLength), "length");
  EXPECT_STREQ(OpenAiFinishReason(FinishReason::kContextLimit), "length");
  EXPECT_STREQ(OpenAiFinishReason(FinishReason::kAborted), "abort");
  EXPECT_EQ(OpenAiFinishReason(FinishReason::kNone), nullptr);
}

TEST(OpenAiErrorTest, StatusesBecomeHttpAnswersNamingTheOpenAiField) {
  OpenAiError e = ToOpenAiError(
      absl::InvalidArgumentError("sampling.temperature: must be a finite number in [0, 100]"),
      OpenAiEndpoint::kCompletions);
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.param, "temperature");
  EXPECT_EQ(e.message, "temperature: must be a finite number in [0, 100]");
  e = ToOpenAiError(absl::InvalidArgumentError("token_ids.ids[3]: token id 9 is outside"),
                    OpenAiEndpoint::kCompletions);
  EXPECT_EQ(e.param, "prompt[3]");
  e = ToOpenAiError(absl::InvalidArgumentError("text: prompt of 300 tokens leaves no room"),
                    OpenAiEndpoint::kChatCompletions);
  EXPECT_EQ(e.param, "messages");
  e = ToOpenAiError(absl::InvalidArgumentError("stopping.stop_sequences[2]: must be 1 to 256"),
                    OpenAiEndpoint::kCompletions);
  EXPECT_EQ(e.param, "stop[2]");
  e = ToOpenAiError(absl::InvalidArgumentError("top_logprobs: at most 20"),
                    OpenAiEndpoint::kCompletions);
  EXPECT_EQ(e.param, "logprobs");
  e = ToOpenAiError(absl::ResourceExhaustedError("the waiting queue is full (8 requests)"),
                    OpenAiEndpoint::kCompletions);
  EXPECT_EQ(e.http_status, 429);
  EXPECT_FALSE(e.param.has_value());
  EXPECT_EQ(ToOpenAiError(absl::UnauthenticatedError("no key"), {}).http_status, 401);
  EXPECT_EQ(ToOpenAiError(absl::UnavailableError("draining"), {}).http_status, 503);
  EXPECT_EQ(ToOpenAiError(absl::InternalError("device"), {}).http_status, 500);

  const Json body = Json::parse(
      OpenAiErrorJson(ToOpenAiError(absl::InvalidArgumentError("sampling.top_p: bad"), {})));
  EXPECT_EQ(body, Json({{"error",
                         {{"message", "top_p: bad"},
                          {"type", "invalid_request_error"},
                          {"param", "top_p"},
                          {"code", nullptr}}}}));
}

}  // namespace
}  // namespace egmla
