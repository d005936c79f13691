// Picks and builds the executor that serves (DESIGN §5.1 --device, --dtype, --kv-cache-dtype,
// --kv-cache-memory, --num-kv-blocks, --gpu-memory-utilization, --eg-mla-decode): the one place
// that knows which backends this program has and what each accepts.
//
// The CPU backend is always there. A CUDA backend is registered by the program that links one
// (RegisterCudaBackend, from main): egmla-server registers the real CUDA runtime's, and
// egmla-server-emu the SIMT emulator's; a program that registers none serves on the CPU only.
#ifndef EGMLA_RUNNER_MAKE_EXECUTOR_H_
#define EGMLA_RUNNER_MAKE_EXECUTOR_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "model/model.h"
#include "runner/executor.h"

namespace egmla {

struct ExecutorOptions {
  std::string device = "auto";          // auto | cpu | cuda
  std::string dtype = "auto";           // compute dtype: auto | f32 | bf16 | f16
  std::string kv_cache_dtype = "auto";  // auto | f32 | bf16 | f16
  // The cache's bytes; 0 = not given: 1 GiB on the CPU, what --gpu-memory-utilization leaves on
  // CUDA.
  int64_t kv_cache_memory_bytes = 0;
  int64_t num_kv_blocks = 0;  // > 0 overrides kv_cache_memory_bytes
  double gpu_memory_utilization = 0.9;
  int64_t block_size = 16;
  // The largest step, for the device's workspaces and block tables.
  int64_t max_num_seqs = 256;
  int64_t max_num_batched_tokens = 8192;
  int64_t max_context = 0;             // 0: the model's max_position_embeddings
  std::string eg_mla_decode = "auto";  // auto | grouped | recompute
};

inline constexpr int64_t kDefaultCpuKvCacheBytes = int64_t{1} << 30;

// --device cuda's implementation, from a program built with one.
struct CudaBackend {
  // Empty when a CUDA device is usable; else why not (e.g. "no CUDA device: cudaErrorNoDevice").
  std::string (*unavailable_reason)() = nullptr;
  // REQUIRES: unavailable_reason() is empty; the options passed the generic checks.
  absl::StatusOr<std::unique_ptr<Executor>> (*make)(const Model& model,
                                                    const ExecutorOptions& options) = nullptr;
};
// Called once from main, before MakeExecutor; not thread-safe.
void RegisterCudaBackend(CudaBackend backend);
bool HasCudaBackend();

// INVALID_ARGUMENT naming the flag when the options ask for something this program's backends do
// not do (the CPU executor computes and caches f32; the CUDA one bf16), or the memory holds no
// block. `--device auto` takes cuda when a usable device is found, else the CPU; `choice` (when
// not null) says which and why, for the log. REQUIRES: `model` outlives the executor.
absl::StatusOr<std::unique_ptr<Executor>> MakeExecutor(const Model& model,
                                                       const ExecutorOptions& options,
                                                       std::string* choice = nullptr);

}  // namespace egmla

#endif  // EGMLA_RUNNER_MAKE_EXECUTOR_H_
