#include "runner/cuda/cuda_backend.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "kernels/cuda/runtime/device.h"
#include "runner/cuda/cuda_model.h"
#include "runner/cuda/cuda_model_runner.h"

namespace egmla::cuda {
namespace {

std::string Gib(int64_t bytes) { return absl::StrFormat("%.2f GiB", bytes / 1073741824.0); }

std::string UnavailableReason() {
  const DeviceCount devices = CountDevices();
  return devices.count > 0 ? std::string() : "no CUDA device: " + devices.reason;
}

absl::StatusOr<std::unique_ptr<Executor>> Make(const Model& model, const ExecutorOptions& o) {
  EGMLA_ASSIGN_OR_RETURN(const DeviceInfo device, QueryDevice(0));
  const ModelConfig& c = model.config();
  const int64_t context = o.max_context > 0 ? std::min(o.max_context, c.max_position_embeddings)
                                            : c.max_position_embeddings;
  CudaModelOptions options{.block_size = o.block_size,
                           .max_num_seqs = o.max_num_seqs,
                           .max_batched_tokens = std::max<int64_t>(o.max_num_batched_tokens, 1),
                           .max_logit_rows = std::clamp<int64_t>(o.max_num_seqs, 1, 256),
                           .eg_mla_grouped = o.eg_mla_decode != "recompute"};
  const DeviceMemoryUse fixed = CudaModel::BytesWithoutCache(model, options);
  const int64_t block_bytes = CudaModel::DeviceCacheSpec(c).bytes_per_token() * o.block_size;
  const int64_t blocks_for_one = (context + o.block_size - 1) / o.block_size;
  std::string budget;  // what sized the cache, for the error
  if (o.num_kv_blocks > 0) {
    options.num_blocks = o.num_kv_blocks;
    budget = absl::StrCat("--num-kv-blocks ", o.num_kv_blocks);
  } else if (o.kv_cache_memory_bytes > 0) {
    options.num_blocks = o.kv_cache_memory_bytes / block_bytes;
    budget = absl::StrCat("--kv-cache-memory ", o.kv_cache_memory_bytes, " bytes");
  } else {
    const int64_t usable =
        static_cast<int64_t>(std::floor(o.gpu_memory_utilization * device.total_memory_bytes));
    options.num_blocks =
        std::max<int64_t>(usable - fixed.weights - fixed.workspace, 0) / block_bytes;
    budget = absl::StrCat("--gpu-memory-utilization ", o.gpu_memory_utilization, " of ",
                          Gib(device.total_memory_bytes), " (", Gib(usable), ") less weights ",
                          Gib(fixed.weights), " and workspaces ", Gib(fixed.workspace));
  }
  // An explicit --num-kv-blocks is taken as given (the engine caps the context at the cache).
  if (o.num_kv_blocks <= 0 && options.num_blocks < blocks_for_one) {
    return absl::ResourceExhaustedError(
        absl::StrCat("--device cuda: ", budget, " gives ", options.num_blocks, " cache blocks of ",
                     block_bytes, " bytes; one sequence of ", context, " tokens needs ",
                     blocks_for_one, " (", Gib(blocks_for_one * block_bytes), ")"));
  }
  const int64_t needed = fixed.weights + fixed.workspace + options.num_blocks * block_bytes;
  if (needed > device.free_memory_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "--device cuda: weights ", Gib(fixed.weights), ", workspaces ", Gib(fixed.workspace),
        " and the cache ", Gib(options.num_blocks * block_bytes), " (", budget, ") need ",
        Gib(needed), "; ", device.name, " has ", Gib(device.free_memory_bytes), " free"));
  }
  EGMLA_ASSIGN_OR_RETURN(std::unique_ptr<CudaModel> cuda_model, CudaModel::Create(model, options));
  return std::make_unique<CudaModelRunner>(std::move(cuda_model), options, device.name);
}

}  // namespace

CudaBackend TheCudaBackend() { return {.unavailable_reason = &UnavailableReason, .make = &Make}; }

}  // namespace egmla::cuda
