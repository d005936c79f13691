#include "model/test_models.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "model/random_model.h"
#include "model/tensor_names.h"

namespace egmla::testing {
namespace {

constexpr char kShapes[] = R"("vocab_size": 61, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 3, "num_attention_heads": 4, "max_position_embeddings": 512,
    "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 6, "eos_token_id": 2)";

template <typename T>
T OrDie(absl::StatusOr<T> value, const std::string& what) {
  if (!value.ok()) {
    std::cerr << what << ": " << value.status() << "\n";
    std::abort();
  }
  return *std::move(value);
}

}  // namespace

std::vector<TestVariant> TestVariants() {
  return {
      {"mha", R"("attention_type": "mha", "head_dim": 8, "rope_interleave": false)"},
      {"mla", R"("attention_type": "mla", "kv_lora_rank": 12)"},
      {"mla_qlora", R"("attention_type": "mla", "kv_lora_rank": 12, "q_lora_rank": 16,
                       "rope_interleave": false)"},
      {"egmla_up", R"("attention_type": "eg_mla", "kv_lora_rank": 6, "gate_embedding_dim": 5,
                      "gate_layer_group_size": 2)"},
      {"egmla_latent", R"("attention_type": "eg_mla", "kv_lora_rank": 6, "gate_embedding_dim": 5,
                          "gate_placement": "latent", "tie_word_embeddings": true)"},
  };
}

ModelConfig TestConfig(const TestVariant& v) {
  return OrDie(ParseModelConfig(absl::StrCat("{", kShapes, ",", v.json, "}")), v.name);
}

std::map<std::string, TensorView> F32Views(const ModelConfig& c,
                                           const std::map<std::string, std::vector<float>>& w) {
  std::map<std::string, TensorView> views;
  for (const TensorSpec& spec : ExpectedTensors(c)) {
    views[spec.name] = {.data = w.at(spec.name).data(), .dtype = DType::kF32, .shape = spec.shape};
  }
  return views;
}

std::unique_ptr<Model> MakeTestModel(const ModelConfig& c, GateMode mode, uint64_t seed) {
  return MakeTestModel(c, ModelOptions{.gate_mode = mode}, seed);
}

std::unique_ptr<Model> MakeTestModel(const ModelConfig& c, const ModelOptions& options,
                                     uint64_t seed) {
  const auto weights = RandomWeights(c, seed);
  ModelWeights bound = OrDie(ModelWeights::Bind(c, F32Views(c, weights)), "bind");
  return OrDie(Model::FromWeights(c, std::move(bound), options), "model");
}

}  // namespace egmla::testing
