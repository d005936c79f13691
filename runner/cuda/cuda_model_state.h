// CudaModel's private state (cuda_model.h), shared by its .cc files: the dimensions, the
// workspace layout, the packed step inputs and the per-step device views. Not for other callers.
#ifndef EGMLA_RUNNER_CUDA_CUDA_MODEL_STATE_H_
#define EGMLA_RUNNER_CUDA_CUDA_MODEL_STATE_H_

#include <cuda_runtime_api.h>

#include <cmath>
#include <optional>
#include <vector>

#include "common/status.h"
#include "kernels/cuda/add_rms_norm/add_rms_norm.h"
#include "kernels/cuda/attention/attention.h"
#include "kernels/cuda/decode_attention/decode_attention.h"
#include "kernels/cuda/egmla_decode/egmla_decode.h"
#include "kernels/cuda/egmla_decode/egmla_plan.h"
#include "kernels/cuda/gather_rows/gather_rows.h"
#include "kernels/cuda/layer_norm/layer_norm.h"
#include "kernels/cuda/linear/linear.h"
#include "kernels/cuda/rope/rope.h"
#include "kernels/cuda/runtime/cuda_status.h"
#include "kernels/cuda/runtime/device_buffer.h"
#include "kernels/cuda/runtime/pinned_buffer.h"
#include "kernels/cuda/runtime/stream.h"
#include "runner/cuda/cuda_model.h"
#include "runner/cuda/device_weights.h"

