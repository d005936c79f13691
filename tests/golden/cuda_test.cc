// Every golden checkpoint (tests/golden/CMakeLists.txt writes them with the PyTorch reference) on
// the CUDA runner: the logits of the prompt, computed as a chunk and then token by token over the
// paged bf16 cache, match the reference's in both gate modes. Built against the CUDA runtime
// (label gpu) and the SIMT emulator (label emu).
//
// Tolerance: 2^-4 of the largest |logit| of the variant, the bf16 bound derived in
// runner/cuda/cuda_model_test.cc (about 20 roundings of 2^-9 between the embedding and a logit);
// the CPU model, in fp32, is within 1e-4 of the same reference (decode_test.cc).
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "gtest/gtest.h"
#include "kernels/cuda/gpu_test_util.h"
#include "model/model.h"
#include "runner/cuda/cuda_model.h"
#include "tests/golden/golden_files.h"

namespace egmla {
namespace {

using ::egmla::cuda::gpu_test::GpuTest;

using golden::ReadFloats;
using golden::ReadJson;

// The prompt on the device: its first `chunk` ids as one step, then one id per step; every row's
// logits. Blocks of 4 slots, taken in reverse order.
std::vector<float> RunOnDevice(const Model& model, const std::vector<int32_t>& ids, int64_t chunk) {
  const int64_t n = static_cast<int64_t>(ids.size()), block_size = 4;
  const int64_t num_blocks = (n + block_size - 1) / block_size + 2;
  absl::StatusOr<std::unique_ptr<cuda::CudaModel>> device =
      cuda::CudaModel::Create(model, {.num_blocks = num_blocks,
                                      .block_size = block_size,
                                      .max_num_seqs = 1,
                                      .max_batched_tokens = chunk,
                                      .max_logit_rows = 3});
  EXPECT_TRUE(device.ok()) << device.status();
  if (!device.ok()) return {};
  std::vector<BlockId> table;
  std::vector<float> logits;
  int64_t past = 0, on_device = 0;
  while (past < n) {
    const int64_t step = past == 0 ? chunk : 1;
    while (static_cast<int64_t>(table.size()) * block_size < past + step) {
      table.push_back(static_cast<BlockId>(num_blocks - 1 - table.size()));
    }
    cuda::CudaBatch batch{
        .token_ids = std::vector<int32_t>(ids.begin() + past, ids.begin() + past + step),
        .sequences = {{.num_new = step,
                       .num_past = past,
                       .num_prompt = n,
                       .block_table = table,
                       .num_blocks_on_device = on_device}}};
    batch.logit_rows.resize(step);
    std::iota(batch.logit_rows.begin(), batch.logit_rows.end(), 0);
    absl::StatusOr<std::vector<float>> out = (*device)->Forward(batch);
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return {};
    logits.insert(logits.end(), out->begin(), out->end());
    past += step;
    on_device = static_cast<int64_t>(table.size());
  }
  return logits;
}

class GoldenCudaTest : public GpuTest {};

TEST_F(GoldenCudaTest, EveryVariantMatchesTheReferenceOnTheDevice) {
  const char* dir_env = std::getenv("EGMLA_GOLDEN_DIR");
  if (dir_env == nullptr) GTEST_SKIP() << "EGMLA_GOLDEN_DIR is not set (run through ctest)";
  const std::string golden = dir_env;
  const nlohmann::json variants = ReadJson(golden + "/variants.json")["variants"];
  ASSERT_FALSE(variants.empty());
  for (const auto& name : variants) {
    const std::string dir = golden + "/" + name.get<std::string>();
    SCOPED_TRACE(dir);
    const std::vector<int32_t> ids = ReadJson(dir + "/prompt.json")["token_ids"];
    const std::vector<float> reference = ReadFloats(dir + "/logits.f32");
    float max_abs = 0.0f;
    for (float x : reference) max_abs = std::max(max_abs, std::abs(x));
    const float tol = std::ldexp(1.0f, -4) * max_abs;
    for (GateMode mode : {GateMode::kTable, GateMode::kOnTheFly}) {
      absl::StatusOr<std::unique_ptr<Model>> model = Model::Load(dir, {.gate_mode = mode});
      ASSERT_TRUE(model.ok()) << model.status();
      const std::vector<float> got = RunOnDevice(**model, ids, 7);
      ASSERT_EQ(got.size(), reference.size());
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_NEAR(got[i], reference[i], tol) << "logit " << i;
      }
    }
  }
}

}  // namespace
}  // namespace egmla
