#include "runner/cuda/cuda_model.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "kernels/cuda/add_rms_norm/add_rms_norm.h"
#include "kernels/cuda/attention/attention.h"
#include "kernels/cuda/block_table_update/block_table_update.h"
#include "kernels/cuda/cache_write/cache_write.h"
#include "kernels/cuda/gather_rows/gather_rows.h"
#include "kernels/cuda/head_matvec/head_matvec.h"
#include "kernels/cuda/layer_norm/layer_norm.h"
#include "kernels/cuda/linear/linear.h"
#include "kernels/cuda/rope/rope.h"
#include "kernels/cuda/runtime/cuda_status.h"
#include "kernels/cuda/runtime/device_buffer.h"
#include "kernels/cuda/runtime/pinned_buffer.h"
#include "kernels/cuda/runtime/stream.h"
#include "kernels/cuda/swiglu/swiglu.h"
#include "model/kv_size.h"
#include "runner/cuda/device_weights.h"

namespace egmla::cuda {

namespace k = ::egmla::ops::cuda;

namespace {

struct Dims {
  int64_t hidden, inter, vocab, n_h;
  int64_t hd;  // mha head_dim
  int64_t d_nope, d_rope, d_v, d_c, q_lora;
  int64_t qk, kv, row;  // d_nope + d_R, d_nope + d_v, d_c + d_R
  int64_t gate, d_e;    // D_gate, d_e (eg_mla)
  int64_t cache_row;    // bf16 elements per token per layer
  int64_t max_context;
};

Dims DimsOf(const ModelConfig& c) {
  Dims d{};
  d.hidden = c.hidden_size;
  d.inter = c.intermediate_size;
  d.vocab = c.vocab_size;
  d.n_h = c.num_attention_heads;
  d.hd = c.head_dim;
  d.d_nope = c.qk_nope_head_dim;
  d.d_rope = c.qk_rope_head_dim;
  d.d_v = c.v_head_dim;
  d.d_c = c.kv_lora_rank;
  d.q_lora = c.q_lora_rank.value_or(0);
  d.qk = d.d_nope + d.d_rope;
  d.kv = d.d_nope + d.d_v;
  d.row = d.d_c + d.d_rope;
  d.gate = c.gate_dim();
  d.d_e = c.gate_embedding_dim;
  d.cache_row = c.is_latent() ? d.row : 2 * d.n_h * d.hd;
  d.max_context = c.max_position_embeddings;
  return d;
}

bool RecomputesKv(const ModelConfig& c) {
  return c.is_eg_mla() && c.gate_placement == GatePlacement::kUpProjected;
}

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
  bf16* attn = nullptr;       // [T, n_h * d_v] (mha: [T, n_h * hd])
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
struct StepLayout {
  int64_t token_ids, positions, slots, row_table, absorbed_rows, logit_rows, updates, total;
};
StepLayout LayoutFor(int64_t rows, int64_t num_absorbed, int64_t num_logits, int64_t num_updates) {
  StepLayout s{};
  s.token_ids = 0;
  s.positions = s.token_ids + rows;
  s.slots = s.positions + rows;
  s.row_table = s.slots + rows;
  s.absorbed_rows = s.row_table + rows;
  s.logit_rows = s.absorbed_rows + num_absorbed;
  s.updates = s.logit_rows + num_logits;
  s.total = s.updates + 3 * num_updates;
  return s;
}

int64_t MaxBlocksPerSeq(const Dims& d, const CudaModelOptions& o) {
  return (d.max_context + o.block_size - 1) / o.block_size;
}
int64_t MaxStepInts(const Dims& d, const CudaModelOptions& o) {
  const int64_t t = o.max_batched_tokens;
  return LayoutFor(t, t, t, o.max_num_seqs * MaxBlocksPerSeq(d, o)).total;
}

// Lays the workspace out; with base == nullptr only sums the bytes.
Workspace LayOut(const ModelConfig& c, const CudaModelOptions& o, char* base) {
  const Dims d = DimsOf(c);
  const int64_t t = o.max_batched_tokens, ctx = d.max_context, l = o.max_logit_rows;
  const bool latent = c.is_latent(), eg = c.is_eg_mla(), up = RecomputesKv(c);
  Workspace w;
  auto take = [&](auto*& p, int64_t n) {
    using T = std::remove_pointer_t<std::remove_reference_t<decltype(p)>>;
    const int64_t bytes = (n * static_cast<int64_t>(sizeof(T)) + 255) / 256 * 256;
    p = base != nullptr && n > 0 ? reinterpret_cast<T*>(base + w.bytes) : nullptr;
    w.bytes += n > 0 ? bytes : 0;
  };
  take(w.h, t * d.hidden);
  take(w.delta, t * d.hidden);
  take(w.normed, t * d.hidden);
  take(w.mlp, t * 2 * d.inter);
  take(w.act, t * d.inter);
  if (!latent) {
    const int64_t width = d.n_h * d.hd;
    take(w.q, t * width);
    take(w.k, t * width);
    take(w.v, t * width);
    take(w.attn, t * width);
  } else {
    take(w.q, t * d.n_h * d.qk);
    take(w.qa, t * d.q_lora);
    take(w.qa_bf16, t * d.q_lora);
    take(w.kv, t * d.row);
    take(w.q_abs, up ? 0 : t * d.n_h * d.d_c);
    take(w.attended, up ? 0 : t * d.n_h * d.d_c);
    take(w.attn, t * d.n_h * d.d_v);
    take(w.lat, ctx * d.d_c);
    take(w.f_bf16, ctx * d.n_h * d.kv);
    if (eg) {
      take(w.gates, std::max(t, ctx) * d.gate);
      take(w.gate_emb, std::max(t, ctx) * d.d_e);
    }
    if (up) {
      take(w.c_bf16, t * d.row);  // written with kv's row stride
      take(w.f_new, t * d.n_h * d.kv);
      take(w.ln_mean, t);
      take(w.ln_rstd, t);
      take(w.f, ctx * d.n_h * d.kv);
      take(w.ids, ctx);
    }
  }
  take(w.last, l * d.hidden);
  take(w.logits, l * d.vocab);
  take(w.step, MaxStepInts(d, o));
  take(w.block_tables, o.max_num_seqs * MaxBlocksPerSeq(d, o));
  return w;
}

}  // namespace

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
  const int32_t* token_ids = nullptr;  // [rows]
  const int32_t* positions = nullptr;  // [rows]
  const int32_t* slots = nullptr;      // [rows]
  const int32_t* row_table = nullptr;  // [rows]
  const int32_t* absorbed_rows = nullptr;
  int64_t num_absorbed = 0;

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