namespace egmla::cuda {

namespace k = ::egmla::ops::cuda;

struct Dims {
  int64_t hidden, inter, vocab, n_h;
  int64_t hd;  // mha head_dim
  int64_t d_nope, d_rope, d_v, d_c, q_lora;
  int64_t qk, kv, row;  // d_nope + d_R, d_nope + d_v, d_c + d_R
  int64_t gate, d_e;    // D_gate, d_e (eg_mla)
  int64_t cache_row;    // bf16 elements per token per layer
  int64_t max_context;
};

Dims DimsOf(const ModelConfig& c);

// Where each workspace array starts in one device allocation, and how big it is in all.
struct Workspace {
  // Step rows (T = max_batched_tokens).
  float* h = nullptr;         // [T, hidden] the residual stream
  float* delta = nullptr;     // [T, hidden]
  bf16* normed = nullptr;     // [T, hidden]
  float* mlp = nullptr;       // [T, 2 * inter]
  bf16* act = nullptr;        // [T, inter]
  float* q = nullptr;         // [T, n_h * qk] (mha: [T, n_h * hd])
  float* k = nullptr;         // mha [T, n_h * hd]
  float* v = nullptr;         // mha [T, n_h * hd]
  float* qa = nullptr;        // [T, q_lora]
  bf16* qa_bf16 = nullptr;    // [T, q_lora]
  float* kv = nullptr;        // [T, d_c + d_R]: the new cache rows
  bf16* c_bf16 = nullptr;     // [T, d_c + d_R]: c of the new rows (the first d_c)
  float* gates = nullptr;     // [max(T, C), D_gate]
  bf16* gate_emb = nullptr;   // [max(T, C), d_e]
  float* f_new = nullptr;     // [T, n_h * kv]
  float* ln_mean = nullptr;   // [T]
  float* ln_rstd = nullptr;   // [T]
  float* q_abs = nullptr;     // [T, n_h * d_c]
  float* attended = nullptr;  // [T, n_h * d_c]
  // Grouped EG-MLA decode (one pass of the plan; EgMlaCapacity): the plan, the union of the
  // pass's ids (on the fly: their gate embeddings and gate rows), the splits' partials.
  int32_t* plan_tokens = nullptr;    // [plan tokens]
  int32_t* plan_segments = nullptr;  // [plan tokens, 3]
  int32_t* plan_splits = nullptr;    // [plan splits, 4]
  int32_t* plan_rows = nullptr;      // [T, 3]
  int32_t* union_ids = nullptr;      // [union ids]
  bf16* union_embeddings = nullptr;  // [union ids, d_e]
  bf16* union_gates = nullptr;       // [union ids, D_gate]
  float* egmla_stats = nullptr;      // [plan splits, n_h, 3]
  float* egmla_acc = nullptr;        // [plan splits, n_h, d_v]
  // Split-KV decode partials (MaxDecodeWork items), heads of head_dim (mha) or d_c (mla).
  float* partial_out = nullptr;  // [items, n_h, d_v]
  float* partial_ml = nullptr;   // [items, n_h, 2]
  bf16* attn = nullptr;          // [T, n_h * d_v] (mha: [T, n_h * hd])
  // One sequence decompressed (C = max_context).
  bf16* lat = nullptr;     // [C, d_c]
  float* f = nullptr;      // [C, n_h * kv]
  bf16* f_bf16 = nullptr;  // [C, n_h * kv]
  int32_t* ids = nullptr;  // [C]
  // Logits, L rows per pass.
  bf16* last = nullptr;             // [L, hidden]
  float* logits = nullptr;          // [L, vocab]
  int32_t* step = nullptr;          // [step_ints]: the packed step inputs (StepLayout)
  int32_t* block_tables = nullptr;  // [max_num_seqs, max_blocks_per_seq]
  int64_t bytes = 0;
};

// The packed step inputs, int32 each, in this order.

// How many of each: the step's rows, its decode rows (mha and absorbed mla: positions past the
// prompt), their split-KV work items, mha's prompt rows, the logit rows, the block-table updates.
struct StepCounts {
  int64_t rows = 0, decode_rows = 0, decode_work = 0, prefill_rows = 0, logit_rows = 0, updates = 0;
};
// Where each array starts, in int32s: token_ids, positions, slots, row_table [rows];
// decode_rows [decode rows]; decode_row_work [decode rows, 3] (row, first item, items);
// decode_work [items, 3] (row, first position, end); prefill_rows; logit_rows; updates [n, 3].
struct StepLayout {
  int64_t token_ids, positions, slots, row_table, decode_rows, decode_row_work, decode_work,
      prefill_rows, logit_rows, updates, total;
};
StepLayout LayoutFor(const StepCounts& n);
// Split-KV work items of a row at `position`: its positions cut at multiples of
// kDecodeSplitTokens.
int64_t DecodeSplits(int64_t position);
// The split-KV workspace holds this many work items; more decode rows run in several passes.
int64_t MaxDecodeWork(const Dims& d, const CudaModelOptions& o);

int64_t MaxBlocksPerSeq(const Dims& d, const CudaModelOptions& o);
// The packed step inputs of the largest step, in int32s.
int64_t MaxStepInts(const Dims& d, const CudaModelOptions& o);

// What one pass of the grouped EG-MLA decode holds: plan tokens (Σ of its rows' visible
// positions), splits and distinct ids.
struct EgMlaCapacity {
  int64_t tokens, splits, union_ids;
};
EgMlaCapacity EgMlaCapacityFor(const ModelConfig& c, const CudaModelOptions& o);
// Whether eg_mla up_projected decodes grouped: asked for, and the shapes fit the kernel.
bool DecodesGrouped(const ModelConfig& c, const CudaModelOptions& o);

// Lays the workspace out from `base`; with base == nullptr only sums the bytes.
// `model` decides the shapes and whether its gates are a table on the device (then the grouped
// decode reads the table's rows in place and needs no on-the-fly gate rows).
Workspace LayOut(const Model& model, const CudaModelOptions& o, char* base);

// What CudaModel holds on the device and the step's views of it; the per-layer steps.
struct CudaModel::State {
  const Model* model = nullptr;
  ModelConfig config;
  Dims d{};
  CudaModelOptions options;
  DeviceWeights weights;
  // The paged cache: per layer [num_blocks * block_size, cache_row] bf16; eg_mla up_projected
  // also per layer [slots, 2] fp32 (μ, rstd) and once [slots] int32 token ids.
  std::vector<DeviceBuffer> cache_layers, cache_stats;
  DeviceBuffer cache_ids;
  int64_t cache_bytes = 0;
  DeviceBuffer workspace_buffer;
  Workspace ws;
  PinnedBuffer staging;          // [MaxStepInts] int32
  std::optional<Stream> stream;  // set by Create

