#include "common/dtype.h"

#include <cmath>

#include "gtest/gtest.h"

namespace egmla {
namespace {

TEST(DTypeTest, NamesRoundTrip) {
  for (DType d : {DType::kF32, DType::kBF16, DType::kF16, DType::kI32}) {
    EXPECT_EQ(ParseDType(DTypeName(d)), d);
  }
  EXPECT_FALSE(ParseDType("fp8").has_value());
}

TEST(DTypeTest, Bf16RoundsToNearestEven) {
  EXPECT_EQ(Bf16ToF32(F32ToBf16(1.0f)), 1.0f);
  EXPECT_EQ(Bf16ToF32(F32ToBf16(-2.5f)), -2.5f);
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to the even one (1.0).
  EXPECT_EQ(Bf16ToF32(F32ToBf16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  EXPECT_TRUE(std::isnan(Bf16ToF32(F32ToBf16(NAN))));
}

TEST(DTypeTest, F16RoundTrips) {
  EXPECT_EQ(F16ToF32(F32ToF16(0.5f)), 0.5f);
  EXPECT_EQ(F16ToF32(F32ToF16(-1024.0f)), -1024.0f);
}

}  // namespace
}  // namespace egmla
