// The CPU executor (DESIGN §1): runs one SchedulerOutput — a mixed batch of prefill chunks and
// decodes — through Model::ForwardBatch in f32, reading and writing the paged cache through each
// request's block table, then samples on the host. Owned and called by the engine thread only.
#ifndef EGMLA_RUNNER_CPU_CPU_MODEL_RUNNER_H_
#define EGMLA_RUNNER_CPU_CPU_MODEL_RUNNER_H_

#include <cstdint>

#include "model/model.h"
#include "runner/cpu/paged_kv_cache.h"
#include "runner/executor.h"
#include "runner/request_states.h"

namespace egmla {

class CpuModelRunner final : public Executor {
 public:
  // REQUIRES: `model` outlives the runner; num_blocks, block_size >= 1.
  CpuModelRunner(const Model& model, int64_t num_blocks, int64_t block_size);

  absl::StatusOr<ModelRunnerOutput> Execute(const SchedulerOutput& step) override;

  const ModelConfig& model_config() const override { return model_.config(); }
  CacheSpec cache_spec() const override { return model_.cache_spec(); }
  int64_t num_blocks() const override { return cache_.num_blocks(); }
  int64_t block_size() const override { return cache_.block_size(); }
  ExecutorInfo info() const override;
  size_t num_tracked_requests() const override { return requests_.size(); }

  const PagedKvCache& cache() const { return cache_; }

 private:
  const Model& model_;
  PagedKvCache cache_;
  RequestStates requests_;
};

}  // namespace egmla

#endif  // EGMLA_RUNNER_CPU_CPU_MODEL_RUNNER_H_
