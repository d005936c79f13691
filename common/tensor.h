// A non-owning view of a dense, row-major tensor in host memory.
#ifndef EGMLA_COMMON_TENSOR_H_
#define EGMLA_COMMON_TENSOR_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/dtype.h"

namespace egmla {

using Shape = std::vector<int64_t>;

// "[3, 4]"; used in every error message that names a shape.
std::string ShapeToString(std::span<const int64_t> shape);
int64_t NumElements(std::span<const int64_t> shape);

struct TensorView {
  const void* data = nullptr;  // row-major, `shape` dims of `dtype`
  DType dtype = DType::kF32;
  Shape shape;

  int64_t num_elements() const { return NumElements(shape); }
  size_t num_bytes() const { return static_cast<size_t>(num_elements()) * DTypeSize(dtype); }
};

}  // namespace egmla

#endif  // EGMLA_COMMON_TENSOR_H_
