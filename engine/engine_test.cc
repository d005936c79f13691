// The engine end to end on CPU: many concurrent requests through continuous batching give each
// exactly the tokens it gets alone; abort, refusal, prefix caching and chunked prefill behave as
// DESIGN §4 says.
#include "engine/engine.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "engine/collecting_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/test_models.h"
#include "runner/cpu/cpu_model_runner.h"
#include "runner/sampler.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace egmla {
namespace {

constexpr int32_t kVocab = 61;

// The request run alone, token by token, with a contiguous cache.
std::vector<int32_t> Alone(const Model& model, const std::vector<int32_t>& prompt,
                           const SamplingParams& sampling, int64_t max_tokens) {
  SequenceCache cache = model.NewCache();
  std::vector<int32_t> out;
  std::vector<float> logits = *model.Forward(prompt, &cache);
  while (true) {
    const auto last = std::span<const float>(logits).last(model.config().vocab_size);
    out.push_back(SampleToken(last, sampling, prompt, out));
    if (static_cast<int64_t>(out.size()) == max_tokens) return out;
    logits = *model.Forward(std::span(&out.back(), 1), &cache);
  }
}

std::vector<int32_t> RandomIds(std::mt19937& rng, size_t n) {
  std::vector<int32_t> ids(n);
  for (int32_t& t : ids) t = static_cast<int32_t>(rng() % kVocab);
  return ids;
}

EngineRequest Request(std::vector<int32_t> prompt, SamplingParams sampling, int64_t max_tokens,
                      std::shared_ptr<OutputSink> sink) {
  return {.prompt_ids = std::move(prompt),
          .sampling = sampling,
          .stopping = {.max_tokens = max_tokens, .ignore_eos = true},
          .sink = std::move(sink)};
}

// The engine's executor: the CPU runner with a cache of num_blocks blocks of block_size tokens.
std::unique_ptr<Executor> Cpu(const Model& model, int64_t num_blocks, int64_t block_size = 4) {
  return std::make_unique<CpuModelRunner>(model, num_blocks, block_size);
}

TEST(EngineTest, ConcurrentRequestsGetTheTokensTheyGetAlone) {
  std::mt19937 rng(3);
  int64_t preemptions = 0;
  for (const testing::TestVariant& v : testing::TestVariants()) {
    SCOPED_TRACE(v.name);
    auto model = testing::MakeTestModel(testing::TestConfig(v));
    // Small enough that 12 requests of up to ~60 tokens preempt each other.
    Engine engine(Cpu(*model, 40),
                  {.scheduler = {.max_num_seqs = 8, .max_num_batched_tokens = 64}});
    struct Case {
      std::vector<int32_t> prompt;
      SamplingParams sampling;
      int64_t max_tokens;
      std::shared_ptr<CollectingSink> sink;
    };
    std::vector<Case> cases;
    const std::vector<int32_t> shared = RandomIds(rng, 13);
    for (int i = 0; i < 12; ++i) {
      std::vector<int32_t> prompt = i % 3 == 0 ? shared : RandomIds(rng, 1 + rng() % 30);
      if (i % 3 == 0) prompt.push_back(i);
      SamplingParams sampling{
          .temperature = i % 2 ? 0.0f : 0.9f, .top_k = 20, .seed = static_cast<uint64_t>(i)};
      cases.push_back({prompt, sampling, 5 + static_cast<int64_t>(rng() % 25),
                       std::make_shared<CollectingSink>()});
      engine.Submit(Request(prompt, sampling, cases.back().max_tokens, cases.back().sink));
    }
    for (const Case& c : cases) {
      EXPECT_EQ(c.sink->WaitTokens(), Alone(*model, c.prompt, c.sampling, c.max_tokens));
      const RequestOutput last = c.sink->Wait().back();
      EXPECT_EQ(last.finish_reason, FinishReason::kLength);
      EXPECT_EQ(last.completion_tokens, c.max_tokens);
    }
    const EngineStats stats = engine.Stats();
    EXPECT_EQ(stats.used_blocks, 0);
    EXPECT_EQ(stats.running + stats.waiting, 0);
    preemptions += stats.preemptions;
  }
  EXPECT_GT(preemptions, 0) << "the cache was meant to be small enough to force preemption";
}

TEST(EngineTest, SharedPrefixIsServedFromTheCacheWithIdenticalOutput) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[3]));
  Engine engine(Cpu(*model, 64, 16), {});
  std::mt19937 rng(5);
  std::vector<int32_t> prompt = RandomIds(rng, 256);
  prompt.push_back(7);
  const SamplingParams greedy{.temperature = 0.0f};
  auto first = std::make_shared<CollectingSink>();
  engine.Submit(Request(prompt, greedy, 12, first));
  const std::vector<int32_t> expected = first->WaitTokens();
  EXPECT_EQ(first->Wait().back().cached_tokens, 0);

  auto second = std::make_shared<CollectingSink>();
  engine.Submit(Request(prompt, greedy, 12, second));
  EXPECT_EQ(second->WaitTokens(), expected);
  EXPECT_EQ(second->Wait().back().cached_tokens, 256);
  EXPECT_EQ(engine.Stats().prefix_cache_hit_tokens, 256);
}

