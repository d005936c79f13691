// Random 64-bit values for the server's own request ids and seeds (a request that gave none).
#ifndef EGMLA_SERVER_RANDOM_U64_H_
#define EGMLA_SERVER_RANDOM_U64_H_

#include <cstdint>
#include <random>

namespace egmla {

// Thread-safe: one generator per thread, seeded from the OS.
inline uint64_t RandomU64() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

}  // namespace egmla

#endif  // EGMLA_SERVER_RANDOM_U64_H_
