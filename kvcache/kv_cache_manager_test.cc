#include "kvcache/kv_cache_manager.h"

#include <numeric>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<int32_t> Iota(int n, int32_t start = 0) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

// Admits a request: prefix lookup, then slots for all its tokens, then publishes them as computed.
int64_t Admit(KvCacheManager& kv, RequestId id, const std::vector<int32_t>& tokens) {
  const PrefixHit hit = kv.GetComputedTokens(tokens);
  EXPECT_TRUE(kv.AllocateSlots(id, static_cast<int64_t>(tokens.size()), hit));
  kv.CacheComputedBlocks(id, tokens, static_cast<int64_t>(tokens.size()));
  return hit.num_tokens;
}

TEST(KvCacheManagerTest, AllocatesWholeBlocksAndGrows) {
  KvCacheManager kv(8, 4, true);
  EXPECT_TRUE(kv.AllocateSlots(1, 5));
  EXPECT_THAT(kv.block_table(1), ElementsAre(0, 1));
  EXPECT_TRUE(kv.AllocateSlots(1, 8));  // still two blocks
  EXPECT_THAT(kv.block_table(1), ElementsAre(0, 1));
  EXPECT_TRUE(kv.AllocateSlots(1, 9));
  EXPECT_THAT(kv.block_table(1), ElementsAre(0, 1, 2));
  EXPECT_EQ(kv.num_used_blocks(), 3);
  EXPECT_DOUBLE_EQ(kv.usage(), 3.0 / 8.0);
  EXPECT_TRUE(kv.CheckInvariants().ok());
}

TEST(KvCacheManagerTest, FailedAllocationChangesNothing) {
  KvCacheManager kv(3, 4, true);
  EXPECT_TRUE(kv.AllocateSlots(1, 8));
  EXPECT_FALSE(kv.AllocateSlots(2, 5));
  EXPECT_THAT(kv.block_table(2), IsEmpty());
  EXPECT_FALSE(kv.AllocateSlots(1, 13));
  EXPECT_THAT(kv.block_table(1), ElementsAre(0, 1));
  EXPECT_EQ(kv.num_free_blocks(), 1);
  EXPECT_TRUE(kv.AllocateSlots(2, 4));
  EXPECT_TRUE(kv.CheckInvariants().ok());
}

TEST(KvCacheManagerTest, PrefixHitCoversWholeBlocksAndLeavesOneToken) {
  KvCacheManager kv(16, 4, true);
  const std::vector<int32_t> a = Iota(10);  // blocks [0..3], [4..7] full; [8, 9] partial
  EXPECT_EQ(Admit(kv, 1, a), 0);

  std::vector<int32_t> b = Iota(9);
  b.push_back(100);
  const PrefixHit hit = kv.GetComputedTokens(b);
  EXPECT_EQ(hit.num_tokens, 8);
  EXPECT_TRUE(kv.AllocateSlots(2, 10, hit));
  const std::span<const BlockId> ta = kv.block_table(1);
  const std::span<const BlockId> tb = kv.block_table(2);
  EXPECT_EQ(tb[0], ta[0]);
  EXPECT_EQ(tb[1], ta[1]);
  EXPECT_NE(tb[2], ta[2]);
  EXPECT_EQ(kv.pool().ref_count(ta[0]), 2);

  // Exactly the cached 8 tokens: one block only, so one token is left to compute.
  EXPECT_EQ(kv.GetComputedTokens(Iota(8)).num_tokens, 4);
  // Diverging in the first block: nothing.
  EXPECT_EQ(kv.GetComputedTokens(Iota(10, 1)).num_tokens, 0);
  EXPECT_EQ(kv.prefix_cache_query_tokens(), 10 + 10);
  EXPECT_EQ(kv.prefix_cache_hit_tokens(), 0 + 8);
  EXPECT_TRUE(kv.CheckInvariants().ok());
}

TEST(KvCacheManagerTest, FreedPrefixIsReusedAndEvictedTailFirst) {
  KvCacheManager kv(5, 2, true);
  Admit(kv, 1, Iota(6));  // blocks 0, 1, 2 all full and cached
  kv.Free(1);             // free queue: 3, 4, 2, 1, 0
  EXPECT_EQ(kv.num_used_blocks(), 0);
  EXPECT_EQ(kv.num_cached_free_blocks(), 3);
  EXPECT_EQ(kv.num_uncached_free_blocks(), 2);
  EXPECT_DOUBLE_EQ(kv.usage(), 0.0);

  // Three fresh blocks: the two never used, then block 2 — request 1's tail, freed first.
  EXPECT_TRUE(kv.AllocateSlots(2, 6));
  EXPECT_THAT(kv.block_table(2), ElementsAre(3, 4, 2));
  EXPECT_EQ(kv.num_cached_free_blocks(), 2);
  // The first two blocks of request 1 still hit.
  const PrefixHit hit = kv.GetComputedTokens(Iota(6));
  EXPECT_EQ(hit.num_tokens, 4);
  EXPECT_TRUE(kv.AllocateSlots(3, 4, hit));
  EXPECT_EQ(kv.num_free_blocks(), 0);
  EXPECT_THAT(kv.block_table(3), ElementsAre(0, 1));
  EXPECT_TRUE(kv.CheckInvariants().ok());
}