TEST(EngineTest, ChunkedPrefillGivesTheSamePromptLogprobs) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[1]));
  std::mt19937 rng(6);
  const std::vector<int32_t> prompt = RandomIds(rng, 100);
  std::vector<std::vector<float>> results;
  for (int64_t budget : {16, 8192}) {
    Engine engine(Cpu(*model, 32, 16), {.scheduler = {.max_num_batched_tokens = budget}});
    auto sink = std::make_shared<CollectingSink>();
    EngineRequest r = Request(prompt, {.temperature = 0.0f}, 3, sink);
    r.output_options.return_prompt_logprobs = true;
    engine.Submit(std::move(r));
    results.push_back(sink->Wait().back().prompt_logprobs);
    ASSERT_EQ(results.back().size(), prompt.size() - 1);
  }
  for (size_t i = 0; i < results[0].size(); ++i) EXPECT_NEAR(results[0][i], results[1][i], 1e-5);
}

TEST(EngineTest, AbortEndsTheRequestAndFreesItsBlocks) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[0]));
  Engine engine(Cpu(*model, 200), {});
  auto sink = std::make_shared<CollectingSink>();
  const RequestId id = engine.Submit(Request({1, 2, 3}, {.temperature = 0.0f}, 400, sink));
  engine.Abort(id);
  const RequestOutput last = sink->Wait().back();
  EXPECT_TRUE(last.finished);
  EXPECT_EQ(last.finish_reason, FinishReason::kAborted);
  EXPECT_LT(last.completion_tokens, 400);
}

TEST(EngineTest, RefusesPastTheQueueLimitAndOverlongPrompts) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[1]));
  Engine engine(Cpu(*model, 200), {.scheduler = {.max_num_seqs = 1, .max_queued_requests = 1}});
  auto too_long = std::make_shared<CollectingSink>();
  engine.Submit(Request(std::vector<int32_t>(512, 1), {}, 4, too_long));
  EXPECT_EQ(too_long->Wait().back().error.code(), absl::StatusCode::kInvalidArgument);

  // One runs, one waits; the queue holds one, so a third is refused whatever the timing.
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  std::vector<RequestId> ids;
  for (int i = 0; i < 3; ++i) {
    sinks.push_back(std::make_shared<CollectingSink>());
    ids.push_back(engine.Submit(Request({1, 2}, {}, 400, sinks.back())));
  }
  for (RequestId id : ids) engine.Abort(id);
  int refused = 0;
  for (auto& sink : sinks) {
    const RequestOutput last = sink->Wait().back();
    if (!last.error.ok()) {
      EXPECT_EQ(last.error.code(), absl::StatusCode::kResourceExhausted);
      ++refused;
    } else {
      EXPECT_EQ(last.finish_reason, FinishReason::kAborted);
    }
  }
  EXPECT_GE(refused, 1);
}

