// A checkpoint's tensors bound to the model's slots, converted to fp32 (the CPU compute dtype).
#ifndef EGMLA_MODEL_WEIGHTS_H_
#define EGMLA_MODEL_WEIGHTS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "model/config.h"

namespace egmla {

// Pointers into ModelWeights' own storage; null where the config has no such tensor.
struct LayerWeights {
  const float* input_norm = nullptr;      // [hidden]
  const float* post_attn_norm = nullptr;  // [hidden]
  const float* mlp_gate = nullptr;        // [intermediate, hidden]
  const float* mlp_up = nullptr;          // [intermediate, hidden]
  const float* mlp_down = nullptr;        // [hidden, intermediate]
  // mha
  const float* q_proj = nullptr;  // mha [n_h*head_dim, hidden]; mla [n_h*(d_nope+d_R), hidden]
  const float* k_proj = nullptr;  // [n_h*head_dim, hidden]
  const float* v_proj = nullptr;  // [n_h*head_dim, hidden]
  const float* o_proj = nullptr;  // mha [hidden, n_h*head_dim]; mla [hidden, n_h*d_v]
  // mla / eg_mla
  const float* q_a_proj = nullptr;          // [q_lora, hidden]
  const float* q_a_norm = nullptr;          // [q_lora]
  const float* q_b_proj = nullptr;          // [n_h*(d_nope+d_R), q_lora]
  const float* kv_a_proj = nullptr;         // [d_c+d_R, hidden]
  const float* kv_a_norm = nullptr;         // [d_c]; null for eg_mla latent placement
  const float* kv_b_proj = nullptr;         // [n_h*(d_nope+d_v), d_c], head-major
  const float* gate_up_proj = nullptr;      // [D_gate, d_e]
  const float* gate_norm_weight = nullptr;  // [D_gate]
  const float* gate_norm_bias = nullptr;    // [D_gate]
};

class ModelWeights {
 public:
  // Checks that `tensors` holds exactly the tensors the config implies, each of its shape and of
  // a float dtype, and converts them to fp32. Errors name the tensor and both shapes; a tensor
  // holding NaN or Inf is refused with the count of such values.
  static absl::StatusOr<ModelWeights> Bind(const ModelConfig& config,
                                           const std::map<std::string, TensorView>& tensors);

  // Move-only: the layer pointers point into storage_, which a copy would not bring along.
  ModelWeights(ModelWeights&&) = default;
  ModelWeights& operator=(ModelWeights&&) = default;
  ModelWeights(const ModelWeights&) = delete;
  ModelWeights& operator=(const ModelWeights&) = delete;

  const float* embed() const { return embed_; }            // [vocab, hidden]
  const float* final_norm() const { return final_norm_; }  // [hidden]
  const float* lm_head() const { return lm_head_; }        // [vocab, hidden]; embed when tied
  const float* gate_embedding(int64_t group) const {
    return gate_embeddings_[group];
  }  // [vocab, d_e]
  const LayerWeights& layer(int64_t l) const { return layers_[l]; }
  // Bytes of fp32 weights held.
  size_t num_bytes() const;

 private:
  ModelWeights() = default;  // Bind fills one
  const float* Get(const std::string& name) const;

  std::map<std::string, std::vector<float>> storage_;  // node-stable: pointers survive moves
  const float* embed_ = nullptr;
  const float* final_norm_ = nullptr;
  const float* lm_head_ = nullptr;
  std::vector<const float*> gate_embeddings_;
  std::vector<LayerWeights> layers_;
};

}  // namespace egmla

#endif  // EGMLA_MODEL_WEIGHTS_H_
