// The continuous-batching scheduler (DESIGN §4), after vLLM v1's token-budget model. Every step
// each request is handed the number of tokens it may compute, within max_num_batched_tokens and
// max_num_seqs: running requests first (a decode costs 1), then waiting ones by (priority,
// arrival); long prompts are chunked. When blocks run out, the running request with the largest
// (priority, arrival) is preempted by recompute. It sees block ids, never storage.
//
// One step is: out = Schedule(); runner executes out; Update(out, runner_output).
//
// Thread-safety: none. Owned by the engine thread; every method is called from it. AddRequest,
// Abort and FinishRequest come between steps, or between a Schedule and its Update only when that
// step is abandoned (its Update is then never called).
#ifndef EGMLA_SCHEDULER_SCHEDULER_H_
#define EGMLA_SCHEDULER_SCHEDULER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/finish_reason.h"
#include "common/ids.h"
#include "common/scheduler_output.h"
#include "kvcache/kv_cache_manager.h"
#include "scheduler/request.h"
#include "scheduler/request_event.h"

namespace egmla {

struct SchedulerConfig {
  int64_t max_num_seqs = 256;             // running requests at most
  int64_t max_num_batched_tokens = 8192;  // tokens computed per step at most
  int64_t max_queued_requests = 1024;     // waiting requests at most (preempted ones included)
  int32_t block_size = 64;
  int64_t num_blocks = 0;
  bool enable_prefix_caching = true;
  int64_t max_prefill_chunk = 0;  // tokens per request per step at most; 0 = the budget only
};

// INVALID_ARGUMENT naming the field when a value is out of range (every count >= 1, the chunk
// cap >= 0).
absl::Status ValidateSchedulerConfig(const SchedulerConfig& config);

class Scheduler {
 public:
  // REQUIRES: ValidateSchedulerConfig(config).ok().
  explicit Scheduler(const SchedulerConfig& config);

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request. INVALID_ARGUMENT for an empty prompt, max_tokens < 1, min_tokens < 0, or a
  // prompt that leaves no room for one token (prompt + 1 > max_context_tokens when that is > 0,
  // or > the KV cache's num_blocks * block_size tokens); ALREADY_EXISTS when the id is live;
  // RESOURCE_EXHAUSTED "queue full" when max_queued_requests are waiting.
  absl::Status AddRequest(NewRequest request);

  // Ends a live request as kAborted: FinishRequest(request_id, FinishReason::kAborted).
  std::optional<RequestEvent> Abort(RequestId request_id);
  // Ends a live request now with `reason` (the engine's stop-sequence match, an abort): frees its
  // blocks at once, and if the runner holds state for it, puts its id in the next finished_ids.
  // Returns its final event (no new tokens), or nullopt for an unknown or finished id.
  std::optional<RequestEvent> FinishRequest(RequestId request_id, FinishReason reason);

  // Decides the next step. Ids in finished_ids are of requests whose runner state must be
  // dropped before the step: finished, aborted, or preempted since the last Schedule (only ids
  // the runner was sent). A preempted request comes back in new_requests when it is resumed.
  SchedulerOutput Schedule();

  // Applies the runner's results of the step `output` described: advances computed tokens,
  // publishes full blocks to the prefix cache, appends sampled tokens and applies the stopping
  // rules (stop_checker.h). Returns an event for each request that produced a token, prompt
  // logprobs, or finished. A request that was to sample but got no token (token_id < 0) ends as
  // kAborted. REQUIRES: runner_output.outputs[i] belongs to output.requests[i].
  std::vector<RequestEvent> Update(const SchedulerOutput& output,
                                   const ModelRunnerOutput& runner_output);

  // Whether any request is waiting or running.
  bool HasWork() const { return !running_.empty() || !waiting_.empty(); }

  int64_t num_running() const { return static_cast<int64_t>(running_.size()); }
  int64_t num_waiting() const { return static_cast<int64_t>(waiting_.size()); }
  // KV-cache figures (kv_cache_manager.h): usage = used / all blocks; used + cached-free +
  // uncached-free = all.
  double kv_cache_usage() const { return kv_.usage(); }
  int64_t num_total_blocks() const { return kv_.num_blocks(); }
  int64_t num_used_blocks() const { return kv_.num_used_blocks(); }
  int64_t num_cached_free_blocks() const { return kv_.num_cached_free_blocks(); }
  int64_t num_uncached_free_blocks() const { return kv_.num_uncached_free_blocks(); }
  int64_t num_free_blocks() const { return kv_.num_free_blocks(); }
  int64_t prefix_cache_query_tokens() const { return kv_.prefix_cache_query_tokens(); }
  int64_t prefix_cache_hit_tokens() const { return kv_.prefix_cache_hit_tokens(); }
  int64_t num_preemptions() const { return num_preemptions_; }

  const SchedulerConfig& config() const { return config_; }
  // The live request, or nullptr. Valid until the next non-const call.
  const Request* FindRequest(RequestId request_id) const;
  const KvCacheManager& kv_cache() const { return kv_; }
  // Checks queues, states and the cache against each other. For tests and debugging.
  absl::Status CheckInvariants() const;

 private:
  using WaitingKey = std::pair<int32_t, uint64_t>;  // (priority, arrival)

  // Tokens `request` may compute this step within `budget` and the chunk cap.
  int64_t NumNewTokens(const Request& request, int64_t budget) const;
  // Appends request's next `num_new` tokens, computed through `table`, to out.requests.
  void AddScheduled(Request& request, int64_t num_new, std::span<const BlockId> table,
                    SchedulerOutput* out);
  // Index in running_ of the preemption victim: the largest (priority, arrival).
  size_t VictimIndex() const;
  // Frees a running request's blocks and puts it back in the waiting queue as kPreempted.
  void Preempt(Request* request, SchedulerOutput* out);
  // Ends `request` (its blocks freed; its id queued for finished_ids when the runner has it);
  // the caller removes it from running_ and requests_.
  void Finish(Request* request, FinishReason reason);
  RequestEvent MakeEvent(const Request& request) const;

  const SchedulerConfig config_;
  KvCacheManager kv_;
  absl::flat_hash_map<RequestId, std::unique_ptr<Request>> requests_;  // every live request
  std::vector<Request*> running_;                                      // in scheduling order
  std::map<WaitingKey, Request*> waiting_;       // kWaiting and kPreempted, served in key order
  std::vector<RequestId> pending_finished_ids_;  // for the next SchedulerOutput::finished_ids
  uint64_t next_arrival_ = 0;
  int64_t num_preemptions_ = 0;
};

}  // namespace egmla

#endif  // EGMLA_SCHEDULER_SCHEDULER_H_
