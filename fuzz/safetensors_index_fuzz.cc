// model.safetensors.index.json (model/safetensors.h ParseSafetensorsIndex, what
// CheckpointTensors::Open runs on the index): any text gives a weight map of distinct tensors, each
// with a shard that is a plain file name (no '/', not ".."), or INVALID_ARGUMENT.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> weight_map =
      egmla::ParseSafetensorsIndex(text);
  if (!weight_map.ok()) {
    EGMLA_FUZZ_CHECK_ERROR(weight_map.status(), absl::StatusCode::kInvalidArgument);
    return 0;
  }
  for (size_t i = 0; i < weight_map->size(); ++i) {
    const auto& [tensor, shard] = (*weight_map)[i];
    EGMLA_FUZZ_CHECK(!shard.empty() && shard.find('/') == std::string::npos && shard != "..",
                     tensor);
    // In tensor-name order, each tensor once.
    if (i > 0) EGMLA_FUZZ_CHECK((*weight_map)[i - 1].first < tensor, tensor);
  }
  return 0;
}
