// The engine on the CUDA runner (issue 17): concurrent requests through continuous batching —
// chunked prefill, preemption under a small cache, prefix-cache hits — each get exactly the
// tokens they get alone on the same runner, for every attention variant (batch invariance,
// DESIGN §4). ctest label `gpu` and, against the SIMT emulator, `emu`.
#include <random>

#include "engine/collecting_sink.h"
#include "engine/engine.h"
#include "gtest/gtest.h"
#include "kernels/cuda/gpu_test_util.h"
#include "model/test_models.h"
#include "runner/cuda/cuda_model_runner.h"

namespace egmla {
namespace {

using ::egmla::cuda::gpu_test::GpuTest;

constexpr int64_t kBlockSize = 4;
constexpr int64_t kMaxSeqs = 6;
constexpr int64_t kMaxBatchedTokens = 24;

std::unique_ptr<Executor> Cuda(const Model& model, int64_t num_blocks) {
  const cuda::CudaModelOptions options{.num_blocks = num_blocks,
                                       .block_size = kBlockSize,
                                       .max_num_seqs = kMaxSeqs,
                                       .max_batched_tokens = kMaxBatchedTokens,
                                       .max_logit_rows = 4};
  absl::StatusOr<std::unique_ptr<cuda::CudaModel>> model_on_device =
      cuda::CudaModel::Create(model, options);
  EXPECT_TRUE(model_on_device.ok()) << model_on_device.status();
  return std::make_unique<cuda::CudaModelRunner>(*std::move(model_on_device), options, "test");
}

EngineConfig Config() {
  return {.scheduler = {.max_num_seqs = kMaxSeqs, .max_num_batched_tokens = kMaxBatchedTokens}};
}

EngineRequest Request(std::vector<int32_t> prompt, SamplingParams sampling, int64_t max_tokens,
                      std::shared_ptr<OutputSink> sink) {
  return {.prompt_ids = std::move(prompt),
          .sampling = sampling,
          .stopping = {.max_tokens = max_tokens, .ignore_eos = true},
          .sink = std::move(sink)};
}

class EngineCudaTest : public GpuTest {};

TEST_F(EngineCudaTest, ConcurrentRequestsGetTheTokensTheyGetAloneOnTheSameRunner) {
  std::mt19937 rng(11);
  int64_t preemptions = 0, prefix_hits = 0;
  for (const testing::TestVariant& v : testing::TestVariants()) {
    SCOPED_TRACE(v.name);
    const ModelConfig config = testing::TestConfig(v);
    auto model = testing::MakeTestModel(config);
    auto random_ids = [&](size_t n) {
      std::vector<int32_t> ids(n);
      for (int32_t& t : ids) t = static_cast<int32_t>(rng() % config.vocab_size);
      return ids;
    };
    struct Case {
      std::vector<int32_t> prompt;
      SamplingParams sampling;
      int64_t max_tokens;
      std::shared_ptr<CollectingSink> sink;
    };
    std::vector<Case> cases;
    const std::vector<int32_t> shared = random_ids(10);
    for (int i = 0; i < 10; ++i) {
      std::vector<int32_t> prompt = i % 3 == 0 ? shared : random_ids(1 + rng() % 30);
      if (i % 3 == 0) prompt.push_back(i);
      const SamplingParams sampling{.temperature = i % 4 == 1 ? 0.8f : 0.0f,
                                    .seed = static_cast<uint64_t>(i)};
      cases.push_back({prompt, sampling, 4 + static_cast<int64_t>(rng() % 12),
                       std::make_shared<CollectingSink>()});
    }
    // Alone: one engine per request, a cache that never preempts.
    std::vector<std::vector<int32_t>> alone;
    for (const Case& c : cases) {
      Engine engine(Cuda(*model, 64), Config());
      auto sink = std::make_shared<CollectingSink>();
      engine.Submit(Request(c.prompt, c.sampling, c.max_tokens, sink));
      alone.push_back(sink->WaitTokens());
      ASSERT_EQ(static_cast<int64_t>(alone.back().size()), c.max_tokens);
    }
    // Together, with 22 blocks (88 tokens) for up to 6 sequences of up to ~45 tokens.
    Engine engine(Cuda(*model, 22), Config());
    for (const Case& c : cases) engine.Submit(Request(c.prompt, c.sampling, c.max_tokens, c.sink));
    for (size_t i = 0; i < cases.size(); ++i) {
      EXPECT_EQ(cases[i].sink->WaitTokens(), alone[i]) << "request " << i;
    }
    const EngineStats stats = engine.Stats();
    EXPECT_EQ(stats.used_blocks, 0);
    EXPECT_EQ(stats.running + stats.waiting, 0);
    preemptions += stats.preemptions;
    prefix_hits += stats.prefix_cache_hit_tokens;
  }
  EXPECT_GT(preemptions, 0) << "the cache was meant to be small enough to force preemption";
  EXPECT_GT(prefix_hits, 0) << "the shared prompts were meant to hit the prefix cache";
}

}  // namespace
}  // namespace egmla
