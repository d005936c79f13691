#include "model/config.h"

#include <cmath>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/regular_file.h"
#include "common/status.h"

namespace egmla {
namespace {

using Json = nlohmann::json;

// A short, printable rendering of a JSON value for error messages. Compound values are only
// described (dumping them could be huge or deeply nested).
std::string Describe(const Json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  constexpr size_t kMaxLength = 64;
  if (text.size() > kMaxLength) text = text.substr(0, kMaxLength) + "...";
  return text;
}

absl::Status FieldError(const char* field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("config field '", field, "': ", message));
}

// Reads typed fields from the top-level object of config.json.
class FieldReader {
 public:
  explicit FieldReader(const Json& root) : root_(root) {}

  // Null when the key is absent or its value is JSON null.
  const Json* Find(const char* key) const {
    auto it = root_.find(key);
    if (it == root_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  static absl::StatusOr<int64_t> AsInt(const char* field, const Json& value) {
    if (value.is_number_unsigned()) {
      if (value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return FieldError(field, absl::StrCat("integer out of range, got ", Describe(value)));
      }
      return static_cast<int64_t>(value.get<uint64_t>());
    }
    if (value.is_number_integer()) return value.get<int64_t>();
    return FieldError(field, absl::StrCat("expected an integer, got ", Describe(value)));
  }

  absl::StatusOr<int64_t> RequiredPositiveInt(const char* field) const {
    const Json* value = Find(field);
    if (value == nullptr) return FieldError(field, "missing (required)");
    return PositiveInt(field, *value);
  }

  absl::StatusOr<int64_t> OptionalPositiveInt(const char* field, int64_t fallback) const {
    const Json* value = Find(field);
    if (value == nullptr) return fallback;
    return PositiveInt(field, *value);
  }

  absl::StatusOr<std::optional<int64_t>> NullablePositiveInt(const char* field) const {
    const Json* value = Find(field);
    if (value == nullptr) return std::nullopt;
    EGMLA_ASSIGN_OR_RETURN(int64_t result, PositiveInt(field, *value));
    return result;
  }

  absl::StatusOr<double> OptionalPositiveDouble(const char* field, double fallback) const {
    const Json* value = Find(field);
    if (value == nullptr) return fallback;
    if (!value->is_number()) {
      return FieldError(field, absl::StrCat("expected a number, got ", Describe(*value)));
    }
    double result = value->get<double>();
    if (!std::isfinite(result) || result <= 0) {
      return FieldError(field,
                        absl::StrCat("must be a positive finite number, got ", Describe(*value)));
    }
    return result;
  }

  absl::StatusOr<bool> OptionalBool(const char* field, bool fallback) const {
    const Json* value = Find(field);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) {
      return FieldError(field, absl::StrCat("expected true or false, got ", Describe(*value)));
    }
    return value->get<bool>();
  }

  // Absent or null gives nullopt.
  absl::StatusOr<std::optional<std::string>> OptionalString(const char* field) const {
    const Json* value = Find(field);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) {
      return FieldError(field, absl::StrCat("expected a string, got ", Describe(*value)));
    }
    return value->get<std::string>();
  }

 private:
  static absl::StatusOr<int64_t> PositiveInt(const char* field, const Json& value) {
    EGMLA_ASSIGN_OR_RETURN(int64_t result, AsInt(field, value));
    if (result <= 0) {
      return FieldError(field, absl::StrCat("must be a positive integer, got ", result));
    }
    if (result > kMaxConfigSize) {
      return FieldError(field, absl::StrCat("must be at most ", kMaxConfigSize, ", got ", result));
    }
    return result;
  }

