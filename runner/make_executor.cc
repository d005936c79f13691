#include "runner/make_executor.h"

#include "absl/strings/str_cat.h"
#include "common/kv_capacity.h"
#include "runner/cpu/cpu_model_runner.h"

namespace egmla {
namespace {

absl::Status Bad(const char* flag, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Executor>> MakeExecutor(const Model& model,
                                                       const ExecutorOptions& o) {
  if (o.device != "auto" && o.device != "cpu" && o.device != "cuda") {
    return Bad("device", absl::StrCat("'", o.device, "' is not one of auto, cpu, cuda"));
  }
  if (o.device == "cuda") {
    return Bad("device", "cuda: this build serves on CPU only (the CUDA runner is not built yet)");
  }
  // The CPU executor: compute and cache in f32 (DESIGN §5.1: auto = f32 on CPU).
  if (o.dtype != "auto" && o.dtype != "f32") {
    return Bad("dtype",
               absl::StrCat("'", o.dtype, "': the CPU runner computes in f32 (auto, f32)"));
  }
  if (o.kv_cache_dtype != "auto" && o.kv_cache_dtype != "f32") {
    return Bad("kv-cache-dtype",
               absl::StrCat("'", o.kv_cache_dtype, "': the CPU cache holds f32 (auto, f32)"));
  }
  if (o.block_size < 1) return Bad("block-size", "must be >= 1");
  const CacheSpec spec = model.cache_spec();
  const int64_t num_blocks =
      o.num_kv_blocks > 0
          ? o.num_kv_blocks
          : NumBlocksForMemory(o.kv_cache_memory_bytes, spec, static_cast<int32_t>(o.block_size));
  if (num_blocks < 1) {
    return Bad("kv-cache-memory",
               absl::StrCat(o.kv_cache_memory_bytes, " bytes hold no block of ", o.block_size,
                            " tokens at ", spec.bytes_per_token(), " bytes per token"));
  }
  return std::make_unique<CpuModelRunner>(model, num_blocks, o.block_size);
}

}  // namespace egmla