  absl::Status MhaAttention(int64_t layer, int64_t rows);
  absl::Status LatentAttention(int64_t layer, const CudaBatch& batch);
  absl::Status Decompressed(int64_t layer, const CudaSequence& s, int64_t num_rows);
  absl::Status Absorbed(int64_t layer);
  absl::Status Mlp(int64_t layer, int64_t rows);
  absl::Status Logits(const std::vector<int64_t>& logit_rows, const int32_t* device_rows,
                      std::vector<float>& out);
};

CudaModel::CudaModel(std::unique_ptr<State> state) : state_(std::move(state)) {}
CudaModel::~CudaModel() = default;

const ModelConfig& CudaModel::config() const { return state_->config; }

DeviceMemoryUse CudaModel::memory() const {
  return {.weights = state_->weights.num_bytes(),
          .kv_cache = state_->cache_bytes,
          .workspace = state_->ws.bytes};
}

CacheSpec CudaModel::DeviceCacheSpec(const ModelConfig& config) {
  return MakeCacheSpec(config, DType::kBF16);
}

DeviceMemoryUse CudaModel::BytesWithoutCache(const Model& model, const CudaModelOptions& options) {
  return {.weights = DeviceWeights::BytesFor(model),
          .workspace = LayOut(model.config(), options, nullptr).bytes};
}