TEST(KvCacheManagerTest, HitBlocksInTheFreeQueueAreNotCountedAsFree) {
  KvCacheManager kv(3, 2, true);
  Admit(kv, 1, Iota(4));  // blocks 0, 1 cached
  kv.Free(1);
  // Needs 2 hit blocks (both free) + 2 fresh ones: only 1 fresh one exists.
  const PrefixHit hit = kv.GetComputedTokens(Iota(8));
  EXPECT_EQ(hit.num_tokens, 4);
  EXPECT_FALSE(kv.AllocateSlots(2, 8, hit));
  EXPECT_EQ(kv.num_cached_free_blocks(), 2);
  EXPECT_THAT(kv.block_table(2), IsEmpty());
  EXPECT_TRUE(kv.AllocateSlots(2, 6, hit));  // the refusal changed nothing: the hit still holds
  EXPECT_THAT(kv.block_table(2), ElementsAre(0, 1, 2));
  EXPECT_TRUE(kv.CheckInvariants().ok());
}

TEST(KvCacheManagerTest, AHitIsUsedOnlyWhenHandedToAllocateSlots) {
  KvCacheManager kv(8, 2, true);
  Admit(kv, 1, Iota(4));
  EXPECT_EQ(kv.GetComputedTokens(Iota(5)).num_tokens, 4);  // looked up, then not handed over
  EXPECT_EQ(kv.prefix_cache_query_tokens(), 4);            // request 1's own admission only
  EXPECT_TRUE(kv.AllocateSlots(2, 5));
  EXPECT_EQ(kv.pool().ref_count(kv.block_table(2)[0]), 1);
  EXPECT_NE(kv.block_table(2)[0], kv.block_table(1)[0]);
  EXPECT_EQ(kv.prefix_cache_hit_tokens(), 0);
  EXPECT_TRUE(kv.CheckInvariants().ok());
}

TEST(KvCacheManagerTest, OnlyComputedFullBlocksArePublished) {
  KvCacheManager kv(8, 4, true);
  const std::vector<int32_t> a = Iota(12);
  EXPECT_TRUE(kv.AllocateSlots(1, 12, kv.GetComputedTokens(a)));
  kv.CacheComputedBlocks(1, a, 7);  // one full block computed
  EXPECT_EQ(kv.GetComputedTokens(a).num_tokens, 4);
  kv.CacheComputedBlocks(1, a, 12);
  EXPECT_EQ(kv.GetComputedTokens(a).num_tokens, 8);
}

TEST(KvCacheManagerTest, DisabledPrefixCachingNeverHits) {
  KvCacheManager kv(8, 2, false);
  Admit(kv, 1, Iota(6));
  kv.Free(1);
  EXPECT_EQ(kv.GetComputedTokens(Iota(6)).num_tokens, 0);
  EXPECT_EQ(kv.num_cached_free_blocks(), 0);
  EXPECT_EQ(kv.prefix_cache_query_tokens(), 0);
}

TEST(KvCacheManagerTest, FreeOfUnknownRequestIsANoOp) {
  KvCacheManager kv(2, 2, true);
  kv.Free(9);
  EXPECT_EQ(kv.num_free_blocks(), 2);
  EXPECT_TRUE(kv.CheckInvariants().ok());
}

TEST(KvCacheManagerTest, DuplicateComputationSharesOneCachedPrefix) {
  // Two requests compute the same prompt at once (no hit for either); the second's blocks stay
  // uncached, and a third request still finds the whole chain.
  KvCacheManager kv(8, 2, true);
  const std::vector<int32_t> a = Iota(5);
  EXPECT_TRUE(kv.AllocateSlots(1, 5));
  EXPECT_TRUE(kv.AllocateSlots(2, 5));
  kv.CacheComputedBlocks(1, a, 5);
  kv.CacheComputedBlocks(2, a, 5);
  kv.Free(1);
  const PrefixHit hit = kv.GetComputedTokens(a);
  EXPECT_EQ(hit.num_tokens, 4);
  EXPECT_TRUE(kv.AllocateSlots(3, 5, hit));
  EXPECT_THAT(kv.block_table(3).subspan(0, 2), ElementsAre(0, 1));
  EXPECT_TRUE(kv.CheckInvariants().ok());
}

}  // namespace
}  // namespace egmla
