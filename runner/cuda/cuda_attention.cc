// CudaModel's attention per layer (cuda_model.h says which rows take which form): MHA over the
// paged K and V; for the latent types the queries, the new cache rows (with eg_mla's gate and
// statistics), then the decompressed rows one sequence at a time and the absorbed rows of the
// whole step.
#include <algorithm>

#include "kernels/cuda/cache_write/cache_write.h"
#include "kernels/cuda/head_matvec/head_matvec.h"
#include "runner/cuda/cuda_model_state.h"

namespace egmla::cuda {

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
  k::AttentionParams p = PagedAttention();
  p.q_a = ws.q;
  p.q_a_row_stride = width;
  p.q_a_head_stride = d.hd;
  p.key_a = {.base = cache, .row_stride = 2 * width, .head_stride = d.hd, .offset = 0};
  p.value = {.base = cache, .row_stride = 2 * width, .head_stride = d.hd, .offset = width};
  p.d_a = d.hd;
  p.d_v = d.hd;
  p.num_heads = d.n_h;
  p.scale = 1.0f / std::sqrt(static_cast<float>(d.hd));
  p.out_bf16 = ws.attn;
  p.out_row_stride = width;
  p.out_head_stride = d.hd;
  EGMLA_RETURN_IF_ERROR(AttendDecodeRows(p));
  if (num_prefill > 0) {  // prompt positions: the reference kernel
    p.rows = prefill_rows;
    p.num_queries = num_prefill;
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchAttention(p, s()));
  }
  return Linear(ws.attn, width, w.o_proj, rows, width, d.hidden, ws.delta, nullptr, d.hidden);
}

absl::Status CudaModel::State::AttendDecodeRows(k::AttentionParams p) {
  if (num_decode == 0) return absl::OkStatus();
  if (!split_kv) {
    p.rows = decode_rows;
    p.num_queries = num_decode;
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchAttention(p, s()));
    return absl::OkStatus();
  }
  k::DecodeAttentionParams split{.q_a = p.q_a,
                                 .q_a_row_stride = p.q_a_row_stride,
                                 .q_a_head_stride = p.q_a_head_stride,
                                 .q_b = p.q_b,
                                 .q_b_row_stride = p.q_b_row_stride,
                                 .q_b_head_stride = p.q_b_head_stride,
                                 .key_a = p.key_a,
                                 .key_b = p.key_b,
                                 .value = p.value,
                                 .d_a = p.d_a,
                                 .d_b = p.d_b,
                                 .d_v = p.d_v,
                                 .num_heads = p.num_heads,
                                 .scale = p.scale,
                                 .row_table = p.row_table,
                                 .block_tables = p.block_tables,
                                 .block_table_stride = p.block_table_stride,
                                 .block_size = p.block_size,
                                 .partial_out = ws.partial_out,
                                 .partial_ml = ws.partial_ml};
  for (const DecodePass& pass : decode_passes) {
    split.work = decode_work + 3 * pass.work_begin;
    split.num_work = pass.work_end - pass.work_begin;
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchDecodeAttention(split, s()));
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchDecodeCombine({.partial_out = ws.partial_out,
                                                       .partial_ml = ws.partial_ml,
                                                       .rows = decode_row_work + 3 * pass.row_begin,
                                                       .num_rows = pass.row_end - pass.row_begin,
                                                       .work_base = pass.work_begin,
                                                       .num_heads = p.num_heads,
                                                       .d_v = p.d_v,
                                                       .out_f32 = p.out_f32,
                                                       .out_bf16 = p.out_bf16,
                                                       .out_row_stride = p.out_row_stride,
                                                       .out_head_stride = p.out_head_stride},
                                                      s()));
  }
  return absl::OkStatus();
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
  if (config.is_eg_mla_up_projected()) {
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
    k::LayerNormParams norm = GateNorm(layer, ws.f, width, total, width);
    norm.out_bf16 = ws.f_bf16;
    norm.out_row_stride = width;
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchLayerNorm(norm, s()));
  } else {
    EGMLA_RETURN_IF_ERROR(
        Linear(ws.lat, d.d_c, w.kv_b_proj, total, d.d_c, width, nullptr, ws.f_bf16, width));
  }
  k::AttentionParams p = PagedAttention();
  p.q_a = ws.q;
  p.q_a_row_stride = d.n_h * d.qk;
  p.q_a_head_stride = d.qk;
  p.q_b = ws.q + d.d_nope;
  p.q_b_row_stride = d.n_h * d.qk;
  p.q_b_head_stride = d.qk;
  p.key_a = {.base = ws.f_bf16, .row_stride = width, .head_stride = d.kv, .paged = false};
  p.key_b = {.base = cache, .row_stride = d.row, .head_stride = 0, .offset = d.d_c};
  p.value = {.base = ws.f_bf16,
             .row_stride = width,
             .head_stride = d.kv,
             .offset = d.d_nope,
             .paged = false};
  p.d_a = d.d_nope;
  p.d_b = d.d_rope;
  p.d_v = d.d_v;
  p.num_heads = d.n_h;
  p.scale = 1.0f / std::sqrt(static_cast<float>(d.qk));
  p.first_row = seq.first_row;
  p.num_queries = num_rows;
  p.out_bf16 = ws.attn;
  p.out_row_stride = d.n_h * d.d_v;
  p.out_head_stride = d.d_v;
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchAttention(p, s()));
  return absl::OkStatus();
}

