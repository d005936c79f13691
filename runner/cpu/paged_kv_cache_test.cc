#include "runner/cpu/paged_kv_cache.h"

#include <cstring>

#include "gtest/gtest.h"

namespace egmla {
namespace {

TEST(PagedKvCacheTest, HoldsWhatTheSpecCountsPerSlot) {
  // eg_mla up_projected: the id, and (μ, rstd) per layer.
  const CacheSpec spec{
      .num_layers = 3, .elements_per_token_per_layer = 20, .extra_bytes_per_token = 4 + 3 * 8};
  PagedKvCache cache(spec, /*keeps_token_ids=*/true, /*num_blocks=*/5, /*block_size=*/8);
  EXPECT_EQ(cache.num_blocks(), 5);
  EXPECT_EQ(cache.block_size(), 8);
  EXPECT_EQ(cache.storage().block_size, 8);
  ASSERT_EQ(cache.storage().layers.size(), 3u);
  ASSERT_NE(cache.storage().token_ids, nullptr);
  EXPECT_EQ(cache.num_bytes(), static_cast<size_t>(5 * 8 * spec.bytes_per_token()));
  // Every slot of every layer is writable and layers do not overlap.
  for (size_t l = 0; l < 3; ++l) {
    float* layer = cache.storage().layers[l];
    for (int64_t i = 0; i < 5 * 8 * 20; ++i) layer[i] = static_cast<float>(l);
  }
  for (size_t l = 0; l < 3; ++l) {
    EXPECT_EQ(cache.storage().layers[l][0], static_cast<float>(l));
    EXPECT_EQ(cache.storage().layers[l][5 * 8 * 20 - 1], static_cast<float>(l));
  }
  std::memset(cache.storage().token_ids, 0, 5 * 8 * sizeof(int32_t));
  ASSERT_EQ(cache.storage().ln_stats.size(), 3u);
  for (float* stats : cache.storage().ln_stats) std::memset(stats, 0, 5 * 8 * 2 * sizeof(float));
}

TEST(PagedKvCacheTest, NoTokenIdsUnlessKept) {
  const CacheSpec spec{.num_layers = 2, .elements_per_token_per_layer = 6};
  PagedKvCache cache(spec, /*keeps_token_ids=*/false, 4, 16);
  EXPECT_EQ(cache.storage().token_ids, nullptr);
  EXPECT_TRUE(cache.storage().ln_stats.empty());
  EXPECT_EQ(cache.num_bytes(), static_cast<size_t>(4 * 16 * spec.bytes_per_token()));
}

}  // namespace
}  // namespace egmla
