#include "runner/philox.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::ElementsAre;

// The known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds), which cuRAND and
// PyTorch's Philox also reproduce: CPU and GPU samplers draw the same uniforms only if this holds.
TEST(PhiloxTest, KnownAnswers) {
  EXPECT_THAT(Philox4x32({0, 0, 0, 0}, {0, 0}),
              ElementsAre(0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u));
  EXPECT_THAT(
      Philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
      ElementsAre(0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu));
  EXPECT_THAT(
      Philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
      ElementsAre(0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u));
}

TEST(PhiloxTest, UniformsAreInTheUnitIntervalDeterministicAndSpread) {
  std::set<float> seen;
  double sum = 0;
  constexpr int kDraws = 20000;
  for (uint64_t i = 0; i < kDraws; ++i) {
    const float u = PhiloxUniform(42, i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    ASSERT_EQ(u, PhiloxUniform(42, i));  // a pure function of (seed, index)
    seen.insert(u);
    sum += u;
  }
  EXPECT_GT(seen.size(), kDraws * 99 / 100);
  EXPECT_NEAR(sum / kDraws, 0.5, 0.01);
  EXPECT_NE(PhiloxUniform(1, 0), PhiloxUniform(2, 0));                  // seeds give other streams
  EXPECT_NE(PhiloxUniform(uint64_t{1} << 32, 0), PhiloxUniform(0, 0));  // the seed's high word
}

}  // namespace
}  // namespace egmla