TEST(EngineTest, ContextLimitIsTheSmallestOfConfiguredModelAndCache) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[1]));
  const int64_t positions = model->config().max_position_embeddings;
  EXPECT_EQ(Engine(Cpu(*model, 1000), {}).max_context_tokens(), positions);
  EXPECT_EQ(Engine(Cpu(*model, 1000), {.max_context_tokens = positions + 5}).max_context_tokens(),
            positions);
  EXPECT_EQ(Engine(Cpu(*model, 2), {}).max_context_tokens(), 8);  // two blocks of four tokens

  Engine engine(Cpu(*model, 64), {.max_context_tokens = 10});
  EXPECT_EQ(engine.max_context_tokens(), 10);
  auto sink = std::make_shared<CollectingSink>();
  engine.Submit(Request({1, 2, 3, 4, 5, 6}, {}, 100, sink));
  const RequestOutput last = sink->Wait().back();
  EXPECT_EQ(last.finish_reason, FinishReason::kContextLimit);
  EXPECT_EQ(last.completion_tokens, 4);  // 6 + 4 = the limit of 10
}

// EG-MLA's grouped decode (EGMLA_DECODE.md) through everything that moves tokens around: chunked
// prefill, preemption (the runner's groups rebuilt) and prefix-cache hits (positions it never
// computed). Each request's greedy tokens equal those of the recompute reference.
TEST(EngineTest, GroupedEgMlaDecodeGivesTheRecomputeTokens) {
  const ModelConfig config = testing::TestConfig(testing::TestVariants()[3]);
  for (const GateMode gate : {GateMode::kTable, GateMode::kOnTheFly}) {
    SCOPED_TRACE(gate == GateMode::kTable ? "table" : "onthefly");
    std::vector<std::vector<int32_t>> tokens[2];
    int64_t preemptions = 0, cached = 0;
    for (const EgMlaDecode mode : {EgMlaDecode::kGrouped, EgMlaDecode::kRecompute}) {
      auto model = testing::MakeTestModel(config, {.gate_mode = gate, .eg_mla_decode = mode});
      // 24 blocks of 4 tokens for 6 requests of up to 12 + 16 tokens: some are preempted.
      Engine engine(Cpu(*model, 24), {.scheduler = {.max_num_batched_tokens = 10}});
      std::mt19937 rng(9);
      const std::vector<int32_t> shared = RandomIds(rng, 8);
      std::vector<std::shared_ptr<CollectingSink>> sinks;
      for (int i = 0; i < 6; ++i) {
        std::vector<int32_t> prompt = shared;  // a shared prefix of two blocks
        for (int k = 0; k < 4; ++k) prompt.push_back(static_cast<int32_t>(rng() % 5));
        sinks.push_back(std::make_shared<CollectingSink>());
        engine.Submit(Request(prompt, {.temperature = 0.0f}, 16, sinks.back()));
        if (i == 0) sinks[0]->Wait();  // the first computes the prefix the others hit
      }
      for (auto& sink : sinks) {
        const RequestOutput last = sink->Wait().back();
        ASSERT_TRUE(last.error.ok()) << last.error;
        tokens[static_cast<int>(mode)].push_back(sink->WaitTokens());
        cached += last.cached_tokens;
      }
      preemptions += engine.Stats().preemptions;
    }
    EXPECT_EQ(tokens[0], tokens[1]);
    EXPECT_GT(preemptions, 0) << "the test must cover preemption";
    EXPECT_GT(cached, 0) << "the test must cover prefix-cache hits";
  }
}

TEST(EngineTest, StopsAtEosAndStopIds) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[3]));
  Engine engine(Cpu(*model, 64), {});
  const SamplingParams greedy{.temperature = 0.0f};
  const std::vector<int32_t> free_run = Alone(*model, {4, 5, 6}, greedy, 10);
  auto sink = std::make_shared<CollectingSink>();
  EngineRequest r = Request({4, 5, 6}, greedy, 10, sink);
  r.stopping.stop_token_ids = {free_run[3]};
  engine.Submit(std::move(r));
  const std::vector<int32_t> got = sink->WaitTokens();
  const auto stop_at = std::find(free_run.begin(), free_run.end(), free_run[3]) - free_run.begin();
  EXPECT_EQ(got, std::vector<int32_t>(free_run.begin(), free_run.begin() + stop_at + 1));
  const RequestOutput last = sink->Wait().back();
  EXPECT_EQ(last.finish_reason, FinishReason::kStop);
  EXPECT_EQ(last.matched_stop_token_id, free_run[3]);
}

