// The CUDA model against the CPU model (model/), every attention variant of the test set and both
// gate modes: the logits of a chunked prompt and of token-by-token decoding over a paged cache
// whose blocks are scattered; batch invariance (a sequence's logits are bitwise the same alone or
// batched); bad input refused; and the CUDA backend of MakeExecutor. ctest labels `gpu` and, on
// the emulator, `emu`.
//
// Tolerance (the CPU is fp32 throughout; CUDA rounds weights and every GEMM input to bf16, keeps
// the residual stream and accumulations in fp32): each bf16 rounding moves a value by at most
// u = 2^-9 relative. A logit passes through about 20 such roundings (per layer: the normed input
// and the weights of the attention projections, the attention output, o_proj, the MLP's input,
// weights and activation; 2 layers; then the final norm and lm_head), so in the worst case, the
// errors adding up, it moves by 20u ≈ 4% of the logits' scale (here max |logit|, the largest term
// scale of a row). 2^-4 (6.25%) of the largest |logit| is that bound with a little headroom for
// the attention softmax's amplification. Observed on the emulator: 1.0–2.9%. A wrong RoPE layout,
// one skipped cache token or a wrong head stride move the logits by 77–169% (the issue 17 note).
#include "runner/cuda/cuda_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cuda/gpu_test_util.h"
#include "model/test_models.h"
#include "runner/cuda/cuda_backend.h"

namespace egmla::cuda {
namespace {

using ::egmla::cuda::gpu_test::GpuTest;
using ::testing::HasSubstr;

const float kRelativeTolerance = std::ldexp(1.0f, -4);

float MaxAbs(const std::vector<float>& v) {
  float m = 0.0f;
  for (float x : v) m = std::max(m, std::abs(x));
  return m;
}

// One sequence on the CUDA model: `chunks` new-token counts in order (the prompt is the first
// `num_prompt` ids), every row's logits. Its blocks are taken from the end of the cache, reversed,
// and sent to the device as the sequence grows.
class CudaSequenceRunner {
 public:
  CudaSequenceRunner(CudaModel& model, int64_t block_size, int64_t num_blocks, int32_t table_row,
                     int64_t first_block_from_end)
      : model_(model),
        block_size_(block_size),
        num_blocks_(num_blocks),
        table_row_(table_row),
        next_block_(num_blocks - 1 - first_block_from_end) {}

  // The CudaSequence of the next ids (growing the table and the token groups), for a batch whose
  // rows start at `first_row`.
  CudaSequence Next(std::span<const int32_t> ids, int64_t num_prompt, int64_t first_row) {
    const int64_t n = static_cast<int64_t>(ids.size());
    groups_.Truncate(past_);
    groups_.Append(ids);
    while (static_cast<int64_t>(table_.size()) * block_size_ < past_ + n) {
      table_.push_back(static_cast<BlockId>(next_block_));
      next_block_ -= 2;  // every other block: sequences interleave
    }
    CudaSequence s{.first_row = first_row,
                   .num_new = n,
                   .num_past = past_,
                   .num_prompt = num_prompt,
                   .table_row = table_row_,
                   .block_table = table_,
                   .num_blocks_on_device = on_device_,
                   .groups = &groups_};
    return s;
  }
  void Done(int64_t n) {
    past_ += n;
    on_device_ = static_cast<int64_t>(table_.size());
  }

