#include "runner/cuda/device_weights.h"

#include <initializer_list>
#include <utility>

#include "common/dtype.h"
#include "common/status.h"

namespace egmla::cuda {
namespace {

struct Part {
  const float* data;  // [n] fp32 on the host
  int64_t n;
};

// Walks every tensor the device keeps, in one order for counting and for uploading.
// `put(parts)` stores the parts back to back and returns their device address (or null when
// only counting).
template <typename Put>
absl::Status Walk(const Model& model, Put put, const bf16** embed, const bf16** final_norm,
                  const bf16** lm_head, std::vector<DeviceLayerWeights>* layers) {
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  const int64_t hidden = c.hidden_size, vocab = c.vocab_size, inter = c.intermediate_size;
  const int64_t n_h = c.num_attention_heads;
  auto one = [&](const float* data, int64_t n) -> absl::StatusOr<const bf16*> {
    return put({Part{data, n}});
  };
  EGMLA_ASSIGN_OR_RETURN(*embed, one(w.embed(), vocab * hidden));
  EGMLA_ASSIGN_OR_RETURN(*final_norm, one(w.final_norm(), hidden));
  if (w.lm_head() == w.embed()) {
    *lm_head = *embed;  // tied
  } else {
    EGMLA_ASSIGN_OR_RETURN(*lm_head, one(w.lm_head(), vocab * hidden));
  }
  std::vector<const bf16*> group_embeddings;  // on the fly: one per gate group, shared
  layers->assign(c.num_hidden_layers, {});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const LayerWeights& lw = w.layer(l);
    DeviceLayerWeights& d = (*layers)[l];
    EGMLA_ASSIGN_OR_RETURN(d.input_norm, one(lw.input_norm, hidden));
    EGMLA_ASSIGN_OR_RETURN(d.post_attn_norm, one(lw.post_attn_norm, hidden));
    EGMLA_ASSIGN_OR_RETURN(
        d.mlp_gate_up, put({Part{lw.mlp_gate, inter * hidden}, Part{lw.mlp_up, inter * hidden}}));
    EGMLA_ASSIGN_OR_RETURN(d.mlp_down, one(lw.mlp_down, hidden * inter));
    if (!c.is_latent()) {
      const int64_t width = n_h * c.head_dim;
      EGMLA_ASSIGN_OR_RETURN(d.q_proj, one(lw.q_proj, width * hidden));
      EGMLA_ASSIGN_OR_RETURN(d.k_proj, one(lw.k_proj, width * hidden));
      EGMLA_ASSIGN_OR_RETURN(d.v_proj, one(lw.v_proj, width * hidden));
      EGMLA_ASSIGN_OR_RETURN(d.o_proj, one(lw.o_proj, hidden * width));
      continue;
    }
    const int64_t qk = c.qk_nope_head_dim + c.qk_rope_head_dim;
    const int64_t kv = c.qk_nope_head_dim + c.v_head_dim, d_c = c.kv_lora_rank;
    if (c.q_lora_rank) {
      const int64_t r = *c.q_lora_rank;
      EGMLA_ASSIGN_OR_RETURN(d.q_a_proj, one(lw.q_a_proj, r * hidden));
      EGMLA_ASSIGN_OR_RETURN(d.q_a_norm, one(lw.q_a_norm, r));
      EGMLA_ASSIGN_OR_RETURN(d.q_b_proj, one(lw.q_b_proj, n_h * qk * r));
    } else {
      EGMLA_ASSIGN_OR_RETURN(d.q_proj, one(lw.q_proj, n_h * qk * hidden));
    }
    EGMLA_ASSIGN_OR_RETURN(d.kv_a_proj, one(lw.kv_a_proj, (d_c + c.qk_rope_head_dim) * hidden));
    if (lw.kv_a_norm != nullptr) {
      EGMLA_ASSIGN_OR_RETURN(d.kv_a_norm, one(lw.kv_a_norm, d_c));
    }
    EGMLA_ASSIGN_OR_RETURN(d.kv_b_proj, one(lw.kv_b_proj, n_h * kv * d_c));
    EGMLA_ASSIGN_OR_RETURN(d.o_proj, one(lw.o_proj, hidden * n_h * c.v_head_dim));
    if (!c.is_eg_mla()) continue;
    const int64_t gate = c.gate_dim(), d_e = c.gate_embedding_dim;
    EGMLA_ASSIGN_OR_RETURN(d.gate_norm_weight, one(lw.gate_norm_weight, gate));
    EGMLA_ASSIGN_OR_RETURN(d.gate_norm_bias, one(lw.gate_norm_bias, gate));
    const Gates* gates = model.gates();
    if (gates != nullptr && gates->mode() == GateMode::kTable) {
      EGMLA_ASSIGN_OR_RETURN(d.gate_table, one(gates->TableRow(l, 0), vocab * gate));
      continue;
    }
    EGMLA_ASSIGN_OR_RETURN(d.gate_up_proj, one(lw.gate_up_proj, gate * d_e));
    const int64_t group = l / c.gate_layer_group_size;
    if (group == static_cast<int64_t>(group_embeddings.size())) {
      EGMLA_ASSIGN_OR_RETURN(const bf16* e, one(w.gate_embedding(group), vocab * d_e));
      group_embeddings.push_back(e);
    }
    d.gate_embedding = group_embeddings[group];
  }
  return absl::OkStatus();
}

}  // namespace

int64_t DeviceWeights::BytesFor(const Model& model) {
  int64_t bytes = 0;
  auto count = [&bytes](std::initializer_list<Part> parts) -> absl::StatusOr<const bf16*> {
    for (const Part& p : parts) bytes += p.n * static_cast<int64_t>(sizeof(bf16));
    return nullptr;
  };
  const bf16 *a, *b, *c;
  std::vector<DeviceLayerWeights> layers;
  (void)Walk(model, count, &a, &b, &c, &layers);
  return bytes;
}

absl::StatusOr<DeviceWeights> DeviceWeights::Upload(const Model& model) {
  DeviceWeights out;
  std::vector<uint16_t> staging;
  auto upload = [&out, &staging](std::initializer_list<Part> parts) -> absl::StatusOr<const bf16*> {
    staging.clear();
    for (const Part& p : parts) {
      for (int64_t i = 0; i < p.n; ++i) staging.push_back(F32ToBf16(p.data[i]));
    }
    const int64_t bytes = static_cast<int64_t>(staging.size() * sizeof(uint16_t));
    EGMLA_ASSIGN_OR_RETURN(DeviceBuffer buffer, DeviceBuffer::Allocate(bytes));
    EGMLA_RETURN_IF_ERROR(buffer.CopyFromHost(staging.data(), bytes));
    out.num_bytes_ += bytes;
    const bf16* data = buffer.as<bf16>();
    out.buffers_.push_back(std::move(buffer));
    return data;
  };
  EGMLA_RETURN_IF_ERROR(
      Walk(model, upload, &out.embed_, &out.final_norm_, &out.lm_head_, &out.layers_));
  return out;
}

}  // namespace egmla::cuda
