// The model's weights on the device in bf16 (DESIGN §3.3, §6), uploaded once from the loaded
// checkpoint (F32, BF16 or F16 on disk, fp32 on the host after loading; bf16 is exact for a BF16
// checkpoint). The MLP's gate and up projections are stored as one [2 * intermediate, hidden]
// matrix (one GEMM). eg_mla keeps per layer either its gate table G_l [vocab, D_gate] (table
// mode) or, on the fly, the gate embeddings and gate_up_proj.
#ifndef EGMLA_RUNNER_CUDA_DEVICE_WEIGHTS_H_
#define EGMLA_RUNNER_CUDA_DEVICE_WEIGHTS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/cuda/bf16.h"
#include "kernels/cuda/runtime/device_buffer.h"
#include "model/model.h"

namespace egmla::cuda {

// Device pointers; null where the config has no such tensor. Shapes as LayerWeights'.
struct DeviceLayerWeights {
  const bf16* input_norm = nullptr;        // [hidden]
  const bf16* post_attn_norm = nullptr;    // [hidden]
  const bf16* mlp_gate_up = nullptr;       // [2 * intermediate, hidden]: gate rows, then up rows
  const bf16* mlp_down = nullptr;          // [hidden, intermediate]
  const bf16* q_proj = nullptr;            // mha [n_h*hd, hidden]; mla [n_h*(d_nope+d_R), hidden]
  const bf16* k_proj = nullptr;            // [n_h*hd, hidden]
  const bf16* v_proj = nullptr;            // [n_h*hd, hidden]
  const bf16* o_proj = nullptr;            // [hidden, n_h*d_v]
  const bf16* q_a_proj = nullptr;          // [q_lora, hidden]
  const bf16* q_a_norm = nullptr;          // [q_lora]
  const bf16* q_b_proj = nullptr;          // [n_h*(d_nope+d_R), q_lora]
  const bf16* kv_a_proj = nullptr;         // [d_c+d_R, hidden]
  const bf16* kv_a_norm = nullptr;         // [d_c]
  const bf16* kv_b_proj = nullptr;         // [n_h*(d_nope+d_v), d_c], head-major
  const bf16* gate_up_proj = nullptr;      // [D_gate, d_e]; on the fly
  const bf16* gate_embedding = nullptr;    // [vocab, d_e] of the layer's group; on the fly
  const bf16* gate_table = nullptr;        // [vocab, D_gate]; table mode
  const bf16* gate_norm_weight = nullptr;  // [D_gate]
  const bf16* gate_norm_bias = nullptr;    // [D_gate]
};

class DeviceWeights {
 public:
  // Uploads `model`'s weights (and its gate tables in table mode). RESOURCE_EXHAUSTED naming the
  // allocation when the device is full.
  static absl::StatusOr<DeviceWeights> Upload(const Model& model);
  // Bytes Upload would take on the device, for sizing before anything is allocated.
  static int64_t BytesFor(const Model& model);

  const bf16* embed() const { return embed_; }            // [vocab, hidden]
  const bf16* final_norm() const { return final_norm_; }  // [hidden]
  const bf16* lm_head() const { return lm_head_; }        // [vocab, hidden]
  const DeviceLayerWeights& layer(int64_t l) const { return layers_[l]; }
  int64_t num_bytes() const { return num_bytes_; }

 private:
  std::vector<DeviceBuffer> buffers_;
  const bf16* embed_ = nullptr;
  const bf16* final_norm_ = nullptr;
  const bf16* lm_head_ = nullptr;
  std::vector<DeviceLayerWeights> layers_;
  int64_t num_bytes_ = 0;
};

}  // namespace egmla::cuda

#endif  // EGMLA_RUNNER_CUDA_DEVICE_WEIGHTS_H_