  // The step's device views of the packed inputs.
  const int32_t* token_ids = nullptr;    // [rows]
  const int32_t* positions = nullptr;    // [rows]
  const int32_t* slots = nullptr;        // [rows]
  const int32_t* row_table = nullptr;    // [rows]
  const int32_t* decode_rows = nullptr;  // [num_decode]: mha and absorbed rows past the prompt
  int64_t num_decode = 0;
  const int32_t* decode_row_work = nullptr;  // [num_decode, 3]
  const int32_t* decode_work = nullptr;      // [decode work items, 3]
  const int32_t* prefill_rows = nullptr;     // [num_prefill]: mha's prompt rows
  int64_t num_prefill = 0;
  // The decode rows in passes that fit the split-KV workspace: [first row, end row) of
  // decode_rows and [first item, end item) of decode_work.
  struct DecodePass {
    int64_t row_begin, row_end, work_begin, work_end;
  };
  std::vector<DecodePass> decode_passes;
  bool split_kv = false;  // the decode rows take the split-KV kernels (DecodeAttentionFits)
  // eg_mla up_projected, grouped: the step's decode rows in passes of the plan's capacity; one
  // pass is uploaded once for every layer, several each layer.
  bool grouped = false;
  struct EgMlaPass {
    k::EgMlaPlan plan;
    std::vector<int32_t> union_ids;  // on the fly: the pass's distinct ids (gate row = index)
  };
  std::vector<EgMlaPass> egmla_passes;
  bool egmla_plan_on_device = false;

  cudaStream_t s() const { return stream->handle(); }
  const int32_t* TableOf(int32_t table_row) const {
    return ws.block_tables + static_cast<int64_t>(table_row) * MaxBlocksPerSeq(d, options);
  }

