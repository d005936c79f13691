// The runner over the paged cache against the plain one-sequence forward pass: batching,
// scattered block tables, chunked prefill and prompt logprobs must not change a single bit.
#include "runner/cpu/cpu_model_runner.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cpu/vec.h"
#include "model/test_models.h"
#include "runner/sampler.h"

namespace egmla {
namespace {

constexpr int64_t kBlockSize = 4;
constexpr int64_t kNumBlocks = 64;

// Logits of every position of `ids` computed alone with a contiguous cache, token by token
// after the first `chunk` tokens.
std::vector<float> Alone(const Model& model, const std::vector<int32_t>& ids) {
  SequenceCache cache = model.NewCache();
  return *model.Forward(ids, &cache);
}

struct Sequence {
  RequestId id;
  std::vector<int32_t> ids;
  std::vector<BlockId> blocks;
  int64_t computed = 0;
};

// Distinct, shuffled blocks for each sequence.
void AssignBlocks(std::vector<Sequence>& seqs, std::mt19937& rng) {
  std::vector<BlockId> all(kNumBlocks);
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), rng);
  size_t next = 0;
  for (Sequence& s : seqs) {
    const size_t n = (s.ids.size() + kBlockSize - 1) / kBlockSize;
    s.blocks.assign(all.begin() + next, all.begin() + next + n);
    next += n;
  }
}

// Every test runs on the process's vector path (AVX2 + FMA where the CPU has it) and on the
// portable one: batch invariance must hold on both.
class CpuModelRunnerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "generic") ops::SetVecForTesting(&ops::GenericVec());
  }
  void TearDown() override { ops::SetVecForTesting(nullptr); }
};

INSTANTIATE_TEST_SUITE_P(VectorPaths, CpuModelRunnerTest, ::testing::Values("chosen", "generic"),
                         [](const auto& info) { return info.param; });

TEST_P(CpuModelRunnerTest, BatchedChunkedPagedPrefillEqualsEachSequenceAlone) {
  std::mt19937 rng(1);
  for (const testing::TestVariant& v : testing::TestVariants()) {
    SCOPED_TRACE(v.name);
    auto model = testing::MakeTestModel(testing::TestConfig(v));
    std::vector<Sequence> seqs;
    for (RequestId id = 1; id <= 3; ++id) {
      std::vector<int32_t> ids(9 + 7 * id);
      for (int32_t& t : ids) t = static_cast<int32_t>(rng() % 61);
      seqs.push_back({.id = id, .ids = ids});
    }
    AssignBlocks(seqs, rng);

    CpuModelRunner runner(*model, kNumBlocks, kBlockSize);
    std::vector<std::vector<float>> prompt_logprobs(seqs.size());
    std::vector<float> last_logprob(seqs.size());
    bool first = true;
    for (int64_t chunk : {5, 3, 7, 100}) {  // uneven chunks, all sequences in every step
      SchedulerOutput step;
      for (size_t i = 0; i < seqs.size(); ++i) {
        Sequence& s = seqs[i];
        if (first) {
          step.new_requests.push_back(
              {.request_id = s.id,
               .prompt_ids = s.ids,
               .sampling = {.temperature = 0.0f},
               .output_options = {.return_logprobs = true, .return_prompt_logprobs = true}});
        }
        const int64_t n = std::min<int64_t>(chunk, s.ids.size() - s.computed);
        if (n == 0) continue;
        step.requests.push_back(
            {.request_id = s.id,
             .token_ids = {s.ids.begin() + s.computed, s.ids.begin() + s.computed + n},
             .num_computed_tokens = s.computed,
             .new_block_ids = first ? s.blocks : std::vector<BlockId>{},
             .sample = s.computed + n == static_cast<int64_t>(s.ids.size())});
        s.computed += n;
      }
      first = false;
      ModelRunnerOutput out = *runner.Execute(step);
      for (size_t k = 0; k < step.requests.size(); ++k) {
        const size_t i = step.requests[k].request_id - 1;
        const SampledOutput& o = out.outputs[k];
        EXPECT_EQ(o.prompt_logprobs_start, step.requests[k].num_computed_tokens);
        prompt_logprobs[i].insert(prompt_logprobs[i].end(), o.prompt_logprobs.begin(),
                                  o.prompt_logprobs.end());
        if (step.requests[k].sample) {
          EXPECT_GE(o.token_id, 0);
          last_logprob[i] = o.logprob;
        } else {
          EXPECT_EQ(o.token_id, -1);
        }
      }
    }

    for (size_t i = 0; i < seqs.size(); ++i) {
      const std::vector<float> alone = Alone(*model, seqs[i].ids);
      const int64_t vocab = 61, t = static_cast<int64_t>(seqs[i].ids.size());
      ASSERT_EQ(static_cast<int64_t>(prompt_logprobs[i].size()), t - 1);
      for (int64_t p = 0; p + 1 < t; ++p) {
        const std::vector<float> lp = LogSoftmax(std::span(alone).subspan(p * vocab, vocab));
        ASSERT_EQ(prompt_logprobs[i][p], lp[seqs[i].ids[p + 1]])
            << "sequence " << i << " pos " << p;
      }
      const std::span<const float> last = std::span(alone).subspan((t - 1) * vocab, vocab);
      const int32_t greedy =
          static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
      EXPECT_EQ(last_logprob[i], LogSoftmax(last)[greedy]);
    }
  }
}

