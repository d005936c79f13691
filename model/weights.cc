#include "model/weights.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/tensor_names.h"

namespace egmla {
namespace {

// A NaN or Inf weight turns every logit into NaN (greedy then emits token 0 forever), so it is
// refused at load. Checked after conversion, so every NaN and Inf encoding of every dtype counts.
absl::Status CheckFinite(const std::string& name, const std::vector<float>& values) {
  size_t num_bad = 0, first_bad = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]) && num_bad++ == 0) first_bad = i;
  }
  if (num_bad == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "tensor '", name, "' has ", num_bad,
      num_bad == 1 ? " non-finite value" : " non-finite values", " (NaN or Inf) among its ",
      values.size(), ", the first at element ", first_bad, " (", values[first_bad], ")"));
}

}  // namespace

absl::StatusOr<ModelWeights> ModelWeights::Bind(const ModelConfig& config,
                                                const std::map<std::string, TensorView>& tensors) {
  ModelWeights w;
  const std::vector<TensorSpec> expected = ExpectedTensors(config);
  for (const TensorSpec& spec : expected) {
    auto it = tensors.find(spec.name);
    if (it == tensors.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "missing tensor '", spec.name, "' (expected shape ", ShapeToString(spec.shape), ")"));
    }
    const TensorView& view = it->second;
    if (view.shape != spec.shape) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", spec.name, "' has shape ",
                                                     ShapeToString(view.shape), ", expected ",
                                                     ShapeToString(spec.shape)));
    }
    if (view.dtype == DType::kI32) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", spec.name, "' has dtype ",
                                                     DTypeName(view.dtype),
                                                     "; weights must be f32, bf16 or f16"));
    }
    std::vector<float>& dst = w.storage_[spec.name];
    dst.resize(view.num_elements());
    ConvertToF32(view.data, view.dtype, dst.size(), dst.data());
    if (absl::Status finite = CheckFinite(spec.name, dst); !finite.ok()) return finite;
  }
  if (tensors.size() != expected.size()) {
    for (const auto& [name, view] : tensors) {
      if (!w.storage_.contains(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unexpected tensor '", name, "' with shape ", ShapeToString(view.shape),
            ": the config (attention_type ", std::string(AttentionTypeName(config.attention_type)),
            ") does not explain it"));
      }
    }
  }

  w.embed_ = w.Get("model.embed_tokens.weight");
  w.final_norm_ = w.Get("model.norm.weight");
  w.lm_head_ = config.tie_word_embeddings ? w.embed_ : w.Get("lm_head.weight");
  for (int64_t g = 0; g < config.num_gate_groups(); ++g) {
    w.gate_embeddings_.push_back(w.Get(GateEmbeddingName(g)));
  }
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    auto get = [&](const std::string& suffix) { return w.Get(LayerTensorName(l, suffix)); };
    LayerWeights lw;
    lw.input_norm = get("input_layernorm.weight");
    lw.post_attn_norm = get("post_attention_layernorm.weight");
    lw.mlp_gate = get("mlp.gate_proj.weight");
    lw.mlp_up = get("mlp.up_proj.weight");
    lw.mlp_down = get("mlp.down_proj.weight");
    lw.q_proj = get("self_attn.q_proj.weight");
    lw.k_proj = get("self_attn.k_proj.weight");
    lw.v_proj = get("self_attn.v_proj.weight");
    lw.o_proj = get("self_attn.o_proj.weight");
    lw.q_a_proj = get("self_attn.q_a_proj.weight");
    lw.q_a_norm = get("self_attn.q_a_layernorm.weight");
    lw.q_b_proj = get("self_attn.q_b_proj.weight");
    lw.kv_a_proj = get("self_attn.kv_a_proj_with_mqa.weight");
    lw.kv_a_norm = get("self_attn.kv_a_layernorm.weight");
    lw.kv_b_proj = get("self_attn.kv_b_proj.weight");
    lw.gate_up_proj = get("self_attn.gate_up_proj.weight");
    lw.gate_norm_weight = get("self_attn.gate_norm.weight");
    lw.gate_norm_bias = get("self_attn.gate_norm.bias");
    w.layers_.push_back(lw);
  }
  return w;
}

const float* ModelWeights::Get(const std::string& name) const {
  auto it = storage_.find(name);
  return it == storage_.end() ? nullptr : it->second.data();
}

size_t ModelWeights::num_bytes() const {
  size_t n = 0;
  for (const auto& [name, v] : storage_) n += v.size() * sizeof(float);
  return n;
}

}  // namespace egmla
