// The bf16 element type of the CUDA ops' params structs. Plain C++: callers need no CUDA headers.
#ifndef EGMLA_KERNELS_CUDA_BF16_H_
#define EGMLA_KERNELS_CUDA_BF16_H_

#include <cstdint>

namespace egmla::cuda {

// A bfloat16 as its raw bits; common/dtype.h converts (F32ToBf16 rounds to nearest even,
// Bf16ToF32). Device code reads the same memory as __nv_bfloat16. Lower case, as in DESIGN §9's
// shape comments (`const bf16* latent;`).
struct bf16 {
  uint16_t bits;
};
static_assert(sizeof(bf16) == 2 && alignof(bf16) == 2);

}  // namespace egmla::cuda

namespace egmla::ops::cuda {
// The CUDA ops' element type (inside egmla::ops, `cuda::` names this namespace).
using bf16 = ::egmla::cuda::bf16;
}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_BF16_H_
