#include "runner/sampler.h"

#include <cstdint>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace egmla {
namespace {

// Logits whose largest value, 9.5, is held by ids 3 and 11 (a tie) and whose others spread over
// [-10, 9]: dividing them by 1e-38 overflows float.
std::vector<float> TiedLogits() {
  std::vector<float> logits(40);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = -10.0f + 0.47f * static_cast<float>(i);
  logits[3] = 9.5f;
  logits[11] = 9.5f;
  logits[39] = 9.0f;
  return logits;
}

TEST(SamplerTest, TinyTemperaturesAreGreedy) {
  const std::vector<float> logits = TiedLogits();
  const std::vector<int32_t> prompt = {1, 2};
  for (float temperature : {1e-38f, 1e-30f, 1e-20f, 9.9e-6f, 0.0f}) {
    for (uint64_t seed = 0; seed < 32; ++seed) {
      const SamplingParams params{.temperature = temperature, .seed = seed};
      EXPECT_EQ(SampleToken(logits, params, prompt, {}), 3)
          << "temperature " << temperature << " seed " << seed;
    }
  }
}

TEST(SamplerTest, GreedyThresholdItselfSamples) {
  ASSERT_EQ(kGreedyTemperatureBelow, 1e-5f);
  // At temperature 1e-5 these two logits have probabilities proportional to 1 and 1/e.
  const std::vector<float> logits = {0.0f, -1e-5f, -1.0f};
  std::set<int32_t> drawn;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    const SamplingParams params{.temperature = kGreedyTemperatureBelow, .seed = seed};
    drawn.insert(SampleToken(logits, params, {}, {}));
  }
  EXPECT_EQ(drawn, (std::set<int32_t>{0, 1}));

  // The tie of TiedLogits is broken by the draw, not by id.
  drawn.clear();
  for (uint64_t seed = 0; seed < 64; ++seed) {
    const SamplingParams params{.temperature = kGreedyTemperatureBelow, .seed = seed};
    drawn.insert(SampleToken(TiedLogits(), params, {}, {}));
  }
  EXPECT_EQ(drawn, (std::set<int32_t>{3, 11}));
}

}  // namespace
}  // namespace egmla
