// A loaded checkpoint and its CPU forward pass (fp32).
#ifndef EGMLA_MODEL_MODEL_H_
#define EGMLA_MODEL_MODEL_H_

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kvcache/cache_spec.h"
#include "model/config.h"
#include "model/gate.h"
#include "model/sequence_cache.h"
#include "model/weights.h"

namespace egmla {

struct ModelOptions {
  GateMode gate_mode = GateMode::kTable;  // eg_mla only
};

class Model {
 public:
  // Loads `dir` (config.json + safetensors). Errors name the file, field or tensor at fault.
  static absl::StatusOr<std::unique_ptr<Model>> Load(const std::string& dir,
                                                     const ModelOptions& options = {});
  static absl::StatusOr<std::unique_ptr<Model>> FromWeights(ModelConfig config,
                                                            ModelWeights weights,
                                                            const ModelOptions& options = {});

  const ModelConfig& config() const { return config_; }
  CacheSpec cache_spec() const;  // fp32 on CPU
  SequenceCache NewCache() const;

  // Runs `token_ids` (the next tokens of the sequence in `cache`), appends them to the cache and
  // returns their logits [n, vocab]; row i predicts the token after token_ids[i].
  // Errors: a token id outside [0, vocab), a sequence longer than max_position_embeddings.
  absl::StatusOr<std::vector<float>> Forward(std::span<const int32_t> token_ids,
                                             SequenceCache* cache) const;

 private:
  Model(ModelConfig config, ModelWeights weights)
      : config_(std::move(config)), weights_(std::move(weights)) {}

  void Mlp(int64_t layer, const float* x, int64_t n, float* out) const;

  ModelConfig config_;
  ModelWeights weights_;
  std::optional<Gates> gates_;  // eg_mla only
};

}  // namespace egmla

#endif  // EGMLA_MODEL_MODEL_H_
