#include "load-tests/openai_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace egmla::loadgen::openai {
namespace {

TEST(ParseTargetTest, HostAndPort) {
  absl::StatusOr<HostPort> t = ParseTarget("127.0.0.1:8000");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, "8000");
  t = ParseTarget("http://localhost:8001/");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->host, "localhost");
  EXPECT_EQ(t->port, "8001");
  t = ParseTarget("[::1]:8002");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, "8002");
  for (const char* bad :
       {"localhost", ":80", "host:0", "host:70000", "host:abc", "::1:80", "", "[::1]80"}) {
    t = ParseTarget(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.status().message().find("--target"), std::string::npos);
  }
}

TEST(CompletionRequestBodyTest, TokenIdsAndFields) {
  const RequestSpec spec{.index = 5, .prompt = {.token_ids = {1, 2, 300}}, .max_tokens = 16};
  const RequestParams params{.request_id_prefix = "p", .temperature = 0, .ignore_eos = true};
  const nlohmann::json body = nlohmann::json::parse(CompletionRequestBody(spec, params, "m1"));
  EXPECT_EQ(body["model"], "m1");
  EXPECT_EQ(body["prompt"], nlohmann::json::array({1, 2, 300}));
  EXPECT_EQ(body["max_tokens"], 16);
  EXPECT_EQ(body["temperature"], 0.0);
  EXPECT_EQ(body["ignore_eos"], true);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"], nlohmann::json({{"include_usage", true}}));
  EXPECT_FALSE(body.contains("seed")) << "greedy requests carry no seed";
  EXPECT_EQ(body.size(), 7u) << body.dump();
}

TEST(CompletionRequestBodyTest, TextPromptAndSampling) {
  const RequestSpec spec{.index = 3, .prompt = {.text = "In the \"beginning\""}, .max_tokens = 4};
  const RequestParams params{.temperature = 0.7f, .ignore_eos = false, .seed = 10};
  const std::string text = CompletionRequestBody(spec, params, "m");
  EXPECT_NE(text.find("\"temperature\":0.7"), std::string::npos) << text;
  EXPECT_EQ(text.find("0.69999"), std::string::npos) << "the decimal given, not the float's";
  const nlohmann::json body = nlohmann::json::parse(text);
  EXPECT_EQ(body["prompt"], "In the \"beginning\"");
  EXPECT_EQ(body["ignore_eos"], false);
  EXPECT_EQ(body["seed"], 13) << "seed + index, as the gRPC path";
}

TEST(CompletionHttpRequestTest, HeadAndBody) {
  const std::string body = R"({"model":"m"})";
  const std::string request = CompletionHttpRequest("127.0.0.1:8000", "KEY", "id-1", body);
  EXPECT_EQ(request.rfind("POST /v1/completions HTTP/1.1\r\n", 0), 0u);
  for (const std::string& header :
       std::vector<std::string>{"Host: 127.0.0.1:8000\r\n", "Content-Type: application/json\r\n",
                                "Accept: text/event-stream\r\n", "X-Request-Id: id-1\r\n",
                                "Authorization: Bearer KEY\r\n",
                                absl::StrCat("Content-Length: ", body.size(), "\r\n")}) {
    EXPECT_NE(request.find(header), std::string::npos) << header;
  }
  EXPECT_EQ(request.substr(request.size() - body.size() - 4), "\r\n\r\n" + body);
  EXPECT_EQ(CompletionHttpRequest("h:1", "", "id", body).find("Authorization"), std::string::npos);
}

std::vector<std::string> FeedAll(SseParser& parser, const std::string& bytes, size_t piece) {
  std::vector<std::string> events;
  for (size_t i = 0; i < bytes.size(); i += piece) {
    parser.Feed(absl::string_view(bytes).substr(i, piece),
                [&](const std::string& data) { events.push_back(data); });
  }
  return events;
}

TEST(SseParserTest, EventsCutAnywhere) {
  const std::string stream =
      "data: {\"a\":1}\n\n"
      ": a comment\n"
      "data: {\"b\":2}\r\n\r\n"
      "event: message\nid: 7\ndata:{\"c\":3}\n\n"
      "data: line one\ndata: line two\n\n"
      "retry: 100\n\n"  // no data: no event
      "data: [DONE]\n\n";
  const std::vector<std::string> expected = {"{\"a\":1}", "{\"b\":2}", "{\"c\":3}",
                                             "line one\nline two", "[DONE]"};
  for (size_t piece : {stream.size(), size_t{1}, size_t{2}, size_t{3}, size_t{7}}) {
    SseParser parser;
    EXPECT_EQ(FeedAll(parser, stream, piece), expected) << "pieces of " << piece;
    EXPECT_FALSE(parser.pending());
  }
}

