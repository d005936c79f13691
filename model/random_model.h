// Deterministic random-weight checkpoints for tests and benchmarks (`egmla random-model`).
#ifndef EGMLA_MODEL_RANDOM_MODEL_H_
#define EGMLA_MODEL_RANDOM_MODEL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/dtype.h"
#include "model/config.h"

namespace egmla {

// Weights drawn from a fixed generator keyed by `seed`, identical on every machine: matrices
// uniform with std 1/sqrt(fan_in), norm weights 1 ± 0.1, gate embeddings uniform with std 1,
// gate_norm biases ± 0.1. fp32, keyed by tensor name.
std::map<std::string, std::vector<float>> RandomWeights(const ModelConfig& config, uint64_t seed);

// Writes `config_json` (copied verbatim) as config.json and the random weights at `dtype`
// (f32, bf16 or f16) as model.safetensors into `dir` (created if missing).
absl::Status WriteRandomModel(const ModelConfig& config, const std::string& config_json,
                              uint64_t seed, DType dtype, const std::string& dir);

}  // namespace egmla

#endif  // EGMLA_MODEL_RANDOM_MODEL_H_
