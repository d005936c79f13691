#include "common/kv_capacity.h"

#include "gtest/gtest.h"

namespace egmla {
namespace {

TEST(CapacityTest, BlocksThatFitInTheBudget) {
  // EG-MLA kv16 at bf16: 12 layers * (16 + 64) elements * 2 bytes + a 4-byte token id.
  CacheSpec spec{.num_layers = 12,
                 .elements_per_token_per_layer = 80,
                 .dtype = DType::kBF16,
                 .extra_bytes_per_token = 4};
  ASSERT_EQ(spec.bytes_per_token(), 1924);
  EXPECT_EQ(NumBlocksForMemory(int64_t{1} << 30, spec, 64), (int64_t{1} << 30) / (1924 * 64));
  EXPECT_EQ(NumBlocksForMemory(1924 * 64 - 1, spec, 64), 0);
  EXPECT_EQ(NumBlocksForMemory(1924 * 64, spec, 64), 1);
}

TEST(CapacityTest, DegenerateInputsGiveZero) {
  CacheSpec spec{.num_layers = 1, .elements_per_token_per_layer = 1};
  EXPECT_EQ(NumBlocksForMemory(0, spec, 64), 0);
  EXPECT_EQ(NumBlocksForMemory(-5, spec, 64), 0);
  EXPECT_EQ(NumBlocksForMemory(1024, spec, 0), 0);
  EXPECT_EQ(NumBlocksForMemory(1024, CacheSpec{}, 64), 0);
}

}  // namespace
}  // namespace egmla