TEST(EngineTest, MinTokensMasksStopIds) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[1]));
  Engine engine(Cpu(*model, 64), {});
  const SamplingParams greedy{.temperature = 0.0f};
  const std::vector<int32_t> free_run = Alone(*model, {4, 5, 6}, greedy, 1);
  auto sink = std::make_shared<CollectingSink>();
  EngineRequest r = Request({4, 5, 6}, greedy, 10, sink);
  r.stopping.stop_token_ids = {free_run[0]};
  r.stopping.min_tokens = 3;
  engine.Submit(std::move(r));
  const std::vector<int32_t> got = sink->WaitTokens();
  ASSERT_GE(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NE(got[i], free_run[0]) << "output " << i;
}

// A model whose vocabulary is the tiny SentencePiece test tokenizer's (600 pieces).
struct TextModel {
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Model> model;
};

TextModel MakeTextModel() {
  TextModel t;
  t.tokenizer = *LoadTokenizer(std::string(EGMLA_TEST_DATA_DIR) + "/tokenizers/tiny_sp.model");
  ModelConfig config = testing::TestConfig(testing::TestVariants()[3]);
  config.vocab_size = t.tokenizer->vocab_size();
  t.model = testing::MakeTestModel(config);
  return t;
}

// What the stream's text must be: the tokens' bytes, whole characters, as the detokenizer makes.
std::string ReferenceText(const Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  StreamingDetokenizer detokenizer(tokenizer);
  std::string text;
  for (int32_t id : ids) text += detokenizer.Add(id);
  return text + detokenizer.Finish();
}

std::string StreamedText(const std::vector<RequestOutput>& outputs) {
  std::string text;
  for (const RequestOutput& o : outputs) text += o.text;
  return text;
}

TEST(EngineTest, StreamsTextWithATokenizer) {
  TextModel t = MakeTextModel();
  Engine engine(Cpu(*t.model, 64), {}, nullptr, t.tokenizer.get());
  const std::vector<int32_t> prompt = *t.tokenizer->Encode("This program is free software");
  auto sink = std::make_shared<CollectingSink>();
  engine.Submit(Request(prompt, {.temperature = 0.0f}, 40, sink));
  const std::vector<RequestOutput> outputs = sink->Wait();
  const std::vector<int32_t> ids = sink->WaitTokens();
  EXPECT_EQ(StreamedText(outputs), ReferenceText(*t.tokenizer, ids));
}

// An engine over the text model, and the greedy run of a fixed prompt computed alone: what the
// stop-sequence tests cut.
class EngineStopSequenceTest : public ::testing::Test {
 protected:
  TextModel t = MakeTextModel();
  Engine engine{Cpu(*t.model, 64), {}, nullptr, t.tokenizer.get()};
  std::vector<int32_t> prompt = *t.tokenizer->Encode("Everyone is permitted to copy");
  SamplingParams greedy{.temperature = 0.0f};
  std::vector<int32_t> free_run = Alone(*t.model, prompt, greedy, 40);
  std::string free_text = ReferenceText(*t.tokenizer, free_run);
};

TEST_F(EngineStopSequenceTest, SplitAcrossTokensEndsTheRequestAndCutsTheText) {
  // A stop string that ends inside a later token's text and starts in an earlier one.
  std::string prefix_text;
  size_t boundary = 0;  // byte offset where token 10's text starts
  for (size_t i = 0; i < 10; ++i) prefix_text += t.tokenizer->TokenBytes(free_run[i]);
  boundary = prefix_text.size();
  ASSERT_GT(free_text.size(), boundary + 2);
  const std::string stop = free_text.substr(boundary - 1, 3);
  const size_t cut = free_text.find(stop);

  auto sink = std::make_shared<CollectingSink>();
  EngineRequest r = Request(prompt, greedy, 40, sink);
  r.stop_sequences = {stop};
  engine.Submit(std::move(r));
  const std::vector<RequestOutput> outputs = sink->Wait();
  EXPECT_EQ(StreamedText(outputs), free_text.substr(0, cut));
  EXPECT_EQ(outputs.back().finish_reason, FinishReason::kStopSequence);
  EXPECT_EQ(outputs.back().matched_stop_sequence, stop);
  const std::vector<int32_t> got = sink->WaitTokens();
  EXPECT_LT(got.size(), free_run.size());
  EXPECT_EQ(got, std::vector<int32_t>(free_run.begin(), free_run.begin() + got.size()));
  EXPECT_EQ(engine.Stats().used_blocks, 0);
}

