// The CUDA executor (DESIGN §1, issue 17): runs one SchedulerOutput on the device through
// CudaModel, keeping each request's block table on the device (a table row per running request,
// sent only its new block ids), and samples on the host from the rows' logits. A sticky CUDA error
// (a kernel fault leaves the context unusable) makes it failed(): the engine then fails every
// request and the server exits for its orchestrator to restart it. Called by the engine thread
// only.
#ifndef EGMLA_RUNNER_CUDA_CUDA_MODEL_RUNNER_H_
#define EGMLA_RUNNER_CUDA_CUDA_MODEL_RUNNER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "runner/cuda/cuda_model.h"
#include "runner/executor.h"
#include "runner/request_states.h"

namespace egmla::cuda {

class CudaModelRunner final : public Executor {
 public:
  // REQUIRES: `model` (and what CudaModel holds of it) outlives the runner.
  CudaModelRunner(std::unique_ptr<CudaModel> model, const CudaModelOptions& options,
                  std::string device_name);

  absl::StatusOr<ModelRunnerOutput> Execute(const SchedulerOutput& step) override;

  const ModelConfig& model_config() const override { return model_->config(); }
  CacheSpec cache_spec() const override { return CudaModel::DeviceCacheSpec(model_->config()); }
  int64_t num_blocks() const override { return options_.num_blocks; }
  int64_t block_size() const override { return options_.block_size; }
  ExecutorInfo info() const override;
  size_t num_tracked_requests() const override { return requests_.size(); }
  bool failed() const override { return failed_; }
  std::vector<std::pair<std::string, int64_t>> device_memory_bytes() const override;

 private:
  struct DeviceTable {
    int32_t row = 0;            // its row of the device block tables
    int64_t num_on_device = 0;  // entries already sent
  };

  std::unique_ptr<CudaModel> model_;
  CudaModelOptions options_;
  std::string device_name_;
  RequestStates requests_;
  std::unordered_map<RequestId, DeviceTable> tables_;
  std::vector<int32_t> free_table_rows_;
  bool failed_ = false;
};

}  // namespace egmla::cuda

#endif  // EGMLA_RUNNER_CUDA_CUDA_MODEL_RUNNER_H_
