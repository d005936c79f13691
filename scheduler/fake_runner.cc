#include "scheduler/fake_runner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace egmla {
namespace {

uint64_t Fnv1a(std::span<const int32_t> tokens, uint64_t seed) {
  uint64_t h = 14695981039346656037ULL ^ seed;
  for (const int32_t t : tokens) {
    h ^= static_cast<uint32_t>(t);
    h *= 1099511628211ULL;
  }
  return h ^ (h >> 29);
}

}  // namespace

FakeRunner::FakeRunner(int64_t num_blocks, int32_t block_size, int32_t vocab_size)
    : block_size_(block_size), vocab_size_(vocab_size), store_(num_blocks * block_size, -1) {}

int32_t FakeRunner::NextToken(std::span<const int32_t> sequence, uint64_t seed,
                              int32_t vocab_size) {
  return static_cast<int32_t>(Fnv1a(sequence, seed * 0x9e3779b97f4a7c15ULL) % vocab_size);
}

float FakeRunner::PromptLogprob(std::span<const int32_t> prefix_and_next) {
  return -static_cast<float>(Fnv1a(prefix_and_next, 7) % 1000) / 100.0f;
}

absl::StatusOr<ModelRunnerOutput> FakeRunner::Execute(const SchedulerOutput& output) {
  for (const RequestId id : output.finished_ids) {
    if (states_.erase(id) == 0) {
      return absl::FailedPreconditionError(absl::StrCat("finished id ", id, " is unknown"));
    }
  }
  for (const NewRequestData& data : output.new_requests) {
    State state;
    state.tokens = data.prompt_ids;
    state.tokens.insert(state.tokens.end(), data.output_ids.begin(), data.output_ids.end());
    state.num_prompt_tokens = static_cast<int64_t>(data.prompt_ids.size());
    state.sampling = data.sampling;
    state.output_options = data.output_options;
    if (!states_.emplace(data.request_id, std::move(state)).second) {
      return absl::FailedPreconditionError(
          absl::StrCat("new request ", data.request_id, " is already known"));
    }
  }
  // Write every new token first, as a layer writes the whole batch's KV before attending.
  int64_t num_tokens = 0;
  const int64_t num_slots = static_cast<int64_t>(store_.size());
  for (const ScheduledRequest& scheduled : output.requests) {
    const auto it = states_.find(scheduled.request_id);
    if (it == states_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("scheduled request ", scheduled.request_id, " is unknown"));
    }
    State& state = it->second;
    state.block_table.insert(state.block_table.end(), scheduled.new_block_ids.begin(),
                             scheduled.new_block_ids.end());
    const std::vector<BlockId>& table = state.block_table;
    const int64_t first = scheduled.num_computed_tokens;
    const int64_t end = first + static_cast<int64_t>(scheduled.token_ids.size());
    const int64_t known = static_cast<int64_t>(state.tokens.size());
    if (scheduled.token_ids.empty() || first < 0 || end > known ||
        !std::equal(scheduled.token_ids.begin(), scheduled.token_ids.end(),
                    state.tokens.begin() + first) ||
        scheduled.sample != (end == known) ||
        static_cast<int64_t>(table.size()) * block_size_ < end) {
      return absl::FailedPreconditionError(
          absl::StrCat("request ", scheduled.request_id, ": bad chunk [", first, ", ", end, ") of ",
                       known, " tokens, sample ", scheduled.sample, ", ", table.size(), " blocks"));
    }
    for (int64_t pos = first; pos < end; ++pos) {
      const int64_t slot = int64_t{table[pos / block_size_]} * block_size_ + pos % block_size_;
      if (slot < 0 || slot >= num_slots) {
        return absl::FailedPreconditionError(absl::StrCat("slot ", slot, " out of range"));
      }
      store_[slot] = scheduled.token_ids[pos - first];
    }
    num_tokens += end - first;
  }
  if (num_tokens != output.num_batched_tokens) {
    return absl::FailedPreconditionError(absl::StrCat(
        "num_batched_tokens is ", output.num_batched_tokens, ", tokens are ", num_tokens));
  }
  // Then read back through the block tables and compute.
  ModelRunnerOutput result;
  result.outputs.resize(output.requests.size());
  for (size_t i = 0; i < output.requests.size(); ++i) {
    const ScheduledRequest& scheduled = output.requests[i];
    State& state = states_.at(scheduled.request_id);
    SampledOutput& out = result.outputs[i];
    out.request_id = scheduled.request_id;
    const int64_t first = scheduled.num_computed_tokens;
    const int64_t end = first + static_cast<int64_t>(scheduled.token_ids.size());
    sequence_.resize(end);
    for (int64_t pos = 0; pos < end; ++pos) {
      sequence_[pos] =
          store_[int64_t{state.block_table[pos / block_size_]} * block_size_ + pos % block_size_];
    }
    if (state.output_options.return_prompt_logprobs) {
      // Position p predicts prompt token p + 1, which the store need not hold yet.
      out.prompt_logprobs_start = first;
      for (int64_t pos = first; pos < end && pos + 1 < state.num_prompt_tokens; ++pos) {
        std::vector<int32_t> prefix(sequence_.begin(), sequence_.begin() + pos + 1);
        prefix.push_back(state.tokens[pos + 1]);
        out.prompt_logprobs.push_back(PromptLogprob(prefix));
      }
    }
    if (scheduled.sample) {
      out.token_id = NextToken(sequence_, state.sampling.seed, vocab_size_);
      out.logprob = -static_cast<float>(out.token_id) / 10.0f;
      state.tokens.push_back(out.token_id);
    }
  }
  return result;
}

}  // namespace egmla