// Issue 14: a stop sequence completed by the token that also reaches max_tokens ends the
// request with STOP_SEQUENCE (it used to say LENGTH while the text was cut and matched_stop set).
TEST_F(EngineStopSequenceTest, MatchedOnTheLastAllowedTokenItWins) {
  // The first k >= 8 whose streamed text starts with a printable byte, after text that ends
  // with one, where these two bytes first occur in the text right at that boundary.
  StreamingDetokenizer detokenizer(*t.tokenizer);
  std::string before;  // the text streamed for tokens [0, k)
  auto printable = [](char c) { return c >= 0x21 && c <= 0x7e; };
  for (size_t k = 0; k < free_run.size(); ++k) {
    const std::string piece = detokenizer.Add(free_run[k]);
    if (k >= 8 && !piece.empty() && !before.empty() && printable(before.back()) &&
        printable(piece.front())) {
      const std::string stop = {before.back(), piece.front()};
      if (free_text.find(stop) == before.size() - 1) {
        SCOPED_TRACE(k);
        auto sink = std::make_shared<CollectingSink>();
        EngineRequest r = Request(prompt, greedy, static_cast<int64_t>(k) + 1, sink);
        r.stop_sequences = {stop};
        engine.Submit(std::move(r));
        const std::vector<RequestOutput> outputs = sink->Wait();
        EXPECT_EQ(sink->WaitTokens().size(), k + 1);  // max_tokens reached on that step too
        EXPECT_EQ(outputs.back().finish_reason, FinishReason::kStopSequence);
        EXPECT_EQ(outputs.back().matched_stop_sequence, stop);
        EXPECT_EQ(StreamedText(outputs), before.substr(0, before.size() - 1));
        EXPECT_EQ(outputs.back().completion_tokens, static_cast<int64_t>(k) + 1);
        return;
      }
    }
    before += piece;
  }
  FAIL() << "no token boundary fits the test in " << free_text;
}

// Delegates to a real tokenizer; TokenBytes blocks while the gate is closed, wedging the engine
// thread in the middle of a step (as a hung kernel or a deadlock would).
class GatedTokenizer : public Tokenizer {
 public:
  explicit GatedTokenizer(const Tokenizer& inner) : inner_(inner) {}
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text) const override {
    return inner_.Encode(text);
  }
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids) const override {
    return inner_.Decode(ids);
  }
  std::string_view TokenBytes(int32_t id) const override {
    std::unique_lock<std::mutex> lock(mu_);
    ++blocked_;
    open_cv_.wait(lock, [this] { return open_; });
    --blocked_;
    return inner_.TokenBytes(id);
  }
  int64_t vocab_size() const override { return inner_.vocab_size(); }
  int64_t max_token_bytes() const override { return inner_.max_token_bytes(); }
  bool IsSpecialToken(int32_t id) const override { return inner_.IsSpecialToken(id); }
  std::optional<int32_t> TokenId(std::string_view token) const override {
    return inner_.TokenId(token);
  }

  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    open_cv_.notify_all();
  }
  bool IsBlocked() const {
    std::lock_guard<std::mutex> lock(mu_);
    return blocked_ > 0;
  }

 private:
  const Tokenizer& inner_;
  mutable std::mutex mu_;
  mutable std::condition_variable open_cv_;
  bool open_ = false;
  mutable int blocked_ = 0;
};