absl::StatusOr<std::unique_ptr<CudaModel>> CudaModel::Create(const Model& model,
                                                             const CudaModelOptions& o) {
  const ModelConfig& c = model.config();
  if (o.num_blocks < 1 || o.block_size < 1 || o.max_num_seqs < 1 || o.max_batched_tokens < 1 ||
      o.max_logit_rows < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CUDA model: num_blocks ", o.num_blocks, ", block_size ", o.block_size, ", max_num_seqs ",
        o.max_num_seqs, ", max_batched_tokens ", o.max_batched_tokens, " must all be >= 1"));
  }
  const int64_t widest = c.is_latent() ? std::max(c.kv_lora_rank, c.v_head_dim) : c.head_dim;
  if (widest > k::kAttentionMaxValueDim) {
    return absl::InvalidArgumentError(absl::StrCat("CUDA model: an attention value of ", widest,
                                                   " elements is wider than the kernel's ",
                                                   k::kAttentionMaxValueDim));
  }
  if (o.num_blocks * o.block_size > (int64_t{1} << 31) - 1) {
    return absl::InvalidArgumentError(absl::StrCat("CUDA model: ", o.num_blocks, " blocks of ",
                                                   o.block_size,
                                                   " slots exceed the int32 slot mapping"));
  }
  auto st = std::make_unique<State>();
  st->model = &model;
  st->config = c;
  st->d = DimsOf(c);
  st->options = o;
  EGMLA_ASSIGN_OR_RETURN(st->stream, Stream::Create());
  EGMLA_ASSIGN_OR_RETURN(st->weights, DeviceWeights::Upload(model));
  const int64_t slots = o.num_blocks * o.block_size;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    EGMLA_ASSIGN_OR_RETURN(DeviceBuffer layer,
                           DeviceBuffer::Allocate(slots * st->d.cache_row * int64_t{sizeof(bf16)}));
    st->cache_bytes += layer.size_bytes();
    st->cache_layers.push_back(std::move(layer));
    if (RecomputesKv(c)) {
      EGMLA_ASSIGN_OR_RETURN(DeviceBuffer stats,
                             DeviceBuffer::Allocate(slots * 2 * int64_t{sizeof(float)}));
      st->cache_bytes += stats.size_bytes();
      st->cache_stats.push_back(std::move(stats));
    }
  }
  if (RecomputesKv(c)) {
    EGMLA_ASSIGN_OR_RETURN(st->cache_ids, DeviceBuffer::Allocate(slots * int64_t{sizeof(int32_t)}));
    st->cache_bytes += st->cache_ids.size_bytes();
  }
  const int64_t ws_bytes = LayOut(c, o, nullptr).bytes;
  EGMLA_ASSIGN_OR_RETURN(st->workspace_buffer, DeviceBuffer::Allocate(ws_bytes));
  st->ws = LayOut(c, o, static_cast<char*>(st->workspace_buffer.data()));
  EGMLA_ASSIGN_OR_RETURN(st->staging,
                         PinnedBuffer::Allocate(MaxStepInts(st->d, o) * int64_t{sizeof(int32_t)}));
  return std::unique_ptr<CudaModel>(new CudaModel(std::move(st)));
}

absl::Status CudaModel::State::MhaAttention(int64_t layer, int64_t rows) {
  const DeviceLayerWeights& w = weights.layer(layer);
  const int64_t width = d.n_h * d.hd;
  EGMLA_RETURN_IF_ERROR(
      Linear(ws.normed, d.hidden, w.q_proj, rows, d.hidden, width, ws.q, nullptr, width));
  EGMLA_RETURN_IF_ERROR(
      Linear(ws.normed, d.hidden, w.k_proj, rows, d.hidden, width, ws.k, nullptr, width));
  EGMLA_RETURN_IF_ERROR(
      Linear(ws.normed, d.hidden, w.v_proj, rows, d.hidden, width, ws.v, nullptr, width));
  EGMLA_RETURN_IF_ERROR(Rope(ws.q, rows, width, d.n_h, d.hd, 0, d.hd));
  EGMLA_RETURN_IF_ERROR(Rope(ws.k, rows, width, d.n_h, d.hd, 0, d.hd));
  bf16* cache = cache_layers[layer].as<bf16>();  // rows [K (n_h*hd) ; V (n_h*hd)]
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchCacheWrite({.first = ws.k,
                                                  .first_row_stride = width,
                                                  .first_width = width,
                                                  .second = ws.v,
                                                  .second_row_stride = width,
                                                  .second_width = width,
                                                  .slot_mapping = slots,
                                                  .cache = cache,
                                                  .cache_row_stride = 2 * width,
                                                  .rows = rows},
                                                 s()));
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchAttention(
      {.q_a = ws.q,
       .q_a_row_stride = width,
       .q_a_head_stride = d.hd,
       .key_a = {.base = cache, .row_stride = 2 * width, .head_stride = d.hd, .offset = 0},
       .value = {.base = cache, .row_stride = 2 * width, .head_stride = d.hd, .offset = width},
       .d_a = d.hd,
       .d_v = d.hd,
       .num_heads = d.n_h,
       .scale = 1.0f / std::sqrt(static_cast<float>(d.hd)),
       .first_row = 0,
       .num_queries = rows,
       .positions = positions,
       .row_table = row_table,
       .block_tables = ws.block_tables,
       .block_table_stride = MaxBlocksPerSeq(d, options),
       .block_size = options.block_size,
       .out_bf16 = ws.attn,
       .out_row_stride = width,
       .out_head_stride = d.hd},
      s()));
  return Linear(ws.attn, width, w.o_proj, rows, width, d.hidden, ws.delta, nullptr, d.hidden);
}

