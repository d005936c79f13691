#include "model/model.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "kernels/ops.h"
#include "model/attention.h"
#include "model/kv_size.h"
#include "model/safetensors.h"

namespace egmla {

absl::StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& dir,
                                                   const ModelOptions& options) {
  EGMLA_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(dir + "/config.json"));
  EGMLA_ASSIGN_OR_RETURN(CheckpointTensors tensors, CheckpointTensors::Open(dir));
  EGMLA_ASSIGN_OR_RETURN(ModelWeights weights, ModelWeights::Bind(config, tensors.tensors()));
  return FromWeights(std::move(config), std::move(weights), options);
}

absl::StatusOr<std::unique_ptr<Model>> Model::FromWeights(ModelConfig config, ModelWeights weights,
                                                          const ModelOptions& options) {
  std::unique_ptr<Model> model(new Model(std::move(config), std::move(weights)));
  if (model->config_.is_eg_mla()) {
    model->gates_.emplace(model->config_, model->weights_, options.gate_mode);
  }
  return model;
}

CacheSpec Model::cache_spec() const { return MakeCacheSpec(config_, DType::kF32); }

SequenceCache Model::NewCache() const {
  SequenceCache cache;
  cache.layers.resize(config_.num_hidden_layers);
  return cache;
}

void Model::Mlp(int64_t layer, const float* x, int64_t n, float* out) const {
  const LayerWeights& w = weights_.layer(layer);
  const int64_t hidden = config_.hidden_size, inter = config_.intermediate_size;
  std::vector<float> gate(n * inter), up(n * inter);  // [n, intermediate]
  ops::Linear(x, w.mlp_gate, gate.data(), n, hidden, inter);
  ops::Linear(x, w.mlp_up, up.data(), n, hidden, inter);
  ops::SiluMul(gate.data(), up.data(), gate.data(), n * inter);
  ops::Linear(gate.data(), w.mlp_down, out, n, inter, hidden);
}

absl::StatusOr<std::vector<float>> Model::Forward(std::span<const int32_t> token_ids,
                                                  SequenceCache* cache) const {
  const int64_t n = static_cast<int64_t>(token_ids.size());
  const int64_t hidden = config_.hidden_size, vocab = config_.vocab_size;
  for (int64_t i = 0; i < n; ++i) {
    if (token_ids[i] < 0 || token_ids[i] >= vocab) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", token_ids[i], " at index ", i,
                                                     " is outside the vocabulary [0, ", vocab,
                                                     ")"));
    }
  }
  if (cache->length + n > config_.max_position_embeddings) {
    return absl::InvalidArgumentError(
        absl::StrCat("sequence of ", cache->length + n, " tokens exceeds the context limit ",
                     "(max_position_embeddings ", config_.max_position_embeddings, ")"));
  }
  if (n == 0) return std::vector<float>();

  // Every token of the sequence, for the gate of recomputed keys and values.
  std::vector<int32_t> all_ids;
  const bool keeps_ids = MakeCacheSpec(config_, DType::kF32).extra_bytes_per_token > 0;
  if (keeps_ids) {
    cache->token_ids.insert(cache->token_ids.end(), token_ids.begin(), token_ids.end());
  } else {
    all_ids.resize(cache->length);  // ids of past tokens are never read
    all_ids.insert(all_ids.end(), token_ids.begin(), token_ids.end());
  }
  const std::span<const int32_t> sequence_ids = keeps_ids ? cache->token_ids : all_ids;

  std::vector<float> h(n * hidden), normed(n * hidden), delta(n * hidden);  // [n, hidden]
  for (int64_t i = 0; i < n; ++i) {
    std::copy_n(weights_.embed() + token_ids[i] * hidden, hidden, h.data() + i * hidden);
  }
  const float eps = static_cast<float>(config_.rms_norm_eps);
  for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
    const LayerWeights& w = weights_.layer(l);
    ops::RmsNorm(h.data(), w.input_norm, normed.data(), n, hidden, eps);
    const AttentionInputs in{.config = &config_,
                             .weights = &w,
                             .gates = gates_ ? &*gates_ : nullptr,
                             .layer = l,
                             .x = normed.data(),
                             .num_new = n,
                             .num_past = cache->length,
                             .token_ids = sequence_ids,
                             .layer_cache = &cache->layers[l],
                             .out = delta.data()};
    if (config_.is_latent()) {
      LatentAttention(in);
    } else {
      MhaAttention(in);
    }
    for (int64_t k = 0; k < n * hidden; ++k) h[k] += delta[k];
    ops::RmsNorm(h.data(), w.post_attn_norm, normed.data(), n, hidden, eps);
    Mlp(l, normed.data(), n, delta.data());
    for (int64_t k = 0; k < n * hidden; ++k) h[k] += delta[k];
  }
  cache->length += n;

  ops::RmsNorm(h.data(), weights_.final_norm(), normed.data(), n, hidden, eps);
  std::vector<float> logits(n * vocab);  // [n, vocab]
  ops::Linear(normed.data(), weights_.lm_head(), logits.data(), n, hidden, vocab);
  return logits;
}

}  // namespace egmla
