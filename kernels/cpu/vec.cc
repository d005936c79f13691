#include "kernels/cpu/vec.h"

#include <atomic>

namespace egmla::ops {

const VecOps* Avx2Vec() {
  static const bool kSupported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return kSupported ? &kAvx2Ops : nullptr;
}

namespace {
std::atomic<const VecOps*> for_testing{nullptr};
}  // namespace

const VecOps& Vec() {
  static const VecOps* const kChosen = Avx2Vec() != nullptr ? Avx2Vec() : &GenericVec();
  const VecOps* forced = for_testing.load(std::memory_order_relaxed);
  return forced != nullptr ? *forced : *kChosen;
}

void SetVecForTesting(const VecOps* ops) { for_testing.store(ops); }

}  // namespace egmla::ops
