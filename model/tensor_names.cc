#include "model/tensor_names.h"

#include "absl/strings/str_cat.h"

namespace egmla {

std::string LayerTensorName(int64_t layer, const std::string& suffix) {
  return absl::StrCat("model.layers.", layer, ".", suffix);
}

std::string GateEmbeddingName(int64_t group) {
  return absl::StrCat("model.gate_embeddings.", group, ".weight");
}

namespace {

void AddAttentionTensors(const ModelConfig& c, int64_t l, std::vector<TensorSpec>& out) {
  auto add = [&](const std::string& suffix, Shape shape) {
    out.push_back({LayerTensorName(l, "self_attn." + suffix), std::move(shape)});
  };
  const int64_t h = c.hidden_size, n_h = c.num_attention_heads;
  if (c.attention_type == AttentionType::kMha) {
    for (const char* p : {"q_proj.weight", "k_proj.weight", "v_proj.weight"}) {
      add(p, {n_h * c.head_dim, h});
    }
    add("o_proj.weight", {h, n_h * c.head_dim});
    return;
  }
  const int64_t q_width = n_h * (c.qk_nope_head_dim + c.qk_rope_head_dim);
  if (c.q_lora_rank) {
    add("q_a_proj.weight", {*c.q_lora_rank, h});
    add("q_a_layernorm.weight", {*c.q_lora_rank});
    add("q_b_proj.weight", {q_width, *c.q_lora_rank});
  } else {
    add("q_proj.weight", {q_width, h});
  }
  add("kv_a_proj_with_mqa.weight", {c.kv_lora_rank + c.qk_rope_head_dim, h});
  const bool latent_gate = c.is_eg_mla() && c.gate_placement == GatePlacement::kLatent;
  if (!latent_gate) add("kv_a_layernorm.weight", {c.kv_lora_rank});
  add("kv_b_proj.weight", {n_h * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank});
  add("o_proj.weight", {h, n_h * c.v_head_dim});
  if (c.is_eg_mla()) {
    add("gate_up_proj.weight", {c.gate_dim(), c.gate_embedding_dim});
    add("gate_norm.weight", {c.gate_dim()});
    add("gate_norm.bias", {c.gate_dim()});
  }
}

}  // namespace

std::vector<TensorSpec> ExpectedTensors(const ModelConfig& c) {
  std::vector<TensorSpec> out;
  out.push_back({"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}});
  for (int64_t g = 0; g < c.num_gate_groups(); ++g) {
    out.push_back({GateEmbeddingName(g), {c.vocab_size, c.gate_embedding_dim}});
  }
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    out.push_back({LayerTensorName(l, "input_layernorm.weight"), {c.hidden_size}});
    AddAttentionTensors(c, l, out);
    out.push_back({LayerTensorName(l, "post_attention_layernorm.weight"), {c.hidden_size}});
    out.push_back(
        {LayerTensorName(l, "mlp.gate_proj.weight"), {c.intermediate_size, c.hidden_size}});
    out.push_back({LayerTensorName(l, "mlp.up_proj.weight"), {c.intermediate_size, c.hidden_size}});
    out.push_back(
        {LayerTensorName(l, "mlp.down_proj.weight"), {c.hidden_size, c.intermediate_size}});
  }
  out.push_back({"model.norm.weight", {c.hidden_size}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}});
  return out;
}

}  // namespace egmla