  absl::Status Linear(const bf16* x, int64_t x_stride, const bf16* w, int64_t rows, int64_t in,
                      int64_t out, float* y_f32, bf16* y_bf16, int64_t y_stride) {
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchLinear({.x = x,
                                                .w = w,
                                                .y_f32 = y_f32,
                                                .y_bf16 = y_bf16,
                                                .rows = rows,
                                                .in = in,
                                                .out = out,
                                                .x_row_stride = x_stride,
                                                .y_row_stride = y_stride},
                                               s()));
    return absl::OkStatus();
  }
  absl::Status Rope(float* x, int64_t rows, int64_t row_stride, int64_t heads, int64_t head_stride,
                    int64_t offset, int64_t rope_dim) {
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchRope({.x = x,
                                              .positions = positions,
                                              .rows = rows,
                                              .row_stride = row_stride,
                                              .num_heads = heads,
                                              .head_stride = head_stride,
                                              .offset = offset,
                                              .rope_dim = rope_dim,
                                              .theta = static_cast<float>(config.rope_theta),
                                              .interleave = config.rope_interleave},
                                             s()));
    return absl::OkStatus();
  }
  // The fields every attention launch shares: the step's positions and the device block tables.
  k::AttentionParams PagedAttention() const {
    return {.positions = positions,
            .row_table = row_table,
            .block_tables = ws.block_tables,
            .block_table_stride = MaxBlocksPerSeq(d, options),
            .block_size = options.block_size};
  }
  // LN(x ⊙ ws.gates) with the layer's gate norm: `rows` rows of `width`; the caller sets the
  // outputs.
  k::LayerNormParams GateNorm(int64_t layer, const float* x, int64_t x_row_stride, int64_t rows,
                              int64_t width) const {
    const DeviceLayerWeights& w = weights.layer(layer);
    return {.x = x,
            .gate = ws.gates,
            .gamma = w.gate_norm_weight,
            .beta = w.gate_norm_bias,
            .rows = rows,
            .width = width,
            .x_row_stride = x_row_stride,
            .gate_row_stride = d.gate,
            .eps = static_cast<float>(config.gate_norm_eps)};
  }
  // The residual stream's norm: h += delta (when `add_delta`), then RMSNorm with `weight` into
  // ws.normed, for rows 0..rows-1 or, with `row_index`, those rows into ws.last.
  absl::Status ResidualNorm(const bf16* weight, bool add_delta, int64_t rows,
                            const int32_t* row_index = nullptr) {
    EGMLA_CUDA_RETURN_IF_ERROR(
        k::LaunchAddRmsNorm({.x = ws.h,
                             .delta = add_delta ? ws.delta : nullptr,
                             .row_index = row_index,
                             .weight = weight,
                             .out_bf16 = row_index != nullptr ? ws.last : ws.normed,
                             .rows = rows,
                             .width = d.hidden,
                             .x_row_stride = d.hidden,
                             .delta_row_stride = d.hidden,
                             .out_row_stride = d.hidden,
                             .eps = static_cast<float>(config.rms_norm_eps)},
                            s()));
    return absl::OkStatus();
  }

  // out[i] = the layer's gate for ids[i] ([n, D_gate] fp32): a table row, or gate_up_proj of the
  // token's gate embedding.
  absl::Status Gates(int64_t layer, const int32_t* ids, int64_t n, float* out) {
    const DeviceLayerWeights& w = weights.layer(layer);
    if (w.gate_table != nullptr) {
      EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchGatherRows({.source_bf16 = w.gate_table,
                                                      .source_row_stride = d.gate,
                                                      .index = ids,
                                                      .out_f32 = out,
                                                      .out_row_stride = d.gate,
                                                      .rows = n,
                                                      .cols = d.gate},
                                                     s()));
      return absl::OkStatus();
    }
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchGatherRows({.source_bf16 = w.gate_embedding,
                                                    .source_row_stride = d.d_e,
                                                    .index = ids,
                                                    .out_bf16 = ws.gate_emb,
                                                    .out_row_stride = d.d_e,
                                                    .rows = n,
                                                    .cols = d.d_e},
                                                   s()));
    return Linear(ws.gate_emb, d.d_e, w.gate_up_proj, n, d.d_e, d.gate, out, nullptr, d.gate);
  }

  // The step's decode rows with `p`'s queries, (paged) sources, shapes and output: the split-KV
  // kernels in passes over the workspace, or the reference kernel where the shapes do not fit
  // them.
  absl::Status AttendDecodeRows(k::AttentionParams p);
  absl::Status MhaAttention(int64_t layer, int64_t rows);
  absl::Status LatentAttention(int64_t layer, const CudaBatch& batch);
  absl::Status Decompressed(int64_t layer, const CudaSequence& s, int64_t num_rows);
  absl::Status Absorbed(int64_t layer);
  // Builds the grouped decode's passes for the batch's decode rows (positions past the prompt).
  absl::Status PlanGroupedDecode(const CudaBatch& batch);
  absl::Status UploadEgMlaPass(const EgMlaPass& pass);
  absl::Status GroupedDecode(int64_t layer);
  absl::Status Mlp(int64_t layer, int64_t rows);
  absl::Status Logits(const std::vector<int64_t>& logit_rows, const int32_t* device_rows,
                      std::vector<float>& out);
};

}  // namespace egmla::cuda

#endif  // EGMLA_RUNNER_CUDA_CUDA_MODEL_STATE_H_
