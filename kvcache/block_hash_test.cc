#include "kvcache/block_hash.h"

#include <vector>

#include "gtest/gtest.h"

namespace egmla {
namespace {

TEST(BlockHashTest, IsDeterministic) {
  const std::vector<int32_t> tokens = {1, 2, 3, 4};
  EXPECT_EQ(HashBlockTokens(kRootBlockHash, tokens), HashBlockTokens(kRootBlockHash, tokens));
}

TEST(BlockHashTest, IsStableAcrossBuilds) {
  // A fixed value: the hash must not depend on the process, the platform or absl's seed.
  const std::vector<int32_t> tokens = {1, 2, 3, 4};
  EXPECT_EQ(HashBlockTokens(kRootBlockHash, tokens), 0xed3f9a98539580d4ULL);
}

TEST(BlockHashTest, DependsOnParentTokensAndOrder) {
  const std::vector<int32_t> a = {1, 2, 3, 4};
  const std::vector<int32_t> b = {1, 2, 4, 3};
  const std::vector<int32_t> c = {1, 2, 3, 5};
  const BlockHash h = HashBlockTokens(kRootBlockHash, a);
  EXPECT_NE(h, HashBlockTokens(kRootBlockHash, b));
  EXPECT_NE(h, HashBlockTokens(kRootBlockHash, c));
  EXPECT_NE(h, HashBlockTokens(h, a));
  EXPECT_NE(HashBlockTokens(kRootBlockHash, std::vector<int32_t>{0}),
            HashBlockTokens(kRootBlockHash, std::vector<int32_t>{0, 0}));
  EXPECT_NE(HashBlockTokens(kRootBlockHash, std::vector<int32_t>{-1}),
            HashBlockTokens(kRootBlockHash, std::vector<int32_t>{0}));
}

}  // namespace
}  // namespace egmla
