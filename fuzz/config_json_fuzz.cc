// config.json validation (model/config.h): any text is either a config whose fields and derived
// sizes are in range, or INVALID_ARGUMENT; no exception escapes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<egmla::ModelConfig> parsed = egmla::ParseModelConfig(text);
  if (!parsed.ok()) {
    EGMLA_FUZZ_CHECK_ERROR(parsed.status(), absl::StatusCode::kInvalidArgument);
    return 0;
  }
  const egmla::ModelConfig& c = *parsed;
  const std::string detail(text.substr(0, 200));
  for (int64_t value :
       {c.vocab_size, c.hidden_size, c.intermediate_size, c.num_hidden_layers,
        c.num_attention_heads, c.gate_layer_group_size, c.max_position_embeddings}) {
    EGMLA_FUZZ_CHECK(value > 0, detail);
  }
  // The derived sizes the model code uses: positive, without overflow (UBSan would report it).
  EGMLA_FUZZ_CHECK(c.qk_head_dim() > 0 && c.value_head_dim() > 0, detail);
  if (c.is_latent()) {
    EGMLA_FUZZ_CHECK(c.kv_lora_rank > 0 && c.qk_rope_head_dim % 2 == 0, detail);
  } else {
    EGMLA_FUZZ_CHECK(c.head_dim > 0 && c.head_dim % 2 == 0, detail);
  }
  if (c.is_eg_mla()) {
    EGMLA_FUZZ_CHECK(c.num_gate_groups() > 0 && c.gate_dim() > 0, detail);
    EGMLA_FUZZ_CHECK(c.num_gate_groups() <= c.num_hidden_layers, detail);
  } else {
    EGMLA_FUZZ_CHECK(c.num_gate_groups() == 0 && c.gate_dim() == 0, detail);
  }
  if (c.bos_token_id) {
    EGMLA_FUZZ_CHECK(*c.bos_token_id >= 0 && *c.bos_token_id < c.vocab_size, detail);
  }
  for (int64_t eos : c.eos_token_ids) EGMLA_FUZZ_CHECK(eos >= 0 && eos < c.vocab_size, detail);
  if (std::optional<int32_t> prefix = c.text_prefix_token_id()) {
    EGMLA_FUZZ_CHECK(c.bos_token_id && *prefix == *c.bos_token_id, detail);
  }
  bool known_format = c.chat_format.empty();
  for (std::string_view name : egmla::kChatFormatNames) known_format |= c.chat_format == name;
  EGMLA_FUZZ_CHECK(known_format, detail);
  return 0;
}
