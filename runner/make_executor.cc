#include "runner/make_executor.h"

#include "absl/strings/str_cat.h"
#include "common/kv_capacity.h"
#include "runner/cpu/cpu_model_runner.h"

namespace egmla {
namespace {

absl::Status Bad(const char* flag, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

CudaBackend& Backend() {
  static CudaBackend backend;
  return backend;
}

absl::StatusOr<std::unique_ptr<Executor>> MakeCpuExecutor(const Model& model,
                                                          const ExecutorOptions& o) {
  // Compute and cache in f32 (DESIGN §5.1: auto = f32 on CPU).
  if (o.dtype != "auto" && o.dtype != "f32") {
    return Bad("dtype",
               absl::StrCat("'", o.dtype, "': the CPU runner computes in f32 (auto, f32)"));
  }
  if (o.kv_cache_dtype != "auto" && o.kv_cache_dtype != "f32") {
    return Bad("kv-cache-dtype",
               absl::StrCat("'", o.kv_cache_dtype, "': the CPU cache holds f32 (auto, f32)"));
  }
  const CacheSpec spec = model.cache_spec();
  const int64_t memory =
      o.kv_cache_memory_bytes > 0 ? o.kv_cache_memory_bytes : kDefaultCpuKvCacheBytes;
  const int64_t num_blocks =
      o.num_kv_blocks > 0 ? o.num_kv_blocks
                          : NumBlocksForMemory(memory, spec, static_cast<int32_t>(o.block_size));
  if (num_blocks < 1) {
    return Bad("kv-cache-memory",
               absl::StrCat(memory, " bytes hold no block of ", o.block_size, " tokens at ",
                            spec.bytes_per_token(), " bytes per token"));
  }
  return std::make_unique<CpuModelRunner>(model, num_blocks, o.block_size);
}

}  // namespace

void RegisterCudaBackend(CudaBackend backend) { Backend() = backend; }
bool HasCudaBackend() { return Backend().make != nullptr; }

absl::StatusOr<std::unique_ptr<Executor>> MakeExecutor(const Model& model, const ExecutorOptions& o,
                                                       std::string* choice) {
  if (o.device != "auto" && o.device != "cpu" && o.device != "cuda") {
    return Bad("device", absl::StrCat("'", o.device, "' is not one of auto, cpu, cuda"));
  }
  if (o.block_size < 1) return Bad("block-size", "must be >= 1");
  std::string device = o.device;
  std::string why;
  if (device == "auto") {
    // A dtype only the CPU computes keeps auto on the CPU.
    const std::string reason = !HasCudaBackend() ? "this program has no CUDA backend"
                               : o.dtype == "f32" || o.dtype == "f16"
                                   ? "--dtype " + o.dtype + " is CPU-only"
                                   : Backend().unavailable_reason();
    device = reason.empty() ? "cuda" : "cpu";
    why = reason.empty() ? "a CUDA device is usable" : reason;
  } else if (device == "cuda") {
    if (!HasCudaBackend()) {
      return Bad("device", "cuda: this program has no CUDA backend (build with EGMLA_CUDA=ON)");
    }
    if (const std::string reason = Backend().unavailable_reason(); !reason.empty()) {
      return Bad("device", "cuda: " + reason);
    }
    why = "asked for";
  } else {
    why = "asked for";
  }
  if (choice != nullptr)
    *choice = absl::StrCat("--device ", o.device, ": ", device, " (", why, ")");
  if (device == "cpu") return MakeCpuExecutor(model, o);
  if (o.dtype != "auto" && o.dtype != "bf16") {
    return Bad("dtype",
               absl::StrCat("'", o.dtype, "': the CUDA runner computes in bf16 (auto, bf16)"));
  }
  if (o.kv_cache_dtype != "auto" && o.kv_cache_dtype != "bf16") {
    return Bad("kv-cache-dtype",
               absl::StrCat("'", o.kv_cache_dtype, "': the CUDA cache holds bf16 (auto, bf16)"));
  }
  return Backend().make(model, o);
}

}  // namespace egmla