// Rows [first_row, first_row + num_rows) of `s` attend over K and V up-projected from the latent
// of the positions they see (with the gate for eg_mla up_projected).
absl::Status CudaModel::State::Decompressed(int64_t layer, const CudaSequence& seq,
                                            int64_t num_rows) {
  const DeviceLayerWeights& w = weights.layer(layer);
  const int64_t total = seq.num_past + num_rows, width = d.n_h * d.kv;
  const int32_t* table = TableOf(seq.table_row);
  const bf16* cache = cache_layers[layer].as<bf16>();
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchGatherRows({.source_bf16 = cache,
                                                  .source_row_stride = d.row,
                                                  .block_table = table,
                                                  .block_size = options.block_size,
                                                  .out_bf16 = ws.lat,
                                                  .out_row_stride = d.d_c,
                                                  .rows = total,
                                                  .cols = d.d_c},
                                                 s()));
  if (RecomputesKv(config)) {
    EGMLA_RETURN_IF_ERROR(
        Linear(ws.lat, d.d_c, w.kv_b_proj, total, d.d_c, width, ws.f, nullptr, width));
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchGatherRows({.source_i32 = cache_ids.as<int32_t>(),
                                                    .source_row_stride = 1,
                                                    .block_table = table,
                                                    .block_size = options.block_size,
                                                    .out_i32 = ws.ids,
                                                    .out_row_stride = 1,
                                                    .rows = total,
                                                    .cols = 1},
                                                   s()));
    EGMLA_RETURN_IF_ERROR(Gates(layer, ws.ids, total, ws.gates));
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchLayerNorm({.x = ws.f,
                                                   .gate = ws.gates,
                                                   .gamma = w.gate_norm_weight,
                                                   .beta = w.gate_norm_bias,
                                                   .out_bf16 = ws.f_bf16,
                                                   .rows = total,
                                                   .width = width,
                                                   .x_row_stride = width,
                                                   .gate_row_stride = width,
                                                   .out_row_stride = width,
                                                   .eps = static_cast<float>(config.gate_norm_eps)},
                                                  s()));
  } else {
    EGMLA_RETURN_IF_ERROR(
        Linear(ws.lat, d.d_c, w.kv_b_proj, total, d.d_c, width, nullptr, ws.f_bf16, width));
  }
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchAttention(
      {.q_a = ws.q,
       .q_a_row_stride = d.n_h * d.qk,
       .q_a_head_stride = d.qk,
       .q_b = ws.q + d.d_nope,
       .q_b_row_stride = d.n_h * d.qk,
       .q_b_head_stride = d.qk,
       .key_a = {.base = ws.f_bf16, .row_stride = width, .head_stride = d.kv, .paged = false},
       .key_b = {.base = cache, .row_stride = d.row, .head_stride = 0, .offset = d.d_c},
       .value = {.base = ws.f_bf16,
                 .row_stride = width,
                 .head_stride = d.kv,
                 .offset = d.d_nope,
                 .paged = false},
       .d_a = d.d_nope,
       .d_b = d.d_rope,
       .d_v = d.d_v,
       .num_heads = d.n_h,
       .scale = 1.0f / std::sqrt(static_cast<float>(d.qk)),
       .first_row = seq.first_row,
       .num_queries = num_rows,
       .positions = positions,
       .row_table = row_table,
       .block_tables = ws.block_tables,
       .block_table_stride = MaxBlocksPerSeq(d, options),
       .block_size = options.block_size,
       .out_bf16 = ws.attn,
       .out_row_stride = d.n_h * d.d_v,
       .out_head_stride = d.d_v},
      s()));
  return absl::OkStatus();
}

