// Small random-weight models of every attention type, for tests.
#ifndef EGMLA_MODEL_TEST_MODELS_H_
#define EGMLA_MODEL_TEST_MODELS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/gate.h"
#include "model/model.h"

namespace egmla::testing {

struct TestVariant {
  std::string name;
  std::string json;  // config fields besides the shared small shapes
};

// mha, mla, mla with q_lora_rank, eg_mla up_projected (gate groups of 2), eg_mla latent (tied).
std::vector<TestVariant> TestVariants();
ModelConfig TestConfig(const TestVariant& variant);
// Views of fp32 `weights` (keyed by tensor name) with the shapes `config` expects.
std::map<std::string, TensorView> F32Views(
    const ModelConfig& config, const std::map<std::string, std::vector<float>>& weights);
std::unique_ptr<Model> MakeTestModel(const ModelConfig& config, GateMode mode = GateMode::kTable,
                                     uint64_t seed = 7);
std::unique_ptr<Model> MakeTestModel(const ModelConfig& config, const ModelOptions& options,
                                     uint64_t seed = 7);

}  // namespace egmla::testing

#endif  // EGMLA_MODEL_TEST_MODELS_H_
