#include "model/random_model.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/safetensors.h"
#include "model/tensor_names.h"

namespace egmla {
namespace {

// SplitMix64: tiny, fully specified, so a seed gives the same weights everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [-1, 1).
  float Symmetric() { return static_cast<float>((Next() >> 40) * 0x1.0p-24 * 2.0 - 1.0); }

 private:
  uint64_t state_;
};

}  // namespace

std::map<std::string, std::vector<float>> RandomWeights(const ModelConfig& config, uint64_t seed) {
  std::map<std::string, std::vector<float>> weights;
  SplitMix64 rng(seed);
  const float sqrt3 = std::sqrt(3.0f);  // uniform [-1,1) * sqrt(3) has unit variance
  for (const TensorSpec& spec : ExpectedTensors(config)) {
    std::vector<float>& w = weights[spec.name];
    w.resize(NumElements(spec.shape));
    const bool is_vector = spec.shape.size() == 1;
    const bool is_bias = absl::EndsWith(spec.name, ".bias");
    const bool is_gate_embedding = absl::StartsWith(spec.name, "model.gate_embeddings.");
    const float std_dev =
        is_vector || is_gate_embedding ? 1.0f : 1.0f / std::sqrt(static_cast<float>(spec.shape[1]));
    for (float& x : w) {
      const float u = rng.Symmetric();
      if (is_bias) {
        x = 0.1f * u;
      } else if (is_vector) {
        x = 1.0f + 0.1f * u;
      } else {
        x = u * sqrt3 * std_dev;
      }
    }
  }
  return weights;
}

absl::Status WriteRandomModel(const ModelConfig& config, const std::string& config_json,
                              uint64_t seed, DType dtype, const std::string& dir) {
  if (dtype == DType::kI32) return absl::InvalidArgumentError("--dtype must be f32, bf16 or f16");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  {
    std::ofstream out(dir + "/config.json");
    out << config_json;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", dir, "/config.json"));
  }
  const std::map<std::string, std::vector<float>> weights = RandomWeights(config, seed);
  std::vector<std::vector<uint16_t>> half_storage;
  std::vector<std::pair<std::string, TensorView>> views;
  for (const TensorSpec& spec : ExpectedTensors(config)) {
    const std::vector<float>& w = weights.at(spec.name);
    TensorView view{.data = w.data(), .dtype = dtype, .shape = spec.shape};
    if (dtype != DType::kF32) {
      std::vector<uint16_t>& half = half_storage.emplace_back(w.size());
      for (size_t i = 0; i < w.size(); ++i) {
        half[i] = dtype == DType::kBF16 ? F32ToBf16(w[i]) : F32ToF16(w[i]);
      }
      view.data = half.data();
    }
    views.emplace_back(spec.name, std::move(view));
  }
  return WriteSafetensors(dir + "/model.safetensors", views);
}

}  // namespace egmla
