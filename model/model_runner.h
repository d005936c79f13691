// Executes one SchedulerOutput (DESIGN §1): a mixed batch of prefill chunks and decodes, reading
// and writing the paged cache through each request's block table, then sampling. Owned and
// called by the engine thread only.
#ifndef EGMLA_MODEL_MODEL_RUNNER_H_
#define EGMLA_MODEL_MODEL_RUNNER_H_

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "common/scheduler_output.h"
#include "model/model.h"
#include "model/paged_kv_cache.h"

namespace egmla {

class ModelRunner {
 public:
  // REQUIRES: `model` outlives the runner.
  ModelRunner(const Model& model, int64_t num_blocks, int64_t block_size);

  // REQUIRES: every scheduled request is known (in new_requests now or earlier, and not in
  // finished_ids since) and its block table covers its positions.
  absl::StatusOr<ModelRunnerOutput> Execute(const SchedulerOutput& step);

  const PagedKvCache& cache() const { return cache_; }
  size_t num_tracked_requests() const { return requests_.size(); }

 private:
  struct RequestState {
    std::vector<int32_t> prompt_ids;
    std::vector<int32_t> output_ids;  // every token sampled so far
    SamplingParams sampling;
    StoppingParams stopping;
    OutputOptions output_options;
  };

  // Fills prompt logprobs and the sampled token of `scheduled` from its logits rows.
  void Postprocess(const ScheduledRequest& scheduled, RequestState& state,
                   const float* logits,  // [num_logit_rows of this request, vocab]
                   SampledOutput& out);

  const Model& model_;
  PagedKvCache cache_;
  std::unordered_map<RequestId, RequestState> requests_;
};

}  // namespace egmla

#endif  // EGMLA_MODEL_MODEL_RUNNER_H_