// The step's absorbed rows: q̂ = W_UKᵀ q_nope per head, attention over the latent rows (c as key
// and value, k_R as the rope key, shared by every head), then W_UV per head.
absl::Status CudaModel::State::Absorbed(int64_t layer) {
  if (num_absorbed == 0) return absl::OkStatus();
  const DeviceLayerWeights& w = weights.layer(layer);
  const bf16* cache = cache_layers[layer].as<bf16>();
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchHeadMatvec({.x = ws.q,
                                                  .x_row_stride = d.n_h * d.qk,
                                                  .x_head_stride = d.qk,
                                                  .w = w.kv_b_proj,
                                                  .w_head_stride = d.kv * d.d_c,
                                                  .w_out_stride = 1,
                                                  .w_in_stride = d.d_c,
                                                  .out_f32 = ws.q_abs,
                                                  .out_row_stride = d.n_h * d.d_c,
                                                  .out_head_stride = d.d_c,
                                                  .rows = absorbed_rows,
                                                  .num_rows = num_absorbed,
                                                  .num_heads = d.n_h,
                                                  .in = d.d_nope,
                                                  .out = d.d_c},
                                                 s()));
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchAttention(
      {.q_a = ws.q_abs,
       .q_a_row_stride = d.n_h * d.d_c,
       .q_a_head_stride = d.d_c,
       .q_b = ws.q + d.d_nope,
       .q_b_row_stride = d.n_h * d.qk,
       .q_b_head_stride = d.qk,
       .key_a = {.base = cache, .row_stride = d.row, .head_stride = 0, .offset = 0},
       .key_b = {.base = cache, .row_stride = d.row, .head_stride = 0, .offset = d.d_c},
       .value = {.base = cache, .row_stride = d.row, .head_stride = 0, .offset = 0},
       .d_a = d.d_c,
       .d_b = d.d_rope,
       .d_v = d.d_c,
       .num_heads = d.n_h,
       .scale = 1.0f / std::sqrt(static_cast<float>(d.qk)),
       .rows = absorbed_rows,
       .num_queries = num_absorbed,
       .positions = positions,
       .row_table = row_table,
       .block_tables = ws.block_tables,
       .block_table_stride = MaxBlocksPerSeq(d, options),
       .block_size = options.block_size,
       .out_f32 = ws.attended,
       .out_row_stride = d.n_h * d.d_c,
       .out_head_stride = d.d_c},
      s()));
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchHeadMatvec({.x = ws.attended,
                                                  .x_row_stride = d.n_h * d.d_c,
                                                  .x_head_stride = d.d_c,
                                                  .w = w.kv_b_proj + d.d_nope * d.d_c,
                                                  .w_head_stride = d.kv * d.d_c,
                                                  .w_out_stride = d.d_c,
                                                  .w_in_stride = 1,
                                                  .out_bf16 = ws.attn,
                                                  .out_row_stride = d.n_h * d.d_v,
                                                  .out_head_stride = d.d_v,
                                                  .rows = absorbed_rows,
                                                  .num_rows = num_absorbed,
                                                  .num_heads = d.n_h,
                                                  .in = d.d_c,
                                                  .out = d.d_v},
                                                 s()));
  return absl::OkStatus();
}

