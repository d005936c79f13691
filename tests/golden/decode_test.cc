// For every golden checkpoint (tests/golden/CMakeLists.txt writes them with the PyTorch
// reference): the model matches the reference's logits in both gate modes, and decoding with the
// cache (a chunk, then one token at a time) reproduces the full-sequence logits.
#include <cmath>
#include <cstdlib>

#include "gtest/gtest.h"
#include "model/model.h"
#include "tests/golden/golden_files.h"

namespace egmla {
namespace {

std::string GoldenDir() {
  const char* dir = std::getenv("EGMLA_GOLDEN_DIR");
  return dir ? dir : "";
}

using golden::ReadFloats;
using golden::ReadJson;

float MaxAbs(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::abs(x));
  return m;
}

TEST(GoldenDecodeTest, EveryVariantMatchesTheReferenceAndDecodesIncrementally) {
  const std::string golden = GoldenDir();
  if (golden.empty()) GTEST_SKIP() << "EGMLA_GOLDEN_DIR is not set (run through ctest)";
  const nlohmann::json variants = ReadJson(golden + "/variants.json")["variants"];
  ASSERT_FALSE(variants.empty());
  for (const auto& name : variants) {
    const std::string dir = golden + "/" + name.get<std::string>();
    SCOPED_TRACE(dir);
    const std::vector<int32_t> ids = ReadJson(dir + "/prompt.json")["token_ids"];
    const std::vector<float> reference = ReadFloats(dir + "/logits.f32");
    const float tol = 1e-4f * MaxAbs(reference);
    for (GateMode mode : {GateMode::kTable, GateMode::kOnTheFly}) {
      auto model = Model::Load(dir, {.gate_mode = mode});
      ASSERT_TRUE(model.ok()) << model.status();
      SequenceCache full_cache = (*model)->NewCache();
      const std::vector<float> full = *(*model)->Forward(ids, &full_cache);
      ASSERT_EQ(full.size(), reference.size());
      for (size_t i = 0; i < full.size(); ++i) ASSERT_NEAR(full[i], reference[i], tol) << i;

      SequenceCache cache = (*model)->NewCache();
      std::vector<float> steps = *(*model)->Forward(std::span(ids).first(7), &cache);
      for (size_t t = 7; t < ids.size(); ++t) {
        const std::vector<float> row = *(*model)->Forward(std::span(ids).subspan(t, 1), &cache);
        steps.insert(steps.end(), row.begin(), row.end());
      }
      ASSERT_EQ(steps.size(), full.size());
      for (size_t i = 0; i < full.size(); ++i)
        ASSERT_NEAR(steps[i], full[i], 1e-5f * MaxAbs(full)) << i;
    }
  }
}

}  // namespace
}  // namespace egmla