 private:
  CudaModel& model_;
  int64_t block_size_, num_blocks_;
  int32_t table_row_;
  int64_t next_block_;
  std::vector<BlockId> table_;
  TokenGroups groups_;
  int64_t past_ = 0, on_device_ = 0;
};

std::vector<float> RunAlone(CudaModel& model, const std::vector<int32_t>& ids,
                            const std::vector<int64_t>& chunks, int64_t num_prompt,
                            int64_t block_size, int64_t num_blocks) {
  CudaSequenceRunner seq(model, block_size, num_blocks, 0, 0);
  std::vector<float> all;
  int64_t at = 0;
  for (int64_t n : chunks) {
    CudaBatch batch;
    batch.token_ids.assign(ids.begin() + at, ids.begin() + at + n);
    batch.sequences.push_back(seq.Next(batch.token_ids, num_prompt, 0));
    batch.logit_rows.resize(n);
    std::iota(batch.logit_rows.begin(), batch.logit_rows.end(), 0);
    absl::StatusOr<std::vector<float>> logits = model.Forward(batch);
    EXPECT_TRUE(logits.ok()) << logits.status();
    if (!logits.ok()) return {};
    all.insert(all.end(), logits->begin(), logits->end());
    seq.Done(n);
    at += n;
  }
  return all;
}

std::vector<float> RunCpu(const Model& model, const std::vector<int32_t>& ids,
                          const std::vector<int64_t>& chunks) {
  SequenceCache cache = model.NewCache();
  std::vector<float> all;
  int64_t at = 0;
  for (int64_t n : chunks) {
    const std::vector<float> logits = *model.Forward(std::span(ids).subspan(at, n), &cache);
    all.insert(all.end(), logits.begin(), logits.end());
    at += n;
  }
  return all;
}

class CudaModelTest : public GpuTest {};

TEST_F(CudaModelTest, EveryVariantMatchesTheCpuModelChunkedAndDecoding) {
  std::mt19937 rng(5);
  for (const testing::TestVariant& v : testing::TestVariants()) {
    for (const auto& [mode, grouped] : {std::pair{GateMode::kTable, true},
                                        {GateMode::kOnTheFly, true},
                                        {GateMode::kTable, false}}) {
      SCOPED_TRACE(v.name + (mode == GateMode::kTable ? " table" : " onthefly") +
                   (grouped ? " grouped" : " recompute"));
      const ModelConfig config = testing::TestConfig(v);
      // The CPU reference decodes eg_mla as the CUDA runner does.
      auto cpu = testing::MakeTestModel(
          config,
          ModelOptions{.gate_mode = mode,
                       .eg_mla_decode = grouped ? EgMlaDecode::kGrouped : EgMlaDecode::kRecompute});
      const CudaModelOptions options{.num_blocks = 64,
                                     .block_size = 4,
                                     .max_num_seqs = 2,
                                     .max_batched_tokens = 16,
                                     .max_logit_rows = 5,
                                     .eg_mla_grouped = grouped};
      absl::StatusOr<std::unique_ptr<CudaModel>> gpu = CudaModel::Create(*cpu, options);
      ASSERT_TRUE(gpu.ok()) << gpu.status();
      std::vector<int32_t> ids(17);
      for (int32_t& t : ids) t = static_cast<int32_t>(rng() % config.vocab_size);
      const std::vector<int64_t> chunks = {7, 4, 1, 1, 1, 1, 1, 1};
      const std::vector<float> want = RunCpu(*cpu, ids, chunks);
      // Model::Forward counts its first chunk as the prompt: the same here.
      const std::vector<float> got = RunAlone(**gpu, ids, chunks, chunks[0], 4, 64);
      ASSERT_EQ(got.size(), want.size());
      const float tol = kRelativeTolerance * MaxAbs(want);
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_NEAR(got[i], want[i], tol)
            << "logit " << i % config.vocab_size << " of row " << i / config.vocab_size;
      }
    }
  }
}

TEST_F(CudaModelTest, ASequencesLogitsAreBitwiseTheSameAloneOrBatched) {
  std::mt19937 rng(6);
  for (const testing::TestVariant& v : testing::TestVariants()) {
    SCOPED_TRACE(v.name);
    const ModelConfig config = testing::TestConfig(v);
    auto cpu = testing::MakeTestModel(config);
    const CudaModelOptions options{.num_blocks = 64,
                                   .block_size = 4,
                                   .max_num_seqs = 2,
                                   .max_batched_tokens = 32,
                                   .max_logit_rows = 3};
    auto gpu = *CudaModel::Create(*cpu, options);
    std::vector<int32_t> a(12), b(9);
    for (int32_t& t : a) t = static_cast<int32_t>(rng() % config.vocab_size);
    for (int32_t& t : b) t = static_cast<int32_t>(rng() % config.vocab_size);
    const std::vector<int64_t> a_chunks = {9, 1, 1, 1}, b_chunks = {5, 2, 1, 1};
    const std::vector<float> a_alone = RunAlone(*gpu, a, a_chunks, 9, 4, 64);
    const std::vector<float> b_alone = RunAlone(*gpu, b, b_chunks, 5, 4, 64);

    // Both in every step, b first; their blocks interleave in the cache.
    CudaSequenceRunner sa(*gpu, 4, 64, 1, 0), sb(*gpu, 4, 64, 0, 1);
    std::vector<float> a_batched, b_batched;
    int64_t at_a = 0, at_b = 0;
    const int64_t vocab = config.vocab_size;
    for (size_t step = 0; step < a_chunks.size(); ++step) {
      const int64_t na = a_chunks[step], nb = b_chunks[step];
      CudaBatch batch;
      batch.token_ids.assign(b.begin() + at_b, b.begin() + at_b + nb);
      batch.token_ids.insert(batch.token_ids.end(), a.begin() + at_a, a.begin() + at_a + na);
      batch.sequences = {sb.Next(std::span(b).subspan(at_b, nb), 5, 0),
                         sa.Next(std::span(a).subspan(at_a, na), 9, nb)};
      batch.logit_rows.resize(na + nb);
      std::iota(batch.logit_rows.begin(), batch.logit_rows.end(), 0);
      const std::vector<float> logits = *gpu->Forward(batch);
      b_batched.insert(b_batched.end(), logits.begin(), logits.begin() + nb * vocab);
      a_batched.insert(a_batched.end(), logits.begin() + nb * vocab, logits.end());
      sa.Done(na);
      sb.Done(nb);
      at_a += na;
      at_b += nb;
    }
    EXPECT_EQ(a_batched, a_alone);
    EXPECT_EQ(b_batched, b_alone);
  }
}

// Decode rows beyond what the split-KV and grouped workspaces hold in one go (sized for
// max_num_seqs sequences: here one) run in several passes; each row's logits are bitwise those it
// gets decoded alone.
TEST_F(CudaModelTest, DecodeRowsBeyondTheWorkspaceRunInPassesWithTheSameBits) {
  std::mt19937 rng(8);
  for (const testing::TestVariant& v : testing::TestVariants()) {
    SCOPED_TRACE(v.name);
    const ModelConfig config = testing::TestConfig(v);
    auto cpu = testing::MakeTestModel(config);
    const CudaModelOptions options{.num_blocks = 200,  // the runner takes every other block
                                   .block_size = 4,
                                   .max_num_seqs = 1,
                                   .max_batched_tokens = 300,
                                   .max_logit_rows = 2};
    auto gpu = *CudaModel::Create(*cpu, options);
    std::vector<int32_t> ids(303);
    for (int32_t& t : ids) t = static_cast<int32_t>(rng() % 7);  // ids repeat: grouping matters
    const int64_t vocab = config.vocab_size;
    // Three decode rows in one step (positions 300..302, a resumed request's chunk) ...
    const std::vector<float> together = RunAlone(*gpu, ids, {300, 3}, 300, 4, 200);
    // ... and one per step.
    const std::vector<float> apart = RunAlone(*gpu, ids, {300, 1, 1, 1}, 300, 4, 200);
    ASSERT_EQ(together.size(), apart.size());
    EXPECT_TRUE(std::equal(together.end() - 3 * vocab, together.end(), apart.end() - 3 * vocab));
  }
}

TEST_F(CudaModelTest, RefusesBadInputNamingIt) {
  const ModelConfig config = testing::TestConfig(testing::TestVariants()[1]);
  auto cpu = testing::MakeTestModel(config);
  auto gpu = *CudaModel::Create(
      *cpu, {.num_blocks = 8, .block_size = 4, .max_num_seqs = 1, .max_batched_tokens = 8});
  const std::vector<BlockId> table = {3};
  CudaBatch bad_id{.token_ids = {1, static_cast<int32_t>(config.vocab_size)},
                   .sequences = {{.num_new = 2, .num_prompt = 2, .block_table = table}},
                   .logit_rows = {1}};
  EXPECT_EQ(gpu->Forward(bad_id).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(gpu->Forward(bad_id).status().message(), HasSubstr("outside the vocabulary"));
  CudaBatch short_table{.token_ids = {1, 2, 3, 4, 5},
                        .sequences = {{.num_new = 5, .num_prompt = 5, .block_table = table}},
                        .logit_rows = {4}};
  EXPECT_THAT(gpu->Forward(short_table).status().message(), HasSubstr("block table of 1 blocks"));
  CudaBatch too_many{.token_ids = std::vector<int32_t>(9, 1),
                     .sequences = {{.num_new = 9, .num_prompt = 9, .block_table = table}}};
  EXPECT_EQ(gpu->Forward(too_many).status().code(), absl::StatusCode::kInternal);
}

TEST_F(CudaModelTest, TheBackendServesBf16AndSizesTheCacheFromTheFlags) {
  RegisterCudaBackend(TheCudaBackend());
  const ModelConfig config = testing::TestConfig(testing::TestVariants()[3]);
  auto model = testing::MakeTestModel(config);
  std::string choice;
  absl::StatusOr<std::unique_ptr<Executor>> made = MakeExecutor(*model,
                                                                {.device = "auto",
                                                                 .num_kv_blocks = 40,
                                                                 .block_size = 4,
                                                                 .max_num_seqs = 4,
                                                                 .max_num_batched_tokens = 32},
                                                                &choice);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ((*made)->info().device, "cuda");
  EXPECT_EQ((*made)->info().dtype, "bf16");
  EXPECT_EQ((*made)->info().kv_cache_dtype, "bf16");
  EXPECT_EQ((*made)->info().eg_mla_decode, "grouped");
  EXPECT_EQ((*made)->num_blocks(), 40);
  EXPECT_THAT(choice, HasSubstr("cuda"));
  made = MakeExecutor(*model, {.device = "cuda",
                               .num_kv_blocks = 40,
                               .block_size = 4,
                               .max_num_seqs = 2,
                               .max_num_batched_tokens = 8,
                               .eg_mla_decode = "recompute"});
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ((*made)->info().eg_mla_decode, "recompute");
  // The cache's memory: bf16 rows plus the ids and statistics.
  const int64_t block_bytes = CudaModel::DeviceCacheSpec(config).bytes_per_token() * 4;
  made = MakeExecutor(*model, {.device = "cuda",
                               .kv_cache_memory_bytes = 150 * block_bytes + 3,
                               .block_size = 4,
                               .max_num_seqs = 2,
                               .max_num_batched_tokens = 8});
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ((*made)->num_blocks(), 150);
  bool kv_reported = false;
  for (const auto& [use, bytes] : (*made)->device_memory_bytes()) {
    if (use == "kv_cache") kv_reported = bytes >= 150 * block_bytes;
  }
  EXPECT_TRUE(kv_reported);

  auto message = [&](const ExecutorOptions& o) {
    return std::string(MakeExecutor(*model, o).status().message());
  };
  EXPECT_THAT(message({.device = "cuda", .dtype = "f32"}), HasSubstr("--dtype: 'f32'"));
  EXPECT_THAT(message({.device = "cuda", .kv_cache_dtype = "f32"}),
              HasSubstr("--kv-cache-dtype: 'f32'"));
  // Less than one full-length sequence: an error naming the numbers.
  EXPECT_THAT(message({.device = "cuda", .kv_cache_memory_bytes = block_bytes, .block_size = 4}),
              HasSubstr("one sequence of"));
  // --dtype f32 keeps auto on the CPU.
  made = MakeExecutor(*model, {.device = "auto", .dtype = "f32"}, &choice);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ((*made)->info().device, "cpu");
  EXPECT_THAT(choice, HasSubstr("CPU-only"));
}

}  // namespace
}  // namespace egmla::cuda
