// OpenAiApi over a real engine and a small random model (no tokenizer: token-id prompts), with a
// recording responder in place of the HTTP connection: the routes, the gRPC API's rules (API key,
// drain, queue, validation) in OpenAI's answers, streams, and a client that leaves mid-stream.
#include "server/openai/openai_api.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/test_models.h"
#include "runner/cpu/cpu_model_runner.h"

namespace egmla {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr auto kWaitLimit = std::chrono::seconds(20);

// Records what the API answers; can play a client that leaves.
class RecordingResponder : public HttpResponder {
 public:
  void Respond(HttpResponse response) override {
    std::lock_guard<std::mutex> lock(mu_);
    head_ = std::move(response);
    ended_ = true;
    cv_.notify_all();
  }
  void StartStream(HttpResponse head) override {
    std::lock_guard<std::mutex> lock(mu_);
    body_ += head.body;
    head_ = std::move(head);
    ++num_starts_;
    cv_.notify_all();
  }
  bool Write(std::string data) override {
    std::lock_guard<std::mutex> lock(mu_);
    body_ += data;
    ++num_writes_;
    cv_.notify_all();
    return !gone_;
  }
  void End() override {
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
    cv_.notify_all();
  }
  void OnClientGone(std::function<void()> on_gone) override {
    bool now = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      now = gone_;
      if (!now) on_gone_ = std::move(on_gone);
    }
    if (now) on_gone();
  }
  bool client_gone() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return gone_;
  }

  void Leave() {
    std::function<void()> on_gone;
    {
      std::lock_guard<std::mutex> lock(mu_);
      gone_ = true;
      on_gone = std::move(on_gone_);
    }
    if (on_gone) on_gone();
  }
  // The status and the whole body once the answer ended.
  std::pair<int, std::string> Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, kWaitLimit, [this] { return ended_; }));
    return {head_.status, num_starts_ > 0 ? body_ : head_.body};
  }
  bool WaitForWrites(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWaitLimit, [&] { return num_writes_ >= n; });
  }
  HttpResponse head() {
    std::lock_guard<std::mutex> lock(mu_);
    return head_;
  }
  int num_starts() {
    std::lock_guard<std::mutex> lock(mu_);
    return num_starts_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  HttpResponse head_;
  std::string body_;
  int num_starts_ = 0;
  int num_writes_ = 0;
  bool ended_ = false;
  bool gone_ = false;
  std::function<void()> on_gone_;
};

struct Options {
  std::string api_key;
  SchedulerConfig scheduler;
};

class OpenAiApiTest : public ::testing::Test {
 protected:
  void Start(const Options& options = {}) {
    model_ = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[3]));
    engine_ = std::make_unique<Engine>(
        std::make_unique<CpuModelRunner>(*model_, /*num_blocks=*/64, /*block_size=*/4),
        EngineConfig{.scheduler = options.scheduler});
    limits_ = {.vocab_size = model_->config().vocab_size,
               .max_context_tokens = engine_->max_context_tokens(),
               .default_max_tokens = 4};
    context_ = std::make_unique<ServiceContext>(engine_.get(), v1::ModelInfo(), limits_,
                                                options.api_key, nullptr);
    api_ = std::make_unique<OpenAiApi>(
        context_.get(),
        OpenAiApiOptions{.model_name = "tiny",
                         .observer = [this](const std::string& endpoint, int status) {
                           std::lock_guard<std::mutex> lock(mu_);
                           observed_.push_back(absl::StrCat(endpoint, " ", status));
                         }});
  }
  void TearDown() override {
    engine_.reset();  // before the context, as the server does
  }

  std::shared_ptr<RecordingResponder> Send(const std::string& method, const std::string& target,
                                           const std::string& body = "",
                                           const std::string& authorization = "") {
    HttpRequest request{.method = method, .target = target, .body = body};
    if (!authorization.empty()) request.headers.emplace_back("authorization", authorization);
    auto responder = std::make_shared<RecordingResponder>();
    api_->Handle(request, responder);
    return responder;
  }
  std::pair<int, Json> SendJson(const std::string& target, const std::string& body) {
    auto [status, text] = Send("POST", target, body)->Wait();
    return {status, Json::parse(text)};
  }
  bool WaitForIdleEngine() {
    const auto give_up = std::chrono::steady_clock::now() + kWaitLimit;
    while (std::chrono::steady_clock::now() < give_up) {
      const EngineStats s = engine_->Stats();
      if (s.running == 0 && s.waiting == 0 && s.used_blocks == 0 &&
          context_->num_in_flight() == 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  std::unique_ptr<Model> model_;
  std::unique_ptr<Engine> engine_;
  ValidationLimits limits_;
  std::unique_ptr<ServiceContext> context_;
  std::unique_ptr<OpenAiApi> api_;
  std::mutex mu_;
  std::vector<std::string> observed_;
};

TEST_F(OpenAiApiTest, ACompletionOfTokenIds) {
  Start();
  auto [status, body] =
      SendJson("/v1/completions", R"({"model": "tiny", "prompt": [1, 2, 3], "max_tokens": 5,
                             "ignore_eos": true, "seed": 1})");
  ASSERT_EQ(status, 200) << body;
  EXPECT_THAT(body["id"].get<std::string>(), StartsWith("cmpl-"));
  EXPECT_EQ(body["model"], "tiny");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(body["usage"],
            Json({{"prompt_tokens", 3}, {"completion_tokens", 5}, {"total_tokens", 8}}));
  // Unset max_tokens: the server's default (4 here), as on gRPC.
  auto [status2, body2] = SendJson("/v1/completions", R"({"prompt": [1], "ignore_eos": true})");
  EXPECT_EQ(body2["usage"]["completion_tokens"], 4) << body2;
  EXPECT_TRUE(WaitForIdleEngine());
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_THAT(observed_, ::testing::ElementsAre("/v1/completions 200", "/v1/completions 200"));
}

TEST_F(OpenAiApiTest, AStreamIsServerSentEventsEndingWithDone) {
  Start();
  auto responder = Send("POST", "/v1/completions",
                        R"({"prompt": [1, 2], "max_tokens": 3, "ignore_eos": true,
                            "stream": true})");
  auto [status, text] = responder->Wait();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(responder->num_starts(), 1);
  EXPECT_EQ(responder->head().content_type, "text/event-stream");
  EXPECT_THAT(text, StartsWith("data: {"));
  EXPECT_THAT(text, ::testing::EndsWith("data: [DONE]\n\n"));
  EXPECT_THAT(text, HasSubstr("\"finish_reason\":\"length\""));
}