absl::Status CudaModel::State::LatentAttention(int64_t layer, const CudaBatch& batch) {
  const DeviceLayerWeights& w = weights.layer(layer);
  const int64_t rows = static_cast<int64_t>(batch.token_ids.size());
  const int64_t q_width = d.n_h * d.qk;
  if (w.q_a_proj != nullptr) {
    EGMLA_RETURN_IF_ERROR(Linear(ws.normed, d.hidden, w.q_a_proj, rows, d.hidden, d.q_lora, ws.qa,
                                 nullptr, d.q_lora));
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchAddRmsNorm({.x = ws.qa,
                                                    .weight = w.q_a_norm,
                                                    .out_bf16 = ws.qa_bf16,
                                                    .rows = rows,
                                                    .width = d.q_lora,
                                                    .x_row_stride = d.q_lora,
                                                    .out_row_stride = d.q_lora,
                                                    .eps = static_cast<float>(config.rms_norm_eps)},
                                                   s()));
    EGMLA_RETURN_IF_ERROR(
        Linear(ws.qa_bf16, d.q_lora, w.q_b_proj, rows, d.q_lora, q_width, ws.q, nullptr, q_width));
  } else {
    EGMLA_RETURN_IF_ERROR(
        Linear(ws.normed, d.hidden, w.q_proj, rows, d.hidden, q_width, ws.q, nullptr, q_width));
  }
  EGMLA_RETURN_IF_ERROR(Rope(ws.q, rows, q_width, d.n_h, d.qk, d.d_nope, d.d_rope));
  EGMLA_RETURN_IF_ERROR(
      Linear(ws.normed, d.hidden, w.kv_a_proj, rows, d.hidden, d.row, ws.kv, nullptr, d.row));
  EGMLA_RETURN_IF_ERROR(Rope(ws.kv, rows, d.row, 1, d.row, d.d_c, d.d_rope));
  const bool up = RecomputesKv(config);
  if (config.is_eg_mla() && !up) {  // latent placement: c = LN(c ⊙ g), in place
    EGMLA_RETURN_IF_ERROR(Gates(layer, token_ids, rows, ws.gates));
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchLayerNorm({.x = ws.kv,
                                                   .gate = ws.gates,
                                                   .gamma = w.gate_norm_weight,
                                                   .beta = w.gate_norm_bias,
                                                   .out_f32 = ws.kv,
                                                   .rows = rows,
                                                   .width = d.d_c,
                                                   .x_row_stride = d.row,
                                                   .gate_row_stride = d.gate,
                                                   .out_row_stride = d.row,
                                                   .eps = static_cast<float>(config.gate_norm_eps)},
                                                  s()));
  } else {
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchAddRmsNorm({.x = ws.kv,
                                                    .weight = w.kv_a_norm,
                                                    .out_bf16 = up ? ws.c_bf16 : nullptr,
                                                    .out_f32 = ws.kv,
                                                    .rows = rows,
                                                    .width = d.d_c,
                                                    .x_row_stride = d.row,
                                                    .out_row_stride = d.row,
                                                    .eps = static_cast<float>(config.rms_norm_eps)},
                                                   s()));
  }
  if (up) {
    // The statistics (μ, rstd) of kv_b_proj(c) ⊙ G[τ] of each new token, from c as cached (bf16).
    // The c_bf16 copy has the row stride of d_c; the norm wrote it with kv's stride.
    const int64_t width = d.n_h * d.kv;
    EGMLA_RETURN_IF_ERROR(
        Linear(ws.c_bf16, d.row, w.kv_b_proj, rows, d.d_c, width, ws.f_new, nullptr, width));
    EGMLA_RETURN_IF_ERROR(Gates(layer, token_ids, rows, ws.gates));
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchLayerNorm({.x = ws.f_new,
                                                   .gate = ws.gates,
                                                   .mean = ws.ln_mean,
                                                   .rstd = ws.ln_rstd,
                                                   .rows = rows,
                                                   .width = width,
                                                   .x_row_stride = width,
                                                   .gate_row_stride = width,
                                                   .eps = static_cast<float>(config.gate_norm_eps)},
                                                  s()));
  }
  EGMLA_CUDA_RETURN_IF_ERROR(
      k::LaunchCacheWrite({.first = ws.kv,
                           .first_row_stride = d.row,
                           .first_width = d.row,
                           .slot_mapping = slots,
                           .cache = cache_layers[layer].as<bf16>(),
                           .cache_row_stride = d.row,
                           .ln_mean = up ? ws.ln_mean : nullptr,
                           .ln_rstd = up ? ws.ln_rstd : nullptr,
                           .cache_ln_stats = up ? cache_stats[layer].as<float>() : nullptr,
                           .token_ids = up ? token_ids : nullptr,
                           .cache_token_ids = up && layer == 0 ? cache_ids.as<int32_t>() : nullptr,
                           .rows = rows},
                          s()));
  for (const CudaSequence& seq : batch.sequences) {
    const int64_t decompressed =
        up ? seq.num_new : std::clamp<int64_t>(seq.num_prompt - seq.num_past, 0, seq.num_new);
    if (decompressed > 0) EGMLA_RETURN_IF_ERROR(Decompressed(layer, seq, decompressed));
  }
  if (!up) EGMLA_RETURN_IF_ERROR(Absorbed(layer));
  return Linear(ws.attn, d.n_h * d.d_v, w.o_proj, rows, d.n_h * d.d_v, d.hidden, ws.delta, nullptr,
                d.hidden);
}

absl::Status CudaModel::State::Mlp(int64_t layer, int64_t rows) {
  const DeviceLayerWeights& w = weights.layer(layer);
  EGMLA_RETURN_IF_ERROR(Linear(ws.normed, d.hidden, w.mlp_gate_up, rows, d.hidden, 2 * d.inter,
                               ws.mlp, nullptr, 2 * d.inter));
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchSwiGlu({.gate_up = ws.mlp,
                                              .out = ws.act,
                                              .rows = rows,
                                              .width = d.inter,
                                              .in_row_stride = 2 * d.inter,
                                              .out_row_stride = d.inter},
                                             s()));
  return Linear(ws.act, d.inter, w.mlp_down, rows, d.inter, d.hidden, ws.delta, nullptr, d.hidden);
}