  const Json& root_;
};

absl::Status CheckEven(const char* field, int64_t value) {
  if (value % 2 != 0) {
    return FieldError(field, absl::StrCat("must be even (RoPE rotates pairs), got ", value));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> TokenId(const char* field, const Json& value, int64_t vocab_size) {
  EGMLA_ASSIGN_OR_RETURN(int64_t id, FieldReader::AsInt(field, value));
  if (id < 0 || id >= vocab_size) {
    return FieldError(
        field, absl::StrCat("token id ", id, " is outside [0, vocab_size=", vocab_size, ")"));
  }
  return id;
}

absl::Status ParseAttentionFields(const FieldReader& reader, ModelConfig& config) {
  if (config.attention_type == AttentionType::kMha) {
    if (const Json* head_dim = reader.Find("head_dim"); head_dim != nullptr) {
      EGMLA_ASSIGN_OR_RETURN(config.head_dim, reader.RequiredPositiveInt("head_dim"));
    } else if (config.hidden_size % config.num_attention_heads != 0) {
      return FieldError("head_dim", absl::StrCat("missing, and hidden_size ", config.hidden_size,
                                                 " is not divisible by num_attention_heads ",
                                                 config.num_attention_heads));
    } else {
      config.head_dim = config.hidden_size / config.num_attention_heads;
    }
    return CheckEven("head_dim", config.head_dim);
  }
  EGMLA_ASSIGN_OR_RETURN(config.q_lora_rank, reader.NullablePositiveInt("q_lora_rank"));
  EGMLA_ASSIGN_OR_RETURN(config.kv_lora_rank, reader.RequiredPositiveInt("kv_lora_rank"));
  EGMLA_ASSIGN_OR_RETURN(config.qk_nope_head_dim, reader.RequiredPositiveInt("qk_nope_head_dim"));
  EGMLA_ASSIGN_OR_RETURN(config.qk_rope_head_dim, reader.RequiredPositiveInt("qk_rope_head_dim"));
  EGMLA_RETURN_IF_ERROR(CheckEven("qk_rope_head_dim", config.qk_rope_head_dim));
  EGMLA_ASSIGN_OR_RETURN(config.v_head_dim, reader.RequiredPositiveInt("v_head_dim"));
  if (config.is_eg_mla()) {
    EGMLA_ASSIGN_OR_RETURN(config.gate_embedding_dim,
                           reader.RequiredPositiveInt("gate_embedding_dim"));
  }
  return absl::OkStatus();
}

absl::Status ParseTokenIds(const FieldReader& reader, ModelConfig& config) {
  if (const Json* bos = reader.Find("bos_token_id"); bos != nullptr) {
    EGMLA_ASSIGN_OR_RETURN(config.bos_token_id, TokenId("bos_token_id", *bos, config.vocab_size));
  }
  const Json* eos = reader.Find("eos_token_id");
  if (eos == nullptr) return absl::OkStatus();
  if (!eos->is_array()) {
    if (!eos->is_number()) {
      return FieldError(
          "eos_token_id",
          absl::StrCat("expected an integer or a list of integers, got ", Describe(*eos)));
    }
    EGMLA_ASSIGN_OR_RETURN(int64_t id, TokenId("eos_token_id", *eos, config.vocab_size));
    config.eos_token_ids.push_back(id);
    return absl::OkStatus();
  }
  for (const Json& item : *eos) {
    EGMLA_ASSIGN_OR_RETURN(int64_t id, TokenId("eos_token_id", item, config.vocab_size));
    config.eos_token_ids.push_back(id);
  }
  return absl::OkStatus();
}

absl::Status ParseChatFormat(const FieldReader& reader, ModelConfig& config) {
  EGMLA_ASSIGN_OR_RETURN(std::optional<std::string> format, reader.OptionalString("chat_format"));
  if (!format.has_value()) return absl::OkStatus();
  for (std::string_view name : kChatFormatNames) {
    if (*format == name) {
      config.chat_format = *format;
      return absl::OkStatus();
    }
  }
  std::string names;
  for (std::string_view name : kChatFormatNames) {
    names += (names.empty() ? "\"" : ", \"") + std::string(name) + "\"";
  }
  return FieldError("chat_format",
                    absl::StrCat("must be one of ", names, ", got \"", *format, "\""));
}

absl::StatusOr<ModelConfig> ParseRoot(const Json& root) {
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json must hold a JSON object, got ", Describe(root)));
  }
  FieldReader reader(root);
  ModelConfig config;

  EGMLA_ASSIGN_OR_RETURN(std::optional<std::string> model_type,
                         reader.OptionalString("model_type"));
  if (model_type.has_value() && *model_type != "egmla") {
    return FieldError("model_type",
                      absl::StrCat("must be \"egmla\", got ", Describe(root["model_type"])));
  }
  EGMLA_ASSIGN_OR_RETURN(std::optional<std::string> attention_type,
                         reader.OptionalString("attention_type"));
  if (!attention_type.has_value()) return FieldError("attention_type", "missing (required)");
  if (*attention_type == "mha") {
    config.attention_type = AttentionType::kMha;
  } else if (*attention_type == "mla") {
    config.attention_type = AttentionType::kMla;
  } else if (*attention_type == "eg_mla") {
    config.attention_type = AttentionType::kEgMla;
  } else {
    return FieldError("attention_type", absl::StrCat("must be \"mha\", \"mla\" or \"eg_mla\", got ",
                                                     Describe(root["attention_type"])));
  }
  if (reader.Find("rope_scaling") != nullptr) {
    return FieldError("rope_scaling", "rope_scaling is not supported yet");
  }

  EGMLA_ASSIGN_OR_RETURN(config.vocab_size, reader.RequiredPositiveInt("vocab_size"));
  EGMLA_ASSIGN_OR_RETURN(config.hidden_size, reader.RequiredPositiveInt("hidden_size"));
  EGMLA_ASSIGN_OR_RETURN(config.intermediate_size, reader.RequiredPositiveInt("intermediate_size"));
  EGMLA_ASSIGN_OR_RETURN(config.num_hidden_layers, reader.RequiredPositiveInt("num_hidden_layers"));
  EGMLA_ASSIGN_OR_RETURN(config.num_attention_heads,
                         reader.RequiredPositiveInt("num_attention_heads"));
  EGMLA_RETURN_IF_ERROR(ParseAttentionFields(reader, config));

  EGMLA_ASSIGN_OR_RETURN(config.gate_layer_group_size,
                         reader.OptionalPositiveInt("gate_layer_group_size", 1));
  EGMLA_ASSIGN_OR_RETURN(std::optional<std::string> placement,
                         reader.OptionalString("gate_placement"));
  if (placement.has_value()) {
    if (*placement == "up_projected") {
      config.gate_placement = GatePlacement::kUpProjected;
    } else if (*placement == "latent") {
      config.gate_placement = GatePlacement::kLatent;
    } else {
      return FieldError("gate_placement",
                        absl::StrCat("must be \"up_projected\" or \"latent\", got ",
                                     Describe(root["gate_placement"])));
    }
  }
  EGMLA_ASSIGN_OR_RETURN(config.gate_norm_eps,
                         reader.OptionalPositiveDouble("gate_norm_eps", 1e-5));
  EGMLA_ASSIGN_OR_RETURN(config.rms_norm_eps, reader.OptionalPositiveDouble("rms_norm_eps", 1e-6));
  EGMLA_ASSIGN_OR_RETURN(config.rope_theta, reader.OptionalPositiveDouble("rope_theta", 10000.0));
  EGMLA_ASSIGN_OR_RETURN(config.rope_interleave, reader.OptionalBool("rope_interleave", true));
  EGMLA_ASSIGN_OR_RETURN(config.max_position_embeddings,
                         reader.OptionalPositiveInt("max_position_embeddings", 2048));
  EGMLA_ASSIGN_OR_RETURN(config.tie_word_embeddings,
                         reader.OptionalBool("tie_word_embeddings", false));
  EGMLA_RETURN_IF_ERROR(ParseTokenIds(reader, config));
  EGMLA_RETURN_IF_ERROR(ParseChatFormat(reader, config));
  return config;
}

}  // namespace

std::string_view AttentionTypeName(AttentionType type) {
  switch (type) {
    case AttentionType::kMha:
      return "mha";
    case AttentionType::kMla:
      return "mla";
    case AttentionType::kEgMla:
      return "eg_mla";
  }
  return "?";
}

int64_t ModelConfig::num_gate_groups() const {
  if (!is_eg_mla() || gate_layer_group_size <= 0) return 0;
  return (num_hidden_layers + gate_layer_group_size - 1) / gate_layer_group_size;
}

int64_t ModelConfig::gate_dim() const {
  if (!is_eg_mla()) return 0;
  if (gate_placement == GatePlacement::kLatent) return kv_lora_rank;
  return num_attention_heads * (qk_nope_head_dim + v_head_dim);
}

int64_t ModelConfig::qk_head_dim() const {
  return is_latent() ? qk_nope_head_dim + qk_rope_head_dim : head_dim;
}

int64_t ModelConfig::value_head_dim() const { return is_latent() ? v_head_dim : head_dim; }

absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text) {
  try {
    Json root = Json::parse(json_text);
    return ParseRoot(root);
  } catch (const Json::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat("config.json is not valid JSON: ", e.what()));
  } catch (const std::exception& e) {
    // Not expected: every field access above checks types first. Kept so no input can escape.
    return absl::InvalidArgumentError(absl::StrCat("config.json could not be read: ", e.what()));
  }
}

absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  EGMLA_ASSIGN_OR_RETURN(std::string text, ReadRegularFile(path));
  absl::StatusOr<ModelConfig> config = ParseModelConfig(text);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

std::optional<int32_t> ModelConfig::text_prefix_token_id() const {
  if (!bos_token_id) return std::nullopt;
  for (int64_t eos : eos_token_ids) {
    if (eos == *bos_token_id) return std::nullopt;
  }
  return static_cast<int32_t>(*bos_token_id);
}

}  // namespace egmla