TEST_P(CpuModelRunnerTest, DecodeStepsMatchAloneAndForgetFinishedRequests) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[3]));
  CpuModelRunner runner(*model, kNumBlocks, kBlockSize);
  std::vector<int32_t> ids = {5, 9, 11, 3, 3, 8};
  const std::vector<BlockId> blocks = {7, 2, 40, 13};
  SchedulerOutput prefill{
      .new_requests = {{.request_id = 42, .prompt_ids = ids, .sampling = {.temperature = 0.0f}}},
      .requests = {{.request_id = 42,
                    .token_ids = ids,
                    .num_computed_tokens = 0,
                    .new_block_ids = blocks,
                    .sample = true}}};
  int32_t token = runner.Execute(prefill)->outputs[0].token_id;
  for (int step = 0; step < 8; ++step) {
    ids.push_back(token);
    const std::vector<float> alone = Alone(*model, ids);
    const auto last = std::span(alone).last(61);
    const int32_t expected =
        static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    SchedulerOutput decode{
        .requests = {{.request_id = 42,
                      .token_ids = {token},
                      .num_computed_tokens = static_cast<int64_t>(ids.size()) - 1,
                      .sample = true}}};
    token = runner.Execute(decode)->outputs[0].token_id;
    ASSERT_EQ(token, expected) << "step " << step;
  }
  EXPECT_EQ(runner.num_tracked_requests(), 1u);
  ASSERT_TRUE(runner.Execute({.finished_ids = {42}}).ok());
  EXPECT_EQ(runner.num_tracked_requests(), 0u);
}

TEST_P(CpuModelRunnerTest, BlocksArriveIncrementallyAndATooShortTableIsRefused) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[3]));
  CpuModelRunner runner(*model, kNumBlocks, kBlockSize);
  std::vector<int32_t> ids = {5, 9, 11};
  // One block for three tokens, then one more block when position 4 is reached.
  ASSERT_TRUE(runner
                  .Execute({.new_requests = {{.request_id = 1, .prompt_ids = ids}},
                            .requests = {{.request_id = 1,
                                          .token_ids = ids,
                                          .num_computed_tokens = 0,
                                          .new_block_ids = {9},
                                          .sample = true}}})
                  .ok());
  ASSERT_TRUE(runner
                  .Execute({.requests = {{.request_id = 1,
                                          .token_ids = {4},
                                          .num_computed_tokens = 3,
                                          .sample = true}}})
                  .ok());
  const absl::StatusOr<ModelRunnerOutput> short_table = runner.Execute(
      {.requests = {
           {.request_id = 1, .token_ids = {4}, .num_computed_tokens = 4, .sample = true}}});
  EXPECT_EQ(short_table.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(short_table.status().message()), ::testing::HasSubstr("request 1"));
  EXPECT_TRUE(runner
                  .Execute({.requests = {{.request_id = 1,
                                          .token_ids = {4},
                                          .num_computed_tokens = 4,
                                          .new_block_ids = {3},
                                          .sample = true}}})
                  .ok());
  const absl::StatusOr<ModelRunnerOutput> unknown = runner.Execute(
      {.requests = {{.request_id = 7, .token_ids = {4}, .new_block_ids = {1}, .sample = true}}});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInternal);
}

TEST(CpuModelRunnerInfoTest, ReportsTheCpuAndItsCache) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[3]));
  CpuModelRunner runner(*model, kNumBlocks, kBlockSize);
  EXPECT_EQ(runner.info().device, "cpu");
  EXPECT_EQ(runner.info().dtype, "f32");
  EXPECT_EQ(runner.info().kv_cache_dtype, "f32");
  EXPECT_FALSE(runner.info().device_name.empty());
  EXPECT_EQ(runner.num_blocks(), kNumBlocks);
  EXPECT_EQ(runner.block_size(), kBlockSize);
  EXPECT_EQ(runner.cache_spec().bytes_per_token(), model->cache_spec().bytes_per_token());
}

}  // namespace
}  // namespace egmla
