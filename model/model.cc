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
  return Load(dir, std::move(config), options);
}

absl::StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& dir, ModelConfig config,
                                                   const ModelOptions& options) {
  EGMLA_ASSIGN_OR_RETURN(CheckpointTensors tensors, CheckpointTensors::Open(dir));
  EGMLA_ASSIGN_OR_RETURN(ModelWeights weights, ModelWeights::Bind(config, tensors.tensors()));
  return FromWeights(std::move(config), std::move(weights), options);
}

absl::StatusOr<std::unique_ptr<Model>> Model::FromWeights(ModelConfig config, ModelWeights weights,
                                                          const ModelOptions& options) {
  std::unique_ptr<Model> model(new Model(std::move(config), std::move(weights), options));
  if (model->config_.is_eg_mla()) {
    model->gates_.emplace(model->config_, model->weights_, options.gate_mode);
  }
  return model;
}

CacheSpec Model::cache_spec() const { return MakeCacheSpec(config_, DType::kF32); }

SequenceCache Model::NewCache() const {
  SequenceCache cache;
  cache.layers.resize(config_.num_hidden_layers);
  if (keeps_token_ids()) cache.ln_stats.resize(config_.num_hidden_layers);
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

absl::Status Model::Validate(const BatchInput& batch) const {
  const int64_t vocab = config_.vocab_size;
  for (size_t i = 0; i < batch.token_ids.size(); ++i) {
    if (batch.token_ids[i] < 0 || batch.token_ids[i] >= vocab) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", batch.token_ids[i], " at index ",
                                                     i, " is outside the vocabulary [0, ", vocab,
                                                     ")"));
    }
  }
  int64_t next_row = 0;
  for (const SequenceSlice& s : batch.sequences) {
    if (s.first_row != next_row || s.num_new < 0 || s.num_past < 0) {
      return absl::InternalError("batch sequences do not partition the rows");
    }
    next_row += s.num_new;
    if (s.num_total() > config_.max_position_embeddings) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence of ", s.num_total(), " tokens exceeds the context limit ",
                       "(max_position_embeddings ", config_.max_position_embeddings, ")"));
    }
  }
  if (next_row != static_cast<int64_t>(batch.token_ids.size())) {
    return absl::InternalError("batch sequences do not cover the token ids");
  }
  for (int64_t r : batch.logit_rows) {
    if (r < 0 || r >= next_row) return absl::InternalError("logit row outside the batch");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> Model::ForwardBatch(const BatchInput& batch) const {
  EGMLA_RETURN_IF_ERROR(Validate(batch));
  const int64_t rows = static_cast<int64_t>(batch.token_ids.size());
  const int64_t hidden = config_.hidden_size, vocab = config_.vocab_size;
  std::vector<int32_t> positions(rows);      // [rows]
  const bool keeps_ids = keeps_token_ids();  // builds a CacheSpec: once, not per token
  for (const SequenceSlice& s : batch.sequences) {
    for (int64_t i = 0; i < s.num_new; ++i) {
      positions[s.first_row + i] = static_cast<int32_t>(s.num_past + i);
      if (keeps_ids) {
        s.storage->token_ids[s.Slot(s.num_past + i)] = batch.token_ids[s.first_row + i];
      }
    }
  }

  std::vector<float> h(rows * hidden), normed(rows * hidden), delta(rows * hidden);
  for (int64_t r = 0; r < rows; ++r) {
    std::copy_n(weights_.embed() + batch.token_ids[r] * hidden, hidden, h.data() + r * hidden);
  }
  const float eps = static_cast<float>(config_.rms_norm_eps);
  for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
    const LayerWeights& w = weights_.layer(l);
    ops::RmsNorm(h.data(), w.input_norm, normed.data(), rows, hidden, eps);
    const AttentionBatch attention{
        .config = &config_,
        .weights = &w,
        .gates = gates_ ? &*gates_ : nullptr,
        .layer = l,
        .x = normed.data(),
        .token_ids = batch.token_ids.data(),
        .positions = positions.data(),
        .num_rows = rows,
        .sequences = batch.sequences,
        .grouped_decode = options_.eg_mla_decode == EgMlaDecode::kGrouped,
        .out = delta.data()};
    if (config_.is_latent()) {
      LatentAttention(attention);
    } else {
      MhaAttention(attention);
    }
    for (int64_t k = 0; k < rows * hidden; ++k) h[k] += delta[k];
    ops::RmsNorm(h.data(), w.post_attn_norm, normed.data(), rows, hidden, eps);
    Mlp(l, normed.data(), rows, delta.data());
    for (int64_t k = 0; k < rows * hidden; ++k) h[k] += delta[k];
  }

  const int64_t num_logits = static_cast<int64_t>(batch.logit_rows.size());
  std::vector<float> last(num_logits * hidden);  // [num_logits, hidden]
  for (int64_t i = 0; i < num_logits; ++i) {
    ops::RmsNorm(h.data() + batch.logit_rows[i] * hidden, weights_.final_norm(),
                 last.data() + i * hidden, 1, hidden, eps);
  }
  std::vector<float> logits(num_logits * vocab);  // [num_logits, vocab]
  ops::Linear(last.data(), weights_.lm_head(), logits.data(), num_logits, hidden, vocab);
  return logits;
}

absl::StatusOr<std::vector<float>> Model::Forward(std::span<const int32_t> token_ids,
                                                  SequenceCache* cache) const {
  const int64_t n = static_cast<int64_t>(token_ids.size());
  const int64_t total = cache->length + n;
  if (total > config_.max_position_embeddings) {
    return absl::InvalidArgumentError(
        absl::StrCat("sequence of ", total, " tokens exceeds the context limit ",
                     "(max_position_embeddings ", config_.max_position_embeddings, ")"));
  }
  const CacheSpec spec = cache_spec();
  KvStorage storage;
  for (std::vector<float>& layer : cache->layers) {
    layer.resize(total * spec.elements_per_token_per_layer);
    storage.layers.push_back(layer.data());
  }
  if (keeps_token_ids()) {
    cache->token_ids.resize(total);
    storage.token_ids = cache->token_ids.data();
    for (std::vector<float>& layer : cache->ln_stats) {
      layer.resize(total * 2);
      storage.ln_stats.push_back(layer.data());
    }
    cache->groups.Append(token_ids);
  }
  const int64_t num_prompt = cache->length == 0 ? n : cache->num_prompt;
  BatchInput batch{.token_ids = std::vector<int32_t>(token_ids.begin(), token_ids.end()),
                   .sequences = {{.first_row = 0,
                                  .num_new = n,
                                  .num_past = cache->length,
                                  .storage = &storage,
                                  .block_table = nullptr,
                                  .num_prompt = num_prompt,
                                  .groups = &cache->groups}}};
  for (int64_t r = 0; r < n; ++r) batch.logit_rows.push_back(r);
  absl::StatusOr<std::vector<float>> logits = ForwardBatch(batch);
  if (logits.ok()) {
    cache->length = total;
    cache->num_prompt = num_prompt;
  } else {  // leave the cache as it was
    for (std::vector<float>& layer : cache->layers) {
      layer.resize(cache->length * spec.elements_per_token_per_layer);
    }
    if (keeps_token_ids()) {
      cache->token_ids.resize(cache->length);
      for (std::vector<float>& layer : cache->ln_stats) layer.resize(cache->length * 2);
      cache->groups.Truncate(cache->length);
    }
  }
  return logits;
}

}  // namespace egmla
