// Randomised test of KvCacheManager: thousands of admissions, growths and frees over shared
// prefixes with small pools, checking the pool's invariants after every operation and that a
// prefix hit hands out blocks whose written content is the request's tokens.
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kvcache/kv_cache_manager.h"

namespace egmla {
namespace {

struct Live {
  RequestId id = 0;
  std::vector<int32_t> tokens;  // the whole sequence it will compute
  int64_t num_computed = 0;
};

class Harness {
 public:
  Harness(int64_t num_blocks, int32_t block_size, bool prefix_caching, uint32_t seed)
      : kv_(num_blocks, block_size, prefix_caching),
        block_size_(block_size),
        content_(num_blocks * block_size, -1),
        rng_(seed) {
    // A few shared prefixes over a tiny vocabulary, so equal blocks are common.
    for (int i = 0; i < 4; ++i) {
      std::vector<int32_t> base(Uniform(0, 24));
      for (int32_t& t : base) t = Uniform(0, 2);
      bases_.push_back(base);
    }
  }

  void Step() {
    const int op = Uniform(0, 9);
    if (op < 4 || live_.empty()) {
      Admit();
    } else if (op < 7) {
      Grow(live_[Uniform(0, static_cast<int>(live_.size()) - 1)]);
    } else {
      const size_t i = Uniform(0, static_cast<int>(live_.size()) - 1);
      kv_.Free(live_[i].id);
      live_.erase(live_.begin() + i);
    }
    const absl::Status status = kv_.CheckInvariants();
    ASSERT_TRUE(status.ok()) << status;
    ASSERT_EQ(kv_.num_used_blocks() + kv_.num_cached_free_blocks() + kv_.num_uncached_free_blocks(),
              kv_.num_blocks());
  }

  void FreeAll() {
    for (const Live& l : live_) kv_.Free(l.id);
    live_.clear();
    ASSERT_TRUE(kv_.CheckInvariants().ok());
    ASSERT_EQ(kv_.num_free_blocks(), kv_.num_blocks());
    for (BlockId b = 0; b < kv_.num_blocks(); ++b) ASSERT_EQ(kv_.pool().ref_count(b), 0);
  }

  int64_t hits() const { return hits_; }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  void Admit() {
    Live l{.id = next_id_++};
    const std::vector<int32_t>& base = bases_[Uniform(0, static_cast<int>(bases_.size()) - 1)];
    l.tokens.assign(base.begin(), base.begin() + Uniform(0, static_cast<int>(base.size())));
    const int suffix = Uniform(l.tokens.empty() ? 1 : 0, 12);
    for (int i = 0; i < suffix; ++i) l.tokens.push_back(Uniform(0, 2));
    const int64_t len = static_cast<int64_t>(l.tokens.size());

    const PrefixHit prefix = kv_.GetComputedTokens(l.tokens);
    const int64_t hit = prefix.num_tokens;
    ASSERT_EQ(hit % block_size_, 0);
    ASSERT_LT(hit, len);
    const int64_t target = hit + Uniform(1, static_cast<int>(len - hit));
    const int64_t used_before = kv_.num_used_blocks();
    if (!kv_.AllocateSlots(l.id, target, prefix)) {
      ASSERT_TRUE(kv_.block_table(l.id).empty());
      ASSERT_EQ(kv_.num_used_blocks(), used_before);
      return;
    }
    const std::span<const BlockId> table = kv_.block_table(l.id);
    ASSERT_EQ(static_cast<int64_t>(table.size()), (target + block_size_ - 1) / block_size_);
    // The hit blocks hold exactly the request's tokens, as written by whoever computed them.
    for (int64_t pos = 0; pos < hit; ++pos) {
      const BlockId block = table[pos / block_size_];
      ASSERT_TRUE(kv_.pool().is_cached(block));
      ASSERT_EQ(content_[block * block_size_ + pos % block_size_], l.tokens[pos]) << "pos " << pos;
      ASSERT_EQ(kv_.pool().cached_tokens(block)[pos % block_size_], l.tokens[pos]);
    }
    hits_ += hit;
    l.num_computed = hit;
    Compute(l, target);
    live_.push_back(std::move(l));
  }

  void Grow(Live& l) {
    const int64_t len = static_cast<int64_t>(l.tokens.size());
    if (l.num_computed == len) return;
    const int64_t target = std::min<int64_t>(len, l.num_computed + Uniform(1, 9));
    const std::vector<BlockId> before(kv_.block_table(l.id).begin(), kv_.block_table(l.id).end());
    if (!kv_.AllocateSlots(l.id, target)) {
      ASSERT_TRUE(std::equal(before.begin(), before.end(), kv_.block_table(l.id).begin(),
                             kv_.block_table(l.id).end()));
      return;
    }
    Compute(l, target);
  }

  // Writes positions [num_computed, target) through the block table, as a model runner would,
  // then publishes the computed blocks.
  void Compute(Live& l, int64_t target) {
    const std::span<const BlockId> table = kv_.block_table(l.id);
    for (int64_t pos = l.num_computed; pos < target; ++pos) {
      const BlockId block = table[pos / block_size_];
      ASSERT_EQ(kv_.pool().ref_count(block), 1) << "writing a shared block";
      ASSERT_FALSE(kv_.pool().is_cached(block)) << "writing a cached block";
      content_[block * block_size_ + pos % block_size_] = l.tokens[pos];
    }
    l.num_computed = target;
    kv_.CacheComputedBlocks(l.id, l.tokens, target);
  }

  KvCacheManager kv_;
  const int32_t block_size_;
  std::vector<int32_t> content_;  // [num_blocks, block_size] what was written where
  std::mt19937 rng_;
  std::vector<std::vector<int32_t>> bases_;
  std::vector<Live> live_;
  RequestId next_id_ = 1;
  int64_t hits_ = 0;
};

TEST(KvCacheRandomTest, InvariantsHoldOverRandomOperations) {
  int64_t total_hits = 0;
  for (uint32_t trial = 0; trial < 60; ++trial) {
    std::mt19937 pick(trial);
    const int32_t block_size = std::vector<int32_t>{1, 2, 3, 4, 8}[trial % 5];
    const int64_t num_blocks = std::uniform_int_distribution<int>(4, 40)(pick);
    const bool prefix_caching = trial % 4 != 3;
    Harness h(num_blocks, block_size, prefix_caching, trial);
    for (int step = 0; step < 500; ++step) {
      ASSERT_NO_FATAL_FAILURE(h.Step()) << "trial " << trial << " step " << step;
    }
    ASSERT_NO_FATAL_FAILURE(h.FreeAll()) << "trial " << trial;
    if (!prefix_caching) {
      EXPECT_EQ(h.hits(), 0);
    }
    total_hits += h.hits();
  }
  EXPECT_GT(total_hits, 1000);  // the test exercised prefix reuse
}

}  // namespace
}  // namespace egmla
