#include "kernels/cpu/vec.h"

namespace egmla::ops {

const VecOps* Avx2Vec() {
  static const bool kSupported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return kSupported ? &kAvx2Ops : nullptr;
}

const VecOps& Vec() {
  static const VecOps* const kChosen = Avx2Vec() != nullptr ? Avx2Vec() : &GenericVec();
  return *kChosen;
}

}  // namespace egmla::ops
