// The engine thread (DESIGN §1): owns the scheduler, the KV cache and the model runner; its loop
// is schedule → execute → update. Other threads only Submit, Abort and read Stats.
#ifndef EGMLA_ENGINE_ENGINE_H_
#define EGMLA_ENGINE_ENGINE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "engine/engine_stats.h"
#include "engine/request_output.h"
#include "engine/stop_sequences.h"
#include "runner/executor.h"
#include "scheduler/scheduler.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace egmla {

struct EngineRequest {
  std::vector<int32_t> prompt_ids;
  SamplingParams sampling;  // seed already chosen (the server picks one when the client did not)
  StoppingParams stopping;  // max_tokens resolved; eos ids and context limit filled by Submit
  OutputOptions output_options;
  int32_t priority = 0;
  // Matched on the streamed text (DESIGN §4). REQUIRES: empty unless the engine has a tokenizer.
  std::vector<std::string> stop_sequences;
  std::shared_ptr<OutputSink> sink;  // REQUIRES: non-null
};

struct EngineConfig {
  // The scheduler's limits. num_blocks and block_size are ignored: the executor's cache sets them.
  SchedulerConfig scheduler;
  // The longest a sequence may grow, prompt included; 0 = the model's. The engine caps it by the
  // model's max_position_embeddings and by the cache (Engine::max_context_tokens()).
  int64_t max_context_tokens = 0;
  // Called once, on the engine thread, when the executor reports failed() (a sticky device error):
  // every request then ends with INTERNAL and later submissions are refused. The server turns
  // health NOT_SERVING and exits non-zero so that its orchestrator restarts it.
  std::function<void(const absl::Status&)> on_executor_failed;
};

class Engine {
 public:
  // Starts the engine thread. REQUIRES: `executor` non-null; `tokenizer` and `observer`, when
  // given, outlive the engine; ValidateSchedulerConfig(config.scheduler) with the executor's
  // cache geometry. With a tokenizer, outputs carry streamed text and stop sequences are
  // honoured.
  Engine(std::unique_ptr<Executor> executor, const EngineConfig& config,
         EngineObserver* observer = nullptr, const Tokenizer* tokenizer = nullptr);
  // Stops the thread; requests still live end with FinishReason::kAborted.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Thread-safe. Queues the request for the engine thread and returns its id at once; every
  // outcome, refusal included (RESOURCE_EXHAUSTED when the waiting queue is full,
  // INVALID_ARGUMENT when the prompt leaves no room for a token), arrives through the sink.
  RequestId Submit(EngineRequest request);
  // Thread-safe. Ends the request with kAborted and frees its blocks at the next step; no-op for
  // an unknown or finished id.
  void Abort(RequestId request_id);
  // Thread-safe snapshot, refreshed after every step. A request's final output is pushed only
  // after the snapshot that counts it finished: whoever saw a request end sees its blocks freed.
  EngineStats Stats() const;
  // Thread-safe. How long the engine has had work (requests queued, waiting or running) without
  // completing a step or publishing a change; zero while it is idle. A wedged engine thread
  // shows here as a duration that keeps growing (the server's liveness check reads it).
  std::chrono::steady_clock::duration StalledFor() const;

  // The context limit every request gets (the one place it is computed): the configured one,
  // capped by the model's positions and the cache's tokens. Thread-safe (fixed at construction).
  int64_t max_context_tokens() const { return max_context_tokens_; }
  // What serves. Thread-safe: only its immutable description (info, cache_spec, geometry) may be
  // read from other threads.
  const Executor& executor() const { return *executor_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Live {  // engine-thread bookkeeping per request
    std::shared_ptr<OutputSink> sink;
    Clock::time_point arrival;
    std::optional<Clock::time_point> first_scheduled;
    std::optional<Clock::time_point> first_token;
    Clock::time_point last_token;
    std::vector<float> prompt_logprobs;
    // Text streaming (with a tokenizer): detokenizer, stop-sequence matcher, min_tokens.
    std::optional<StreamingDetokenizer> detokenizer;
    std::optional<StopSequenceMatcher> stop_sequences;
    int64_t min_tokens = 0;
    int64_t num_outputs = 0;
    bool wants_logprobs = false;
    bool wants_top_logprobs = false;
    bool wants_prompt_logprobs = false;
    uint64_t seed = 0;
  };
  struct Submission {
    RequestId id;
    EngineRequest request;
    Clock::time_point arrival;
  };

  void Loop();
  // Moves submissions and aborts into the scheduler; false when stopping.
  bool DrainInbox(bool wait);
  // Ends request `id` with `error` (its blocks freed); the error follows the stats snapshot.
  void Fail(RequestId id, const absl::Status& error);
  void Step();
  void Deliver(const RequestEvent& event, Clock::time_point now);
  // Appends the text of the event's tokens to `out`; true when a stop sequence matched.
  bool StreamText(const RequestEvent& event, Live& live, RequestOutput& out);
  void PublishStats();
  // PublishStats, then pushes the final outputs Deliver held back (see Stats()).
  void PublishStatsAndFinish();
  void AbortAll();

  const std::unique_ptr<Executor> executor_;
  const int64_t max_context_tokens_;
  EngineObserver* const observer_;
  const Tokenizer* const tokenizer_;
  // Engine thread only:
  Scheduler scheduler_;
  std::unordered_map<RequestId, Live> live_;
  // Final outputs of requests that ended this step, pushed by PublishStatsAndFinish.
  std::vector<std::pair<std::shared_ptr<OutputSink>, RequestOutput>> finished_;
  int64_t prompt_tokens_total_ = 0;
  int64_t generation_tokens_total_ = 0;
  int64_t steps_total_ = 0;
  // The executor failed for good; every request is refused from then on.
  std::optional<absl::Status> executor_failure_;
  std::function<void(const absl::Status&)> on_executor_failed_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Submission> submissions_ ABSL_GUARDED_BY(mu_);
  std::vector<RequestId> aborts_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  EngineStats stats_ ABSL_GUARDED_BY(mu_);
  // When the engine last showed progress: stats_ published, or work arriving at an idle engine.
  Clock::time_point heartbeat_ ABSL_GUARDED_BY(mu_) = Clock::now();
  std::atomic<RequestId> next_id_{1};
  std::thread thread_;  // last: starts after everything above is built
};

}  // namespace egmla

#endif  // EGMLA_ENGINE_ENGINE_H_
