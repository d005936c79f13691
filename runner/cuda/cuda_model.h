// The model's forward pass on a CUDA device (issue 17): embeddings to logits for a batch of
// sequences, reading and writing a paged bf16 cache in device memory. Weights in bf16, activations
// in fp32 between kernels and bf16 into every GEMM; the residual stream stays fp32. Each step's
// inputs are packed into one pinned host buffer and copied with one asynchronous copy; block
// tables live on the device and receive only the new block ids. Workspaces are allocated at
// Create for the largest step (max_batched_tokens rows, one max_context sequence decompressed at a
// time), never per step. Every kernel's arithmetic for a row is independent of the batch
// (DESIGN §4), so a request's logits do not depend on what it is batched with.
//
// Attention, per type and position (the CPU model's choices, model/attention_latent.cc):
//   mha: every row over its sequence's cached K and V.
//   mla, eg_mla latent: prompt positions decompressed (K and V up-projected for the sequence's
//     visible positions, one sequence at a time), later positions absorbed (over the latent).
//   eg_mla up_projected: prompt positions recompute K and V with the gate (the direct form);
//     later positions decode grouped by token id (kernels/cuda/egmla_decode), or, with
//     eg_mla_grouped false, recompute too (the reference).
// Not thread-safe: the engine thread calls it.
#ifndef EGMLA_RUNNER_CUDA_CUDA_MODEL_H_
#define EGMLA_RUNNER_CUDA_CUDA_MODEL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cache_spec.h"
#include "common/ids.h"
#include "model/model.h"
#include "model/token_groups.h"

namespace egmla::cuda {

struct CudaModelOptions {
  int64_t num_blocks = 0;  // of the paged cache
  int64_t block_size = 16;
  int64_t max_num_seqs = 1;        // sequences in one step = device block-table rows
  int64_t max_batched_tokens = 1;  // rows in one step
  int64_t max_logit_rows = 256;    // logits computed per pass (more rows take several passes)
  // eg_mla up_projected: generated positions decode grouped by token id (EGMLA_DECODE.md §4);
  // false: every position recomputes K and V (the reference).
  bool eg_mla_grouped = true;
};

// Device bytes by use (egmla_device_memory_bytes{use}).
struct DeviceMemoryUse {
  int64_t weights = 0;
  int64_t kv_cache = 0;
  int64_t workspace = 0;
};

struct CudaSequence {
  int64_t first_row = 0;   // its first new token's row in the batch
  int64_t num_new = 0;     // new tokens, at positions num_past ..
  int64_t num_past = 0;    // tokens already in the cache
  int64_t num_prompt = 0;  // positions below this hold prompt tokens
  int32_t table_row = 0;   // its device block-table row, in [0, max_num_seqs)
  // Its whole block table; entries from num_blocks_on_device on are sent to the device now.
  std::span<const BlockId> block_table;
  int64_t num_blocks_on_device = 0;
  // eg_mla up_projected, grouped decode: the sequence's tokens grouped by id, covering at least
  // positions [0, num_past + num_new) (needed when the step has positions past the prompt).
  const TokenGroups* groups = nullptr;
};

struct CudaBatch {
  std::vector<int32_t> token_ids;       // [rows]
  std::vector<CudaSequence> sequences;  // their rows partition [0, rows), in order
  std::vector<int64_t> logit_rows;      // ascending
};

class CudaModel {
 public:
  // Uploads the weights, allocates the cache and the workspaces on the current device.
  // INVALID_ARGUMENT for options that cannot serve (no block, a value wider than the attention
  // kernel takes); RESOURCE_EXHAUSTED naming what did not fit.
  static absl::StatusOr<std::unique_ptr<CudaModel>> Create(const Model& model,
                                                           const CudaModelOptions& options);
  // Bytes Create allocates besides the cache: weights and workspaces.
  static DeviceMemoryUse BytesWithoutCache(const Model& model, const CudaModelOptions& options);
  // The cache's layout per token on the device: bf16 rows, plus eg_mla up_projected's ids and
  // statistics.
  static CacheSpec DeviceCacheSpec(const ModelConfig& config);

  ~CudaModel();
  CudaModel(const CudaModel&) = delete;
  CudaModel& operator=(const CudaModel&) = delete;

  // Runs the batch and returns the logits of `logit_rows` ([logit_rows.size(), vocab]).
  // INVALID_ARGUMENT for a token id outside the vocabulary or a sequence past
  // max_position_embeddings; INTERNAL for a batch over the sizes given at Create or a block table
  // too short; a CUDA error as the Status of the failing call.
  absl::StatusOr<std::vector<float>> Forward(const CudaBatch& batch);

  // Benchmarks: fills every cache slot with random rows, as if tokens had been computed there
  // (a step's time does not depend on the values); eg_mla up_projected also gets plausible
  // statistics (μ, rstd) and the id ids[slot % ids.size()] per slot. REQUIRES: ids not empty.
  absl::Status FillCacheForBenchmark(std::span<const int32_t> ids, uint64_t seed);

  const ModelConfig& config() const;
  // eg_mla up_projected: whether generated positions decode grouped by id (else recompute).
  bool decodes_grouped() const;
  DeviceMemoryUse memory() const;

 private:
  struct State;
  explicit CudaModel(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace egmla::cuda

#endif  // EGMLA_RUNNER_CUDA_CUDA_MODEL_H_
