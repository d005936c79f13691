// Element types of stored tensors and their conversion to fp32.
#ifndef EGMLA_COMMON_DTYPE_H_
#define EGMLA_COMMON_DTYPE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace egmla {

enum class DType : uint8_t { kF32, kBF16, kF16, kI32 };

// Bytes per element.
size_t DTypeSize(DType dtype);
// Lower-case name as used on the command line and in ModelInfo: "f32", "bf16", "f16", "i32".
const char* DTypeName(DType dtype);
// Parses "f32" | "bf16" | "f16" | "i32"; nullopt for anything else.
std::optional<DType> ParseDType(std::string_view name);

// bf16 and f16 are stored as raw 16-bit patterns.
float Bf16ToF32(uint16_t bits);
// Round to nearest even, as PyTorch's .to(torch.bfloat16) does; NaN stays NaN.
uint16_t F32ToBf16(float value);
float F16ToF32(uint16_t bits);
uint16_t F32ToF16(float value);

// Converts `count` elements of `dtype` at `src` to fp32. REQUIRES: dtype is a float type.
void ConvertToF32(const void* src, DType dtype, size_t count, float* dst);

}  // namespace egmla

#endif  // EGMLA_COMMON_DTYPE_H_