// The step's decode rows (absorbed): q̂ = W_UKᵀ q_nope per head, attention over the latent rows (c
// as key and value, k_R as the rope key, shared by every head), then W_UV per head.
absl::Status CudaModel::State::Absorbed(int64_t layer) {
  if (num_decode == 0) return absl::OkStatus();
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
                                                  .rows = decode_rows,
                                                  .num_rows = num_decode,
                                                  .num_heads = d.n_h,
                                                  .in = d.d_nope,
                                                  .out = d.d_c},
                                                 s()));
  k::AttentionParams p = PagedAttention();
  p.q_a = ws.q_abs;
  p.q_a_row_stride = d.n_h * d.d_c;
  p.q_a_head_stride = d.d_c;
  p.q_b = ws.q + d.d_nope;
  p.q_b_row_stride = d.n_h * d.qk;
  p.q_b_head_stride = d.qk;
  p.key_a = {.base = cache, .row_stride = d.row, .head_stride = 0, .offset = 0};
  p.key_b = {.base = cache, .row_stride = d.row, .head_stride = 0, .offset = d.d_c};
  p.value = {.base = cache, .row_stride = d.row, .head_stride = 0, .offset = 0};
  p.d_a = d.d_c;
  p.d_b = d.d_rope;
  p.d_v = d.d_c;
  p.num_heads = d.n_h;
  p.scale = 1.0f / std::sqrt(static_cast<float>(d.qk));
  p.out_f32 = ws.attended;
  p.out_row_stride = d.n_h * d.d_c;
  p.out_head_stride = d.d_c;
  EGMLA_RETURN_IF_ERROR(AttendDecodeRows(p));
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
                                                  .rows = decode_rows,
                                                  .num_rows = num_decode,
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
  const bool up = config.is_eg_mla_up_projected();
  if (config.is_eg_mla() && !up) {  // latent placement: c = LN(c ⊙ g), in place
    EGMLA_RETURN_IF_ERROR(Gates(layer, token_ids, rows, ws.gates));
    k::LayerNormParams norm = GateNorm(layer, ws.kv, d.row, rows, d.d_c);
    norm.out_f32 = ws.kv;
    norm.out_row_stride = d.row;
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchLayerNorm(norm, s()));
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
    // c_bf16 has kv's row stride: the norm wrote both its outputs with it.
    const int64_t width = d.n_h * d.kv;
    EGMLA_RETURN_IF_ERROR(
        Linear(ws.c_bf16, d.row, w.kv_b_proj, rows, d.d_c, width, ws.f_new, nullptr, width));
    EGMLA_RETURN_IF_ERROR(Gates(layer, token_ids, rows, ws.gates));
    k::LayerNormParams norm = GateNorm(layer, ws.f_new, width, rows, width);
    norm.mean = ws.ln_mean;
    norm.rstd = ws.ln_rstd;
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchLayerNorm(norm, s()));
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
    // Prompt positions attend decompressed; later ones absorbed (mla), grouped by id (eg_mla
    // up_projected) or, recomputing, decompressed too.
    const int64_t decompressed =
        up && !grouped ? seq.num_new
                       : std::clamp<int64_t>(seq.num_prompt - seq.num_past, 0, seq.num_new);
    if (decompressed > 0) EGMLA_RETURN_IF_ERROR(Decompressed(layer, seq, decompressed));
  }
  if (!up) EGMLA_RETURN_IF_ERROR(Absorbed(layer));
  if (up && grouped) EGMLA_RETURN_IF_ERROR(GroupedDecode(layer));
  return Linear(ws.attn, d.n_h * d.d_v, w.o_proj, rows, d.n_h * d.d_v, d.hidden, ws.delta, nullptr,
                d.hidden);
}

}  // namespace egmla::cuda
