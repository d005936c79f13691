// The safetensors format (model/safetensors.h ParseSafetensors, what SafetensorsFile::Open runs on
// the mapped file): any bytes give tensors that tile the data section exactly, inside the input,
// or INVALID_ARGUMENT.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::map<std::string, egmla::TensorView>> tensors = egmla::ParseSafetensors(bytes);
  if (!tensors.ok()) {
    EGMLA_FUZZ_CHECK_ERROR(tensors.status(), absl::StatusCode::kInvalidArgument);
    return 0;
  }
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | data[i];
  const char* data_begin = bytes.data() + 8 + header_size;
  const char* end = bytes.data() + bytes.size();
  uint64_t total = 0;
  unsigned checksum = 0;
  for (const auto& [name, view] : *tensors) {
    EGMLA_FUZZ_CHECK(name != "__metadata__", name);
    const char* begin = static_cast<const char*>(view.data);
    const uint64_t num_bytes = view.num_bytes();
    EGMLA_FUZZ_CHECK(
        num_bytes == static_cast<uint64_t>(view.num_elements()) * egmla::DTypeSize(view.dtype),
        name);
    EGMLA_FUZZ_CHECK(
        begin >= data_begin && begin <= end && num_bytes <= static_cast<uint64_t>(end - begin),
        name);
    // Touch every byte: a view past the input is an AddressSanitizer report.
    for (uint64_t i = 0; i < num_bytes; ++i) checksum += static_cast<unsigned char>(begin[i]);
    total += num_bytes;
  }
  // Exact tiling: the tensors' bytes add up to the data section.
  EGMLA_FUZZ_CHECK(total == static_cast<uint64_t>(end - data_begin), std::to_string(total));
  return checksum == 0xFFFFFFFFu ? 1 : 0;  // keeps the loop from being optimized away
}
