// A loaded checkpoint and its CPU forward pass (fp32).
#ifndef EGMLA_MODEL_MODEL_H_
#define EGMLA_MODEL_MODEL_H_

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cache_spec.h"
#include "model/config.h"
#include "model/eg_mla_grouped.h"
#include "model/gate.h"
#include "model/kv_view.h"
#include "model/sequence_cache.h"
#include "model/weights.h"

namespace egmla {

// A batch of sequences, each computing its next tokens against its own cache.
struct BatchInput {
  std::vector<int32_t> token_ids;        // [num_rows]: the new tokens, sequence after sequence
  std::vector<SequenceSlice> sequences;  // their rows partition [0, num_rows), in order
  std::vector<int64_t> logit_rows;       // rows whose logits are wanted, ascending
};

struct ModelOptions {
  GateMode gate_mode = GateMode::kTable;  // eg_mla only
  // eg_mla up_projected: how generated tokens attend (EGMLA_DECODE.md). Prompt positions always
  // attend in the direct (recompute) form.
  EgMlaDecode eg_mla_decode = EgMlaDecode::kGrouped;
};

class Model {
 public:
  // Loads `dir` (config.json + safetensors). Errors name the file, field or tensor at fault.
  static absl::StatusOr<std::unique_ptr<Model>> Load(const std::string& dir,
                                                     const ModelOptions& options = {});
  // The same with `dir`'s config.json already loaded (LoadModelConfig), so that a caller that
  // read it first does not parse it twice.
  static absl::StatusOr<std::unique_ptr<Model>> Load(const std::string& dir, ModelConfig config,
                                                     const ModelOptions& options = {});
  static absl::StatusOr<std::unique_ptr<Model>> FromWeights(ModelConfig config,
                                                            ModelWeights weights,
                                                            const ModelOptions& options = {});

  // Neither copied nor moved: gates_ refers to config_ and weights_ (held by unique_ptr).
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return config_; }
  const ModelOptions& options() const { return options_; }
  // The fp32 weights and (eg_mla) the gates, for runners that copy them to a device.
  const ModelWeights& weights() const { return weights_; }
  const Gates* gates() const { return gates_ ? &*gates_ : nullptr; }
  CacheSpec cache_spec() const;  // fp32 on CPU
  SequenceCache NewCache() const;

  // Runs a batch: writes every new token's cache rows (and, where kept, its id) through its
  // sequence's slots and returns the logits of `logit_rows` ([logit_rows.size(), vocab]; the
  // logits of row r predict the token after token_ids[r]). Each row's result is bitwise
  // independent of the rest of the batch.
  // REQUIRES: each sequence's storage has room for num_total() positions.
  // Errors: a token id outside [0, vocab), a sequence longer than max_position_embeddings.
  absl::StatusOr<std::vector<float>> ForwardBatch(const BatchInput& batch) const;

  // One sequence with a contiguous cache: runs `token_ids` (its next tokens), appends them to
  // `cache` and returns their logits [n, vocab].
  absl::StatusOr<std::vector<float>> Forward(std::span<const int32_t> token_ids,
                                             SequenceCache* cache) const;

  // Whether the cache keeps each token's id (eg_mla with the up-projected gate).
  bool keeps_token_ids() const { return cache_spec().extra_bytes_per_token > 0; }

 private:
  Model(ModelConfig config, ModelWeights weights, const ModelOptions& options)
      : config_(std::move(config)), weights_(std::move(weights)), options_(options) {}

  absl::Status Validate(const BatchInput& batch) const;
  void Mlp(int64_t layer, const float* x, int64_t n, float* out) const;

  ModelConfig config_;
  ModelWeights weights_;
  ModelOptions options_;
  std::optional<Gates> gates_;  // eg_mla only
};

}  // namespace egmla

#endif  // EGMLA_MODEL_MODEL_H_
