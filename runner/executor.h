// The engine's view of whatever runs the model (DESIGN §1): it executes one SchedulerOutput and
// owns the KV-cache storage whose block ids the scheduler hands out. The CPU runner
// (runner/cpu/) is one implementation; a CUDA runner is another, chosen by --device
// (runner/make_executor.h). Called by the engine thread only.
#ifndef EGMLA_RUNNER_EXECUTOR_H_
#define EGMLA_RUNNER_EXECUTOR_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cache_spec.h"
#include "common/scheduler_output.h"
#include "model/config.h"

namespace egmla {

// What serves, as ModelInfo and egmla_device_info report it.
struct ExecutorInfo {
  std::string device;          // "cpu" | "cuda"
  std::string device_name;     // the CPU's model name, or the GPU's
  std::string dtype;           // compute dtype: "f32", "bf16", ...
  std::string kv_cache_dtype;  // of the cache's per-layer elements
  // eg_mla up_projected: how generated tokens attend, "grouped" | "recompute"; else empty.
  std::string eg_mla_decode;
};

class Executor {
 public:
  virtual ~Executor() = default;

  // Drops the state of finished_ids, takes new_requests, appends each scheduled request's
  // new_block_ids to its block table, computes every scheduled token (writing its cache rows) and
  // samples where asked. INTERNAL on a protocol violation (an unknown request, a table too short).
  virtual absl::StatusOr<ModelRunnerOutput> Execute(const SchedulerOutput& step) = 0;

  virtual const ModelConfig& model_config() const = 0;
  // What one token takes in this executor's cache, in its dtype.
  virtual CacheSpec cache_spec() const = 0;
  // The cache's geometry: the scheduler hands out ids in [0, num_blocks).
  virtual int64_t num_blocks() const = 0;
  virtual int64_t block_size() const = 0;
  virtual ExecutorInfo info() const = 0;
  // Requests the executor holds state for (tests check that finished ones are dropped).
  virtual size_t num_tracked_requests() const = 0;
  // True once the executor can run no further step (a sticky device error): the process must be
  // restarted. A failed Execute with failed() false concerned that step only.
  virtual bool failed() const { return false; }
  // Device memory held, by use ("weights", "kv_cache", "workspace"); empty on the CPU.
  virtual std::vector<std::pair<std::string, int64_t>> device_memory_bytes() const { return {}; }
};

}  // namespace egmla

#endif  // EGMLA_RUNNER_EXECUTOR_H_
