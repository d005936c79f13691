#include "kvcache/block_hash.h"

namespace egmla {
namespace {

// The finaliser of SplitMix64 (Steele, Lea, Flood 2014): a bijection with full avalanche.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

BlockHash HashBlockTokens(BlockHash parent, std::span<const int32_t> tokens) {
  uint64_t h = Mix64(parent ^ (0x9e3779b97f4a7c15ULL * (tokens.size() + 1)));
  for (const int32_t token : tokens) {
    h = Mix64(h + 0x9e3779b97f4a7c15ULL + static_cast<uint32_t>(token));
  }
  return h;
}

}  // namespace egmla
