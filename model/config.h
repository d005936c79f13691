// config.json of a checkpoint (DESIGN §3.3), parsed and validated once, never mutated.
#ifndef EGMLA_MODEL_CONFIG_H_
#define EGMLA_MODEL_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace egmla {

enum class AttentionType { kMha, kMla, kEgMla };
enum class GatePlacement { kUpProjected, kLatent };

std::string_view AttentionTypeName(AttentionType type);  // "mha" | "mla" | "eg_mla"

struct ModelConfig {
  AttentionType attention_type = AttentionType::kEgMla;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t head_dim = 0;                // mha only; default hidden_size / num_attention_heads
  std::optional<int64_t> q_lora_rank;  // unset = q_proj
  int64_t kv_lora_rank = 0;            // d_c
  int64_t qk_nope_head_dim = 0;        // d_nope
  int64_t qk_rope_head_dim = 0;        // d_R
  int64_t v_head_dim = 0;              // d_v
  int64_t gate_embedding_dim = 0;      // d_e (eg_mla)
  int64_t gate_layer_group_size = 1;
  GatePlacement gate_placement = GatePlacement::kUpProjected;
  double gate_norm_eps = 1e-5;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool rope_interleave = true;
  int64_t max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  // The built-in chat format of /v1/chat/completions (one of kChatFormatNames); empty: none, and
  // chat requests are refused. Built in because there is no C++ Jinja engine to run a template.
  std::string chat_format;

  bool is_latent() const { return attention_type != AttentionType::kMha; }
  bool is_eg_mla() const { return attention_type == AttentionType::kEgMla; }
  // eg_mla with the gate on the up-projected K and V: the cache keeps token ids and LayerNorm
  // statistics, and generated tokens decode grouped by id or recompute.
  bool is_eg_mla_up_projected() const {
    return is_eg_mla() && gate_placement == GatePlacement::kUpProjected;
  }
  // ceil(num_hidden_layers / gate_layer_group_size); 0 unless eg_mla.
  int64_t num_gate_groups() const;
  // Width of the gate vector g: n_h*(d_nope+d_v) up_projected, d_c latent; 0 unless eg_mla.
  int64_t gate_dim() const;
  // Width of one head of q and k: head_dim (mha) or d_nope + d_R.
  int64_t qk_head_dim() const;
  // Width of one head of v: head_dim (mha) or d_v.
  int64_t value_head_dim() const;
  // The id put before the ids of a text prompt: bos_token_id, when set and not also an eos id
  // (SentencePiece / Llama-style models expect it; GPT-2-style ones, whose bos is their eos, do
  // not, as vLLM's add_special_tokens does).
  std::optional<int32_t> text_prefix_token_id() const;
};

// The largest value of a size field of config.json (each positive integer field: vocab_size,
// hidden_size, the head and rank dimensions, num_hidden_layers, gate_layer_group_size,
// max_position_embeddings, ...): far above any real model (and the BPE tokenizer's id limit), and
// small enough that the sizes derived from them here (gate_dim, qk_head_dim, num_gate_groups)
// cannot overflow. A larger value is refused, naming the field.
inline constexpr int64_t kMaxConfigSize = int64_t{1} << 24;

// The values `chat_format` may take.
inline constexpr std::string_view kChatFormatNames[] = {"chatml", "llama-3"};

// Parses and validates config.json text. Errors name the offending field.
absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text);
// Reads `path` (a config.json) and parses it; errors name the file.
absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path);

}  // namespace egmla

#endif  // EGMLA_MODEL_CONFIG_H_
