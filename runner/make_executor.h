// Picks and builds the executor that serves (DESIGN §5.1 --device, --dtype, --kv-cache-dtype,
// --kv-cache-memory, --num-kv-blocks, --gpu-memory-utilization): the one place that knows which
// backends this build has and what each accepts.
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
  std::string device = "auto";          // auto | cpu | cuda; auto = cpu until a CUDA runner exists
  std::string dtype = "auto";           // compute dtype: auto | f32 | bf16 | f16
  std::string kv_cache_dtype = "auto";  // auto | f32 | bf16 | f16
  int64_t kv_cache_memory_bytes = int64_t{1} << 30;
  int64_t num_kv_blocks = 0;  // > 0 overrides kv_cache_memory_bytes
  double gpu_memory_utilization = 0.9;
  int64_t block_size = 16;
};

// INVALID_ARGUMENT naming the flag when the options ask for something this build's backends do
// not do (the CPU executor computes and caches f32; no CUDA executor is built yet), or the
// memory holds no block. REQUIRES: `model` outlives the executor.
absl::StatusOr<std::unique_ptr<Executor>> MakeExecutor(const Model& model,
                                                       const ExecutorOptions& options);

}  // namespace egmla

#endif  // EGMLA_RUNNER_MAKE_EXECUTOR_H_
