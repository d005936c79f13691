#include "bench/bench_models.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "model/random_model.h"
#include "model/test_models.h"
#include "nlohmann/json.hpp"
#include "tokenizer/tokenizer.h"

namespace egmla {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<Model> RandomModel(const std::string& config_path, int layers,
                                   const ModelOptions& options, int64_t vocab) {
  nlohmann::json json = nlohmann::json::parse(ReadText(config_path));
  if (layers > 0) json["num_hidden_layers"] = layers;
  json["max_position_embeddings"] = 8200;
  if (vocab > 0) {
    json["vocab_size"] = vocab;
    json.erase("bos_token_id");
    json["eos_token_id"] = 0;
  }
  absl::StatusOr<ModelConfig> config = ParseModelConfig(json.dump());
  if (!config.ok()) {
    std::cerr << config_path << ": " << config.status() << "\n";
    std::exit(1);
  }
  const auto weights = RandomWeights(*config, 1);
  absl::StatusOr<ModelWeights> bound =
      ModelWeights::Bind(*config, testing::F32Views(*config, weights));
  absl::StatusOr<std::unique_ptr<Model>> model =
      bound.ok() ? Model::FromWeights(*config, *std::move(bound), options) : bound.status();
  if (!model.ok()) {
    std::cerr << config_path << ": " << model.status() << "\n";
    std::exit(1);
  }
  return *std::move(model);
}

std::vector<int32_t> EnglishTextIds(const std::string& repo) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      LoadTokenizer(repo + "/tests/data/tokenizers/gpt2_tokenizer.json");
  if (!tokenizer.ok()) {
    std::cerr << tokenizer.status() << "\n";
    return {};
  }
  std::string text;
  for (const char* name : {"GPL-3", "GPL-2", "LGPL-2.1", "Apache-2.0", "GFDL-1.3", "MPL-2.0",
                           "Artistic", "LGPL-3", "CC0-1.0"}) {
    text += ReadText(std::string("/usr/share/common-licenses/") + name);
  }
  absl::StatusOr<std::vector<int32_t>> ids = (*tokenizer)->Encode(text);
  if (!ids.ok()) {
    std::cerr << ids.status() << "\n";
    return {};
  }
  return *std::move(ids);
}

}  // namespace egmla