TEST(SseParserTest, UnendedEventIsPending) {
  SseParser parser;
  EXPECT_TRUE(FeedAll(parser, "data: {\"a\":1}\n", 4).empty());
  EXPECT_TRUE(parser.pending());
  EXPECT_EQ(FeedAll(parser, "\n", 1), std::vector<std::string>{"{\"a\":1}"});
  EXPECT_FALSE(parser.pending());
  EXPECT_TRUE(FeedAll(parser, "data: x", 1).empty());
  EXPECT_TRUE(parser.pending());
}

TEST(SseParserTest, OtherFieldsAreNotData) {
  SseParser parser;
  EXPECT_TRUE(FeedAll(parser, "database: x\ndata_x: y\n\n", 5).empty());
  EXPECT_EQ(FeedAll(parser, "data\n\n", 5), std::vector<std::string>{""});
}

TEST(ParseCompletionChunkTest, TextChunk) {
  absl::StatusOr<CompletionChunk> c = ParseCompletionChunk(
      R"({"id":"cmpl-1","object":"text_completion","created":1,"model":"m",)"
      R"("choices":[{"index":0,"text":" the","logprobs":null,"finish_reason":null}],)"
      R"("usage":null})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id, "cmpl-1");
  EXPECT_EQ(c->num_choices, 1);
  EXPECT_EQ(c->finish_reason, "");
  EXPECT_FALSE(c->completion_tokens.has_value());
  EXPECT_FALSE(c->error.has_value());
}

TEST(ParseCompletionChunkTest, FinishAndUsage) {
  absl::StatusOr<CompletionChunk> c = ParseCompletionChunk(
      R"({"id":"cmpl-1","choices":[{"index":0,"text":"","finish_reason":"length"}]})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->finish_reason, "length");
  c = ParseCompletionChunk(
      R"({"id":"cmpl-1","object":"text_completion","choices":[],)"
      R"("usage":{"prompt_tokens":32,"completion_tokens":16,"total_tokens":48}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_choices, 0);
  EXPECT_EQ(c->prompt_tokens, 32);
  EXPECT_EQ(c->completion_tokens, 16);
}

TEST(ParseCompletionChunkTest, ErrorsAndMalformed) {
  absl::StatusOr<CompletionChunk> c =
      ParseCompletionChunk(R"({"error":{"message":"engine failed","type":"server_error"}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->error, "engine failed");
  EXPECT_FALSE(ParseCompletionChunk("not json").ok());
  EXPECT_FALSE(ParseCompletionChunk("[1,2]").ok());
  EXPECT_FALSE(ParseCompletionChunk(R"({"choices":{}})").ok());
  EXPECT_FALSE(ParseCompletionChunk(R"({"choices":[],"usage":{"prompt_tokens":1}})").ok());
}

TEST(FinishReasonNameTest, AsTheGrpcNames) {
  EXPECT_EQ(FinishReasonName("length"), "LENGTH");
  EXPECT_EQ(FinishReasonName("stop"), "STOP");
  EXPECT_EQ(FinishReasonName("abort"), "ABORTED");
  EXPECT_EQ(FinishReasonName("content_filter"), "CONTENT_FILTER");
}

TEST(HttpErrorTest, NameAndMessage) {
  EXPECT_EQ(HttpFailureName(429), "HTTP_429");
  EXPECT_EQ(HttpErrorMessage(R"({"error":{"message":"queue full","type":"x","param":null,)"
                             R"("code":429}})",
                             "Too Many Requests"),
            "queue full");
  EXPECT_EQ(HttpErrorMessage("  plain text\n", "Bad Gateway"), "plain text");
  EXPECT_EQ(HttpErrorMessage("", "Service Unavailable"), "Service Unavailable");
  EXPECT_EQ(HttpErrorMessage(std::string(1000, 'x'), "").size(), 200u);
}

TEST(FindModelTest, FirstOrNamed) {
  const std::string body =
      R"({"object":"list","data":[{"id":"a","object":"model","owned_by":"egmla"},)"
      R"({"id":"b","object":"model","max_model_len":256,"vocab_size":2048}]})";
  absl::StatusOr<ModelCard> card = FindModel(body, "");
  ASSERT_TRUE(card.ok()) << card.status();
  EXPECT_EQ(card->id, "a");
  EXPECT_FALSE(card->vocab_size.has_value());
  EXPECT_EQ(card->json["owned_by"], "egmla");
  card = FindModel(body, "b");
  ASSERT_TRUE(card.ok()) << card.status();
  EXPECT_EQ(card->max_model_len, 256);
  EXPECT_EQ(card->vocab_size, 2048);
  EXPECT_EQ(FindModel(body, "c").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FindModel(R"({"data":[]})", "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FindModel("<html>", "").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace egmla::loadgen::openai
