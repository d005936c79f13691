// CudaModel's grouped EG-MLA decode (eg_mla up_projected; kernels/cuda/egmla_decode): the plan of
// the step's decode rows, built once on the host for every layer, and per layer the gate rows of
// the plan's ids (table rows in place, or on the fly for the union of the pass's ids), the split
// kernel and the combine into the attention output.
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "runner/cuda/cuda_model_state.h"

namespace egmla::cuda {

absl::Status CudaModel::State::PlanGroupedDecode(const CudaBatch& batch) {
  egmla_passes.clear();
  egmla_plan_on_device = false;
  if (!grouped) return absl::OkStatus();
  const EgMlaCapacity cap = EgMlaCapacityFor(config, options);
  const bool on_the_fly = weights.layer(0).gate_table == nullptr;
  absl::flat_hash_map<int32_t, int32_t> union_slot;  // on the fly: id → its row in the pass
  std::vector<int32_t> gate_row_of;                  // on the fly: [U of the sequence]
  for (const CudaSequence& s : batch.sequences) {
    const int64_t prompt_rows = std::clamp<int64_t>(s.num_prompt - s.num_past, 0, s.num_new);
    if (prompt_rows == s.num_new) continue;
    if (s.groups == nullptr || s.groups->num_tokens() < s.num_past + s.num_new) {
      return absl::InternalError(absl::StrCat("CUDA model: the sequence at row ", s.first_row,
                                              " decodes eg_mla grouped without its token groups"));
    }
    const std::vector<int32_t>& distinct = s.groups->distinct_ids();
    for (int64_t i = prompt_rows; i < s.num_new; ++i) {
      const int64_t visible = s.num_past + i + 1;
      const int64_t new_ids = on_the_fly ? std::min<int64_t>(visible, cap.union_ids) : 0;
      if (egmla_passes.empty() ||
          static_cast<int64_t>(egmla_passes.back().plan.tokens.size()) + visible > cap.tokens ||
          egmla_passes.back().plan.num_splits() + visible / k::kEgMlaSplitTokens + 1 > cap.splits ||
          static_cast<int64_t>(egmla_passes.back().union_ids.size()) + new_ids > cap.union_ids) {
        egmla_passes.emplace_back();
        union_slot.clear();
      }
      EgMlaPass& pass = egmla_passes.back();
      // The gate row of each distinct id: the table's row is the id itself; on the fly, the
      // id's slot in the pass's union.
      std::span<const int32_t> rows_of_ids = distinct;
      if (on_the_fly) {
        gate_row_of.resize(distinct.size());
        for (size_t u = 0; u < distinct.size(); ++u) {
          const auto [it, added] =
              union_slot.try_emplace(distinct[u], static_cast<int32_t>(pass.union_ids.size()));
          if (added) pass.union_ids.push_back(distinct[u]);
          gate_row_of[u] = it->second;
        }
        rows_of_ids = gate_row_of;
      }
      k::AppendEgMlaRow(static_cast<int32_t>(s.first_row + i),
                        std::span(s.groups->distinct_of_token()).first(visible), rows_of_ids,
                        pass.plan);
    }
  }
  return absl::OkStatus();
}

absl::Status CudaModel::State::UploadEgMlaPass(const EgMlaPass& pass) {
  auto copy = [this](int32_t* to, const std::vector<int32_t>& from) -> absl::Status {
    if (from.empty()) return absl::OkStatus();
    EGMLA_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(to, from.data(), from.size() * sizeof(int32_t),
                                               cudaMemcpyHostToDevice, s()));
    return absl::OkStatus();
  };
  EGMLA_RETURN_IF_ERROR(copy(ws.plan_tokens, pass.plan.tokens));
  EGMLA_RETURN_IF_ERROR(copy(ws.plan_segments, pass.plan.segments));
  EGMLA_RETURN_IF_ERROR(copy(ws.plan_splits, pass.plan.splits));
  EGMLA_RETURN_IF_ERROR(copy(ws.plan_rows, pass.plan.rows));
  EGMLA_RETURN_IF_ERROR(copy(ws.union_ids, pass.union_ids));
  // The host vectors are pageable and live until the next step: the copies are complete, or
  // staged, when cudaMemcpyAsync returns.
  return absl::OkStatus();
}

absl::Status CudaModel::State::GroupedDecode(int64_t layer) {
  const DeviceLayerWeights& w = weights.layer(layer);
  for (const EgMlaPass& pass : egmla_passes) {
    if (egmla_passes.size() > 1 || !egmla_plan_on_device) {
      EGMLA_RETURN_IF_ERROR(UploadEgMlaPass(pass));
      egmla_plan_on_device = egmla_passes.size() == 1;
    }
    const bf16* gate_rows = w.gate_table;
    if (gate_rows == nullptr) {  // on the fly: g = gate_up_proj · E[τ] for the pass's ids
      const int64_t n = static_cast<int64_t>(pass.union_ids.size());
      EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchGatherRows({.source_bf16 = w.gate_embedding,
                                                      .source_row_stride = d.d_e,
                                                      .index = ws.union_ids,
                                                      .out_bf16 = ws.union_embeddings,
                                                      .out_row_stride = d.d_e,
                                                      .rows = n,
                                                      .cols = d.d_e},
                                                     s()));
      EGMLA_RETURN_IF_ERROR(Linear(ws.union_embeddings, d.d_e, w.gate_up_proj, n, d.d_e, d.gate,
                                   nullptr, ws.union_gates, d.gate));
      gate_rows = ws.union_gates;
    }
    EGMLA_CUDA_RETURN_IF_ERROR(
        k::LaunchEgMlaDecode({.num_heads = d.n_h,
                              .d_nope = d.d_nope,
                              .d_rope = d.d_rope,
                              .d_v = d.d_v,
                              .d_c = d.d_c,
                              .scale = 1.0f / std::sqrt(static_cast<float>(d.qk)),
                              .q = ws.q,
                              .q_row_stride = d.n_h * d.qk,
                              .cache = cache_layers[layer].as<bf16>(),
                              .ln_stats = cache_stats[layer].as<float>(),
                              .row_table = row_table,
                              .block_tables = ws.block_tables,
                              .block_table_stride = MaxBlocksPerSeq(d, options),
                              .block_size = options.block_size,
                              .kv_b_proj = w.kv_b_proj,
                              .gamma = w.gate_norm_weight,
                              .beta = w.gate_norm_bias,
                              .gate_rows = gate_rows,
                              .tokens = ws.plan_tokens,
                              .segments = ws.plan_segments,
                              .splits = ws.plan_splits,
                              .num_splits = pass.plan.num_splits(),
                              .partial_stats = ws.egmla_stats,
                              .partial_acc = ws.egmla_acc},
                             s()));
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchEgMlaCombine({.num_heads = d.n_h,
                                                      .d_nope = d.d_nope,
                                                      .d_v = d.d_v,
                                                      .partial_stats = ws.egmla_stats,
                                                      .partial_acc = ws.egmla_acc,
                                                      .gamma = w.gate_norm_weight,
                                                      .beta = w.gate_norm_bias,
                                                      .rows = ws.plan_rows,
                                                      .num_rows = pass.plan.num_rows(),
                                                      .out = ws.attn,
                                                      .out_row_stride = d.n_h * d.d_v},
                                                     s()));
    if (egmla_passes.size() > 1) EGMLA_RETURN_IF_ERROR(stream->Synchronize());  // reuses buffers
  }
  return absl::OkStatus();
}

}  // namespace egmla::cuda
