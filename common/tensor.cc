#include "common/tensor.h"

#include "absl/strings/str_join.h"

namespace egmla {

std::string ShapeToString(std::span<const int64_t> shape) {
  return "[" + absl::StrJoin(shape, ", ") + "]";
}

int64_t NumElements(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace egmla