TEST(EngineTest, StalledForGrowsOnlyWhileAWedgedEngineHasWork) {
  TextModel t = MakeTextModel();
  GatedTokenizer gated(*t.tokenizer);
  Engine engine(Cpu(*t.model, 64), {}, nullptr, &gated);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(engine.StalledFor(), std::chrono::steady_clock::duration::zero()) << "idle";

  auto sink = std::make_shared<CollectingSink>();
  engine.Submit(
      Request(*t.tokenizer->Encode("Everyone is permitted"), {.temperature = 0.0f}, 4, sink));
  for (int i = 0; i < 500 && !gated.IsBlocked(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(gated.IsBlocked()) << "the engine thread should be stuck in TokenBytes";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto stalled = engine.StalledFor();
  EXPECT_GE(stalled, std::chrono::milliseconds(200));

  gated.Open();
  ASSERT_EQ(sink->WaitTokens().size(), 4u);
  EXPECT_EQ(engine.StalledFor(), std::chrono::steady_clock::duration::zero()) << "idle again";
}

// The CPU runner, failing its `fail_at`-th Execute of a step with requests; `sticky` makes it
// failed() from then on, as a CUDA runner after a kernel fault.
class FailingExecutor final : public Executor {
 public:
  FailingExecutor(std::unique_ptr<Executor> inner, int fail_at, bool sticky)
      : inner_(std::move(inner)), fail_at_(fail_at), sticky_(sticky) {}
  absl::StatusOr<ModelRunnerOutput> Execute(const SchedulerOutput& step) override {
    if (failed_) return absl::InternalError("device lost");
    if (!step.requests.empty() && ++steps_ == fail_at_) {
      failed_ = sticky_;
      return absl::InternalError("cudaErrorIllegalAddress");
    }
    return inner_->Execute(step);
  }
  const ModelConfig& model_config() const override { return inner_->model_config(); }
  CacheSpec cache_spec() const override { return inner_->cache_spec(); }
  int64_t num_blocks() const override { return inner_->num_blocks(); }
  int64_t block_size() const override { return inner_->block_size(); }
  ExecutorInfo info() const override { return inner_->info(); }
  size_t num_tracked_requests() const override { return inner_->num_tracked_requests(); }
  bool failed() const override { return failed_; }

 private:
  std::unique_ptr<Executor> inner_;
  int fail_at_, steps_ = 0;
  bool sticky_, failed_ = false;
};

TEST(EngineTest, ATransientRunnerErrorFailsOnlyItsStepsRequests) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[1]));
  Engine engine(std::make_unique<FailingExecutor>(Cpu(*model, 64), 1, /*sticky=*/false), {});
  auto first = std::make_shared<CollectingSink>();
  engine.Submit(Request({1, 2, 3}, {.temperature = 0.0f}, 3, first));
  const std::vector<RequestOutput> failed = first->Wait();
  ASSERT_FALSE(failed.empty());
  EXPECT_EQ(failed.back().error.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(failed.back().error.message(), ::testing::HasSubstr("cudaErrorIllegalAddress"));
  auto second = std::make_shared<CollectingSink>();
  engine.Submit(Request({1, 2, 3}, {.temperature = 0.0f}, 3, second));
  EXPECT_EQ(second->WaitTokens().size(), 3u);
  EXPECT_EQ(engine.Stats().used_blocks, 0);
}

TEST(EngineTest, AStickyRunnerErrorFailsEveryRequestAndReportsOnce) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[1]));
  std::mutex mu;
  std::condition_variable reported_cv;
  int reports = 0;
  Engine engine(std::make_unique<FailingExecutor>(Cpu(*model, 64), 3, /*sticky=*/true),
                {.scheduler = {.max_num_seqs = 1}, .on_executor_failed = [&](const absl::Status&) {
                   std::lock_guard<std::mutex> lock(mu);
                   ++reports;
                   reported_cv.notify_all();
                 }});
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (int i = 0; i < 3; ++i) {  // one runs, two wait (max_num_seqs 1)
    sinks.push_back(std::make_shared<CollectingSink>());
    engine.Submit(Request({1, 2, 3}, {.temperature = 0.0f}, 20, sinks.back()));
  }
  for (const auto& sink : sinks) {
    EXPECT_EQ(sink->Wait().back().error.code(), absl::StatusCode::kInternal);
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    reported_cv.wait(lock, [&] { return reports > 0; });
    EXPECT_EQ(reports, 1);
  }
  auto late = std::make_shared<CollectingSink>();
  engine.Submit(Request({1, 2}, {.temperature = 0.0f}, 2, late));
  EXPECT_EQ(late->Wait().back().error.code(), absl::StatusCode::kInternal);
  const EngineStats stats = engine.Stats();
  EXPECT_EQ(stats.running + stats.waiting, 0);
}

}  // namespace
}  // namespace egmla