TEST_F(OpenAiApiTest, AClientThatLeavesMidStreamAbortsItsRequestAndFreesItsBlocks) {
  Start();
  auto responder = Send("POST", "/v1/completions",
                        R"({"prompt": [1, 2], "max_tokens": 100000, "ignore_eos": true,
                            "stream": true})");
  ASSERT_TRUE(responder->WaitForWrites(2));
  responder->Leave();
  EXPECT_TRUE(WaitForIdleEngine());
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(observed_.size(), 1u);
  EXPECT_EQ(observed_[0], "/v1/completions 200");  // the stream had started
}

TEST_F(OpenAiApiTest, RefusalsAreOpenAiErrorsNamingTheField) {
  Start();
  auto [status, body] = SendJson("/v1/completions", R"({"prompt": [1], "temperature": -1})");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["error"]["param"], "temperature");
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  std::tie(status, body) = SendJson("/v1/completions", R"({"prompt": [1, 99999]})");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["error"]["param"], "prompt[1]");
  // The test model has no tokenizer.
  std::tie(status, body) = SendJson("/v1/completions", R"({"prompt": "text"})");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["error"]["param"], "prompt");
  std::tie(status, body) = SendJson("/v1/completions", R"({"prompt": [1], "model": "gpt-4"})");
  EXPECT_EQ(status, 404);
  EXPECT_EQ(body["error"]["code"], "model_not_found");
  std::tie(status, body) =
      SendJson("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}]})");
  EXPECT_EQ(status, 400);
  EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("has no chat format"));
  EXPECT_EQ(Send("GET", "/v1/completions")->Wait().first, 405);
  EXPECT_EQ(Send("GET", "/nowhere")->Wait().first, 404);
  EXPECT_TRUE(WaitForIdleEngine());
}

TEST_F(OpenAiApiTest, ModelsAndHealth) {
  Start();
  auto [status, text] = Send("GET", "/v1/models")->Wait();
  ASSERT_EQ(status, 200);
  const Json models = Json::parse(text);
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["id"], "tiny");
  EXPECT_EQ(models["data"][0]["max_model_len"], engine_->max_context_tokens());
  EXPECT_EQ(Send("GET", "/v1/models/tiny")->Wait().first, 200);
  EXPECT_EQ(Send("GET", "/v1/models/other")->Wait().first, 404);
  EXPECT_EQ(Send("GET", "/health")->Wait().first, 200);
}

TEST_F(OpenAiApiTest, TheApiKeyIsABearerToken) {
  Start({.api_key = "SECRET"});
  const std::string body = R"({"prompt": [1], "max_tokens": 1})";
  auto [status, text] = Send("POST", "/v1/completions", body)->Wait();
  EXPECT_EQ(status, 401);
  EXPECT_EQ(Json::parse(text)["error"]["type"], "authentication_error");
  EXPECT_EQ(Send("POST", "/v1/completions", body, "Bearer WRONG")->Wait().first, 401);
  EXPECT_EQ(Send("GET", "/v1/models")->Wait().first, 401);
  EXPECT_EQ(Send("POST", "/v1/completions", body, "Bearer SECRET")->Wait().first, 200);
  EXPECT_EQ(Send("GET", "/health")->Wait().first, 200);  // open, like gRPC health
}

TEST_F(OpenAiApiTest, ADrainingServerAnswers503AndClosesTheConnection) {
  Start();
  context_->drain_gate().BeginDrain();
  auto responder = Send("POST", "/v1/completions", R"({"prompt": [1]})");
  EXPECT_EQ(responder->Wait().first, 503);
  EXPECT_TRUE(responder->head().close);
  EXPECT_EQ(Send("GET", "/health")->Wait().first, 503);
}

TEST_F(OpenAiApiTest, AFullQueueIs429) {
  Start({.scheduler = {.max_num_seqs = 1, .max_queued_requests = 1}});
  const std::string slow =
      R"({"prompt": [1, 2], "max_tokens": 100000, "ignore_eos": true, "stream": true})";
  auto running = Send("POST", "/v1/completions", slow);
  ASSERT_TRUE(running->WaitForWrites(1));
  auto waiting = Send("POST", "/v1/completions", slow);
  std::vector<std::shared_ptr<RecordingResponder>> more;
  int refused = 0;
  for (int i = 0; i < 5 && refused == 0; ++i) {
    more.push_back(Send("POST", "/v1/completions", R"({"prompt": [1], "max_tokens": 1})"));
    auto [status, text] = more.back()->Wait();
    if (status == 429) {
      ++refused;
      EXPECT_EQ(Json::parse(text)["error"]["type"], "rate_limit_error");
    }
  }
  EXPECT_EQ(refused, 1);
  running->Leave();
  waiting->Leave();
  EXPECT_TRUE(WaitForIdleEngine());
}

}  // namespace
}  // namespace egmla
