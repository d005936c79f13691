// The tensors a config implies (DESIGN §3.3): names and shapes, in checkpoint order.
#ifndef EGMLA_MODEL_TENSOR_NAMES_H_
#define EGMLA_MODEL_TENSOR_NAMES_H_

#include <string>
#include <vector>

#include "common/tensor.h"
#include "model/config.h"

namespace egmla {

struct TensorSpec {
  std::string name;
  Shape shape;
};

std::vector<TensorSpec> ExpectedTensors(const ModelConfig& config);

// "model.layers.3.self_attn.kv_b_proj.weight" for LayerTensorName(3, "self_attn.kv_b_proj.weight").
std::string LayerTensorName(int64_t layer, const std::string& suffix);
std::string GateEmbeddingName(int64_t group);

}  // namespace egmla

#endif  // EGMLA_MODEL_TENSOR_NAMES_H_