// The last residual add and the final norm of the logit rows only, then lm_head, in passes of
// max_logit_rows; each pass's logits are copied to `out`.
absl::Status CudaModel::State::Logits(const std::vector<int64_t>& logit_rows,
                                      const int32_t* device_rows, std::vector<float>& out) {
  const int64_t n = static_cast<int64_t>(logit_rows.size());
  out.resize(n * d.vocab);
  for (int64_t first = 0; first < n; first += options.max_logit_rows) {
    const int64_t m = std::min(options.max_logit_rows, n - first);
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchAddRmsNorm({.x = ws.h,
                                                    .delta = ws.delta,
                                                    .row_index = device_rows + first,
                                                    .weight = weights.final_norm(),
                                                    .out_bf16 = ws.last,
                                                    .rows = m,
                                                    .width = d.hidden,
                                                    .x_row_stride = d.hidden,
                                                    .delta_row_stride = d.hidden,
                                                    .out_row_stride = d.hidden,
                                                    .eps = static_cast<float>(config.rms_norm_eps)},
                                                   s()));
    EGMLA_RETURN_IF_ERROR(Linear(ws.last, d.hidden, weights.lm_head(), m, d.hidden, d.vocab,
                                 ws.logits, nullptr, d.vocab));
    EGMLA_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(out.data() + first * d.vocab, ws.logits,
                                               m * d.vocab * sizeof(float), cudaMemcpyDeviceToHost,
                                               s()));
    // The next pass overwrites ws.logits: wait for this copy (pageable memory may return early).
    EGMLA_RETURN_IF_ERROR(stream->Synchronize());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> CudaModel::Forward(const CudaBatch& batch) {
  State& st = *state_;
  const Dims& d = st.d;
  const CudaModelOptions& o = st.options;
  const int64_t rows = static_cast<int64_t>(batch.token_ids.size());
  const bool absorbs = st.config.is_latent() && !RecomputesKv(st.config);

  // Validate and lay the step's inputs out on the host.
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t id = batch.token_ids[r];
    if (id < 0 || id >= d.vocab) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token id ", id, " at index ", r, " is outside the vocabulary [0, ", d.vocab, ")"));
    }
  }
  if (rows > o.max_batched_tokens ||
      static_cast<int64_t>(batch.sequences.size()) > o.max_num_seqs) {
    return absl::InternalError(absl::StrCat("CUDA model: a step of ", rows, " rows and ",
                                            batch.sequences.size(),
                                            " sequences exceeds the sizes it was created for (",
                                            o.max_batched_tokens, ", ", o.max_num_seqs, ")"));
  }
  const int64_t max_blocks = MaxBlocksPerSeq(d, o);
  int64_t num_absorbed = 0, num_updates = 0, next_row = 0;
  for (const CudaSequence& s : batch.sequences) {
    if (s.first_row != next_row || s.num_new < 0 || s.num_past < 0) {
      return absl::InternalError("CUDA model: batch sequences do not partition the rows");
    }
    next_row += s.num_new;
    const int64_t total = s.num_past + s.num_new;
    if (total > d.max_context) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence of ", total, " tokens exceeds the context limit ",
                       "(max_position_embeddings ", d.max_context, ")"));
    }
    const int64_t table_size = static_cast<int64_t>(s.block_table.size());
    if (table_size * o.block_size < total || table_size > max_blocks || s.table_row < 0 ||
        s.table_row >= o.max_num_seqs || s.num_blocks_on_device > table_size) {
      return absl::InternalError(absl::StrCat("CUDA model: sequence at row ", s.first_row,
                                              " has a block table of ", table_size, " blocks for ",
                                              total, " tokens (table row ", s.table_row, ")"));
    }
    for (BlockId b : s.block_table) {
      if (b < 0 || b >= o.num_blocks) {
        return absl::InternalError(
            absl::StrCat("CUDA model: block id ", b, " outside [0, ", o.num_blocks, ")"));
      }
    }
    if (absorbs) {
      num_absorbed += s.num_new - std::clamp<int64_t>(s.num_prompt - s.num_past, 0, s.num_new);
    }
    num_updates += table_size - s.num_blocks_on_device;
  }
  if (next_row != rows) return absl::InternalError("CUDA model: sequences do not cover the rows");
  for (size_t i = 0; i < batch.logit_rows.size(); ++i) {
    const int64_t r = batch.logit_rows[i];
    if (r < 0 || r >= rows || (i > 0 && r <= batch.logit_rows[i - 1])) {
      return absl::InternalError("CUDA model: logit rows outside the batch or not ascending");
    }
  }
  const int64_t num_logits = static_cast<int64_t>(batch.logit_rows.size());
  const StepLayout layout = LayoutFor(rows, num_absorbed, num_logits, num_updates);
  int32_t* host = st.staging.as<int32_t>();
  std::copy(batch.token_ids.begin(), batch.token_ids.end(), host + layout.token_ids);
  int64_t a = 0, u = 0;
  for (const CudaSequence& s : batch.sequences) {
    const int64_t prompt_rows = std::clamp<int64_t>(s.num_prompt - s.num_past, 0, s.num_new);
    for (int64_t i = 0; i < s.num_new; ++i) {
      const int64_t r = s.first_row + i, pos = s.num_past + i;
      host[layout.positions + r] = static_cast<int32_t>(pos);
      host[layout.slots + r] = static_cast<int32_t>(
          s.block_table[pos / o.block_size] * o.block_size + pos % o.block_size);
      host[layout.row_table + r] = s.table_row;
      if (absorbs && i >= prompt_rows) host[layout.absorbed_rows + a++] = static_cast<int32_t>(r);
    }
    for (int64_t b = s.num_blocks_on_device; b < static_cast<int64_t>(s.block_table.size()); ++b) {
      int32_t* t = host + layout.updates + 3 * u++;
      t[0] = s.table_row;
      t[1] = static_cast<int32_t>(b);
      t[2] = s.block_table[b];
    }
  }
  for (int64_t i = 0; i < num_logits; ++i) {
    host[layout.logit_rows + i] = static_cast<int32_t>(batch.logit_rows[i]);
  }

  // One copy of every input; then the tables' new ids.
  EGMLA_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(st.ws.step, host, layout.total * sizeof(int32_t),
                                             cudaMemcpyHostToDevice, st.s()));
  st.token_ids = st.ws.step + layout.token_ids;
  st.positions = st.ws.step + layout.positions;
  st.slots = st.ws.step + layout.slots;
  st.row_table = st.ws.step + layout.row_table;
  st.absorbed_rows = st.ws.step + layout.absorbed_rows;
  st.num_absorbed = num_absorbed;
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchBlockTableUpdate({.updates = st.ws.step + layout.updates,
                                                        .num_updates = num_updates,
                                                        .block_tables = st.ws.block_tables,
                                                        .block_table_stride = max_blocks},
                                                       st.s()));

  std::vector<float> logits;
  if (rows > 0) {
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchGatherRows({.source_bf16 = st.weights.embed(),
                                                    .source_row_stride = d.hidden,
                                                    .index = st.token_ids,
                                                    .out_f32 = st.ws.h,
                                                    .out_row_stride = d.hidden,
                                                    .rows = rows,
                                                    .cols = d.hidden},
                                                   st.s()));
    const float eps = static_cast<float>(st.config.rms_norm_eps);
    for (int64_t l = 0; l < st.config.num_hidden_layers; ++l) {
      const DeviceLayerWeights& w = st.weights.layer(l);
      EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchAddRmsNorm({.x = st.ws.h,
                                                      .delta = l > 0 ? st.ws.delta : nullptr,
                                                      .weight = w.input_norm,
                                                      .out_bf16 = st.ws.normed,
                                                      .rows = rows,
                                                      .width = d.hidden,
                                                      .x_row_stride = d.hidden,
                                                      .delta_row_stride = d.hidden,
                                                      .out_row_stride = d.hidden,
                                                      .eps = eps},
                                                     st.s()));
      if (st.config.is_latent()) {
        EGMLA_RETURN_IF_ERROR(st.LatentAttention(l, batch));
      } else {
        EGMLA_RETURN_IF_ERROR(st.MhaAttention(l, rows));
      }
      EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchAddRmsNorm({.x = st.ws.h,
                                                      .delta = st.ws.delta,
                                                      .weight = w.post_attn_norm,
                                                      .out_bf16 = st.ws.normed,
                                                      .rows = rows,
                                                      .width = d.hidden,
                                                      .x_row_stride = d.hidden,
                                                      .delta_row_stride = d.hidden,
                                                      .out_row_stride = d.hidden,
                                                      .eps = eps},
                                                     st.s()));
      EGMLA_RETURN_IF_ERROR(st.Mlp(l, rows));
    }
    EGMLA_RETURN_IF_ERROR(st.Logits(batch.logit_rows, st.ws.step + layout.logit_rows, logits));
  }
  EGMLA_RETURN_IF_ERROR(st.stream->Synchronize());
  return logits;
}

}  // namespace egmla::cuda
