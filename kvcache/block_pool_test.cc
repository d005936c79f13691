#include "kvcache/block_pool.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::ElementsAre;

std::vector<BlockId> Take(BlockPool& pool, int64_t n) {
  std::vector<BlockId> out;
  pool.Allocate(n, &out);
  return out;
}

TEST(BlockPoolTest, StartsFreeAndHandsOutBlocksInOrder) {
  BlockPool pool(4, 2);
  EXPECT_EQ(pool.num_blocks(), 4);
  EXPECT_EQ(pool.num_free_blocks(), 4);
  EXPECT_EQ(pool.num_used_blocks(), 0);
  EXPECT_THAT(Take(pool, 3), ElementsAre(0, 1, 2));
  EXPECT_EQ(pool.num_free_blocks(), 1);
  EXPECT_EQ(pool.ref_count(1), 1);
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPoolTest, ReusesLeastRecentlyFreedFirst) {
  BlockPool pool(4, 2);
  const std::vector<BlockId> blocks = Take(pool, 4);
  pool.Release(2);
  pool.Release(0);
  pool.Release(3);
  EXPECT_THAT(Take(pool, 3), ElementsAre(2, 0, 3));
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPoolTest, ReferenceCountsKeepSharedBlocksUntilTheLastRelease) {
  BlockPool pool(2, 2);
  Take(pool, 1);
  pool.Touch(0);
  EXPECT_EQ(pool.ref_count(0), 2);
  pool.Release(0);
  EXPECT_EQ(pool.num_free_blocks(), 1);
  pool.Release(0);
  EXPECT_EQ(pool.num_free_blocks(), 2);
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPoolTest, FreedCachedBlockStaysFindableUntilEvicted) {
  BlockPool pool(3, 2);
  Take(pool, 3);
  const std::vector<int32_t> tokens = {7, 8};
  const CacheGeneration gen = pool.CacheBlock(1, 42, kRootGeneration, tokens);
  EXPECT_NE(gen, kRootGeneration);
  EXPECT_TRUE(pool.is_cached(1));
  pool.Release(1);
  pool.Release(0);
  EXPECT_EQ(pool.num_free_blocks(), 2);
  EXPECT_EQ(pool.num_cached_free_blocks(), 1);
  EXPECT_EQ(pool.FindCached(42, kRootGeneration, tokens), 1);
  EXPECT_TRUE(pool.CheckInvariants().ok());

  // A hit takes it out of the free queue wherever it is.
  pool.Touch(1);
  EXPECT_EQ(pool.num_free_blocks(), 1);
  EXPECT_EQ(pool.num_cached_free_blocks(), 0);
  EXPECT_TRUE(pool.CheckInvariants().ok());
  pool.Release(1);  // queue: 0, 1

  // Block 0 is taken first; then 1 is evicted and loses its prefix.
  EXPECT_THAT(Take(pool, 1), ElementsAre(0));
  EXPECT_EQ(pool.FindCached(42, kRootGeneration, tokens), 1);
  EXPECT_THAT(Take(pool, 1), ElementsAre(1));
  EXPECT_FALSE(pool.is_cached(1));
  EXPECT_EQ(pool.FindCached(42, kRootGeneration, tokens), std::nullopt);
  EXPECT_EQ(pool.num_cached_free_blocks(), 0);
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPoolTest, LookupComparesTokensAndParent) {
  BlockPool pool(4, 2);
  Take(pool, 4);
  const std::vector<int32_t> a = {1, 2};
  const std::vector<int32_t> b = {3, 4};
  const CacheGeneration ga = pool.CacheBlock(0, 100, kRootGeneration, a);
  const CacheGeneration gb = pool.CacheBlock(1, 200, ga, b);
  EXPECT_EQ(pool.FindCached(200, ga, b), 1);
  EXPECT_EQ(pool.FindCached(200, kRootGeneration, b), std::nullopt);  // other parent
  EXPECT_EQ(pool.FindCached(200, ga, a), std::nullopt);               // other tokens
  EXPECT_EQ(pool.FindCached(300, ga, b), std::nullopt);               // other hash
  EXPECT_GT(gb, ga);
  EXPECT_THAT(pool.cached_tokens(1), ElementsAre(3, 4));
}

TEST(BlockPoolTest, EqualBlockIsDeduplicated) {
  BlockPool pool(2, 2);
  Take(pool, 2);
  const std::vector<int32_t> a = {1, 2};
  const CacheGeneration g0 = pool.CacheBlock(0, 100, kRootGeneration, a);
  EXPECT_EQ(pool.CacheBlock(1, 100, kRootGeneration, a), g0);
  EXPECT_FALSE(pool.is_cached(1));
  EXPECT_EQ(pool.FindCached(100, kRootGeneration, a), 0);
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPoolTest, HashCollisionNeverReturnsTheWrongBlock) {
  BlockPool pool(2, 2);
  Take(pool, 2);
  const std::vector<int32_t> a = {1, 2};
  const std::vector<int32_t> b = {5, 6};
  pool.CacheBlock(0, 100, kRootGeneration, a);
  pool.Release(0);
  // Same hash, other tokens: the newer block replaces the older in the index.
  pool.CacheBlock(1, 100, kRootGeneration, b);
  EXPECT_FALSE(pool.is_cached(0));
  EXPECT_EQ(pool.FindCached(100, kRootGeneration, a), std::nullopt);
  EXPECT_EQ(pool.FindCached(100, kRootGeneration, b), 1);
  EXPECT_EQ(pool.num_cached_free_blocks(), 0);
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPoolTest, RecachedParentOrphansOldChildren) {
  BlockPool pool(3, 1);
  Take(pool, 3);
  const std::vector<int32_t> a = {1};
  const std::vector<int32_t> b = {2};
  const CacheGeneration ga = pool.CacheBlock(0, 10, kRootGeneration, a);
  pool.CacheBlock(1, 20, ga, b);
  pool.Release(0);
  pool.Release(2);
  // Evict block 0 (the parent) and cache the same content in block 0 again (a new generation).
  EXPECT_THAT(Take(pool, 1), ElementsAre(0));
  const CacheGeneration ga2 = pool.CacheBlock(0, 10, kRootGeneration, a);
  EXPECT_NE(ga, ga2);
  EXPECT_EQ(pool.FindCached(20, ga2, b), std::nullopt);
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

}  // namespace
}  // namespace egmla
