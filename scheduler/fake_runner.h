// A deterministic stand-in for the model runner, for tests and benchmarks: no model, but the
// same contract (common/scheduler_output.h). It keeps each request's block table (grown by
// new_block_ids) and a paged token store [num_blocks, block_size], writes each scheduled token
// at slot block_table[pos / block_size] * block_size +
// pos % block_size, and computes everything it returns only from what it reads back through the
// block table: the next token is a hash of the whole sequence read from the store, so a wrong
// block table, slot or prefix-cache hit changes the tokens. It also checks the protocol (new
// requests, finished ids, token ids, the sample flag) and reports violations.
//
// Thread-safety: none.
#ifndef EGMLA_SCHEDULER_FAKE_RUNNER_H_
#define EGMLA_SCHEDULER_FAKE_RUNNER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "common/sampling_params.h"
#include "common/scheduler_output.h"

namespace egmla {

class FakeRunner {
 public:
  // REQUIRES: num_blocks, block_size, vocab_size >= 1.
  FakeRunner(int64_t num_blocks, int32_t block_size, int32_t vocab_size);

  // Executes one step: drops finished_ids, takes new_requests, writes every scheduled token
  // into the store, then reads each sampling request's sequence back and samples. FAILED_
  // PRECONDITION describing the first protocol violation.
  absl::StatusOr<ModelRunnerOutput> Execute(const SchedulerOutput& output);

  // The token that follows `sequence` for a request seeded with `seed`.
  static int32_t NextToken(std::span<const int32_t> sequence, uint64_t seed, int32_t vocab_size);
  // The fake log-probability of sequence[p + 1] given sequence[0..p]: a function of the prefix.
  static float PromptLogprob(std::span<const int32_t> prefix_and_next);

  // Requests the runner holds state for.
  int64_t num_requests() const { return static_cast<int64_t>(states_.size()); }

 private:
  struct State {
    std::vector<int32_t> tokens;       // prompt + outputs, as the runner knows them
    std::vector<BlockId> block_table;  // grown by each step's new_block_ids
    int64_t num_prompt_tokens = 0;
    SamplingParams sampling;
    OutputOptions output_options;
  };

  const int32_t block_size_;
  const int32_t vocab_size_;
  std::vector<int32_t> store_;  // [num_blocks, block_size] token ids written through block tables
  absl::flat_hash_map<RequestId, State> states_;
  std::vector<int32_t> sequence_;  // scratch
};

}  // namespace egmla

#endif  // EGMLA_SCHEDULER_FAKE_RUNNER_H_
