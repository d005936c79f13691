#include "engine/engine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace egmla {
namespace {

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

SchedulerConfig WithCacheOf(SchedulerConfig config, const Executor& executor) {
  config.num_blocks = executor.num_blocks();
  config.block_size = static_cast<int32_t>(executor.block_size());
  return config;
}

int64_t ContextLimit(const Executor& executor, int64_t configured) {
  int64_t limit = executor.model_config().max_position_embeddings;
  if (configured > 0) limit = std::min(limit, configured);
  return std::min(limit, executor.num_blocks() * executor.block_size());
}

}  // namespace

Engine::Engine(std::unique_ptr<Executor> executor, const EngineConfig& config,
               EngineObserver* observer, const Tokenizer* tokenizer)
    : executor_(std::move(executor)),
      max_context_tokens_(ContextLimit(*executor_, config.max_context_tokens)),
      observer_(observer),
      tokenizer_(tokenizer),
      scheduler_(WithCacheOf(config.scheduler, *executor_)),
      on_executor_failed_(config.on_executor_failed),
      thread_([this] { Loop(); }) {}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

RequestId Engine::Submit(EngineRequest request) {
  const RequestId id = next_id_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Clock::time_point now = Clock::now();
    // Work arriving at an idle engine starts the stall clock afresh.
    if (submissions_.empty() && stats_.running + stats_.waiting == 0) heartbeat_ = now;
    submissions_.push_back({id, std::move(request), now});
  }
  wake_.notify_one();
  return id;
}

void Engine::Abort(RequestId request_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    aborts_.push_back(request_id);
  }
  wake_.notify_one();
}

EngineStats Engine::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::chrono::steady_clock::duration Engine::StalledFor() const {
  std::lock_guard<std::mutex> lock(mu_);
  const bool has_work = !submissions_.empty() || stats_.running + stats_.waiting > 0;
  return has_work ? Clock::now() - heartbeat_ : Clock::duration::zero();
}

void Engine::Loop() {
  PublishStats();  // GetLoad is right before the first request too
  while (DrainInbox(/*wait=*/!scheduler_.HasWork())) {
    if (scheduler_.HasWork()) Step();
  }
  AbortAll();
}

bool Engine::DrainInbox(bool wait) {
  std::deque<Submission> submissions;
  std::vector<RequestId> aborts;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (wait) {
      wake_.wait(lock, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !submissions_.empty() || !aborts_.empty();
      });
    }
    if (stopping_) return false;
    submissions.swap(submissions_);
    aborts.swap(aborts_);
  }
  for (Submission& s : submissions) {
    EngineRequest& r = s.request;
    if (executor_failure_) {
      r.sink->Push({.request_id = s.id, .error = *executor_failure_});
      continue;
    }
    StoppingParams stopping = r.stopping;
    const std::vector<int64_t>& eos = executor_->model_config().eos_token_ids;
    stopping.eos_token_ids.assign(eos.begin(), eos.end());
    stopping.max_context_tokens = max_context_tokens_;
    std::optional<StopSequenceMatcher> stop_sequences;
    if (!r.stop_sequences.empty()) {
      absl::StatusOr<StopSequenceMatcher> matcher =
          tokenizer_ ? StopSequenceMatcher::Create(r.stop_sequences)
                     : absl::FailedPreconditionError(
                           "stop_sequences: the model has no tokenizer, so text cannot be matched");
      if (!matcher.ok()) {
        r.sink->Push({.request_id = s.id, .error = matcher.status()});
        continue;
      }
      stop_sequences = *std::move(matcher);
    }
    const absl::Status added = scheduler_.AddRequest({.request_id = s.id,
                                                      .prompt_ids = r.prompt_ids,
                                                      .sampling = r.sampling,
                                                      .stopping = stopping,
                                                      .output_options = r.output_options,
                                                      .priority = r.priority});
    if (!added.ok()) {
      r.sink->Push({.request_id = s.id, .error = added});
      continue;
    }
    Live& live = live_[s.id];
    live.sink = std::move(r.sink);
    live.arrival = s.arrival;
    live.seed = r.sampling.seed;
    if (tokenizer_) live.detokenizer.emplace(*tokenizer_);
    live.stop_sequences = std::move(stop_sequences);
    live.min_tokens = stopping.min_tokens;
    live.wants_logprobs = r.output_options.return_logprobs;
    live.wants_top_logprobs = r.output_options.top_logprobs > 0;
    live.wants_prompt_logprobs = r.output_options.return_prompt_logprobs;
    if (live.wants_prompt_logprobs && r.prompt_ids.size() > 1) {
      live.prompt_logprobs.assign(r.prompt_ids.size() - 1, 0.0f);
    }
  }
  const auto now = Clock::now();
  for (RequestId id : aborts) {
    if (std::optional<RequestEvent> event = scheduler_.Abort(id)) Deliver(*event, now);
  }
  // Queued requests show in Stats() (GetLoad, /metrics) before the next step ends.
  if (!aborts.empty() || !submissions.empty()) PublishStatsAndFinish();
  return true;
}

void Engine::Step() {
  const auto start = Clock::now();
  const SchedulerOutput scheduled = scheduler_.Schedule();
  for (const NewRequestData& r : scheduled.new_requests) {
    auto it = live_.find(r.request_id);
    if (it != live_.end() && !it->second.first_scheduled) {
      it->second.first_scheduled = start;
      prompt_tokens_total_ += static_cast<int64_t>(r.prompt_ids.size());
    }
  }
  if (scheduled.requests.empty()) {
    // Nothing fits right now (every waiting request needs blocks that running ones hold);
    // deliver any finished ids to the runner and wait for a change rather than spin.
    if (!scheduled.finished_ids.empty()) (void)executor_->Execute(scheduled);
    PublishStats();
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(5));
    return;
  }
  absl::StatusOr<ModelRunnerOutput> executed = executor_->Execute(scheduled);
  ModelRunnerOutput output;
  if (executed.ok()) {
    output = *std::move(executed);
  } else {
    // A bug or a device fault, not bad input (requests are validated at the door): the step's
    // requests end with INTERNAL. When the executor can run no more steps, every request does.
    const absl::Status error =
        absl::InternalError(absl::StrCat("the model runner failed: ", executed.status().message()));
    if (executor_->failed()) {
      executor_failure_ = error;
      std::vector<RequestId> ids;
      for (const auto& [id, live] : live_) ids.push_back(id);
      for (RequestId id : ids) Fail(id, error);
    } else {
      for (const ScheduledRequest& r : scheduled.requests) Fail(r.request_id, error);
    }
    PublishStatsAndFinish();
    if (executor_failure_ && on_executor_failed_) {
      on_executor_failed_(*executor_failure_);
      on_executor_failed_ = nullptr;
    }
    return;
  }
  const auto now = Clock::now();
  ++steps_total_;
  for (const RequestEvent& event : scheduler_.Update(scheduled, output)) Deliver(event, now);
  if (observer_) observer_->OnStep(Seconds(now - start), scheduled.num_batched_tokens);
  PublishStatsAndFinish();
}

bool Engine::StreamText(const RequestEvent& event, Live& live, RequestOutput& out) {
  StreamingDetokenizer& detokenizer = *live.detokenizer;
  for (size_t i = 0; i < event.new_token_ids.size(); ++i) {
    ++live.num_outputs;
    // The text of a stopping token (eos, a stop id) is never emitted.
    const bool stopping_token = event.finished && event.reason == FinishReason::kStop &&
                                i + 1 == event.new_token_ids.size();
    const std::string piece =
        stopping_token ? detokenizer.Finish() : detokenizer.Add(event.new_token_ids[i]);
    if (!live.stop_sequences) {
      out.text += piece;
      continue;
    }
    // Stop sequences are ignored until min_tokens outputs exist (DESIGN §4).
    StopSequenceMatcher::Result r =
        live.stop_sequences->Feed(piece, /*match=*/live.num_outputs >= live.min_tokens);
    out.text += r.text;
    if (r.stopped) {
      out.matched_stop_sequence = r.matched;
      return true;
    }
  }
  if (event.finished) {  // release what was held back: no stop can match any more
    const std::string rest = detokenizer.Finish();
    if (live.stop_sequences) {
      out.text += live.stop_sequences->Feed(rest, /*match=*/false).text;
      out.text += live.stop_sequences->Finish();
    } else {
      out.text += rest;
    }
  }
  return false;
}

void Engine::Deliver(const RequestEvent& incoming, Clock::time_point now) {
  auto it = live_.find(incoming.id);
  if (it == live_.end()) return;
  Live& live = it->second;
  RequestEvent event = incoming;
  RequestOutput out{.request_id = event.id, .token_ids = event.new_token_ids};
  if (live.detokenizer && StreamText(event, live, out)) {
    // A stop sequence matched: the request ends now, its blocks freed before the next step. It
    // wins over max_tokens, eos, a stop id or the context limit reached on the same step (the
    // scheduler has then finished the request already), as in vLLM: the text was cut at it.
    if (std::optional<RequestEvent> end =
            scheduler_.FinishRequest(event.id, FinishReason::kStopSequence)) {
      event.num_output_tokens = end->num_output_tokens;
    }
    event.finished = true;
    event.reason = FinishReason::kStopSequence;
    event.matched_stop_token_id.reset();
  }
  const SampledOutput& sampled = event.sampled;
  for (size_t k = 0; k < sampled.prompt_logprobs.size(); ++k) {
    const size_t p = static_cast<size_t>(sampled.prompt_logprobs_start) + k;
    if (p < live.prompt_logprobs.size()) live.prompt_logprobs[p] = sampled.prompt_logprobs[k];
  }
  generation_tokens_total_ += static_cast<int64_t>(event.new_token_ids.size());
  if (!event.new_token_ids.empty()) {
    if (live.wants_logprobs) out.logprobs.push_back(sampled.logprob);
    if (live.wants_top_logprobs) out.top_logprobs.push_back(sampled.top_logprobs);
    if (!live.first_token) {
      live.first_token = now;
      if (observer_) {
        observer_->OnFirstToken(Seconds(live.first_scheduled.value_or(now) - live.arrival),
                                Seconds(now - live.arrival));
      }
    } else if (observer_) {
      observer_->OnToken(Seconds(now - live.last_token));
    }
    live.last_token = now;
  }
  if (event.finished) {
    out.finished = true;
    out.finish_reason = event.reason;
    out.prompt_tokens = event.num_prompt_tokens;
    out.completion_tokens = event.num_output_tokens;
    out.cached_tokens = event.num_cached_tokens;
    out.matched_stop_token_id = event.matched_stop_token_id;
    out.prompt_logprobs = std::move(live.prompt_logprobs);
    out.queue_seconds = Seconds(live.first_scheduled.value_or(now) - live.arrival);
    out.time_to_first_token_seconds =
        live.first_token ? Seconds(*live.first_token - live.arrival) : 0.0;
    out.total_seconds = Seconds(now - live.arrival);
    out.seed = live.seed;
    if (observer_) observer_->OnFinished(event.reason, out.total_seconds);
    finished_.emplace_back(std::move(live.sink), std::move(out));
    live_.erase(it);
    return;
  }
  if (!out.token_ids.empty()) live.sink->Push(std::move(out));
}

void Engine::PublishStats() {
  EngineStats s;
  s.running = scheduler_.num_running();
  s.waiting = scheduler_.num_waiting();
  const KvCacheManager& kv = scheduler_.kv_cache();
  s.kv_cache_usage = kv.usage();
  s.used_blocks = kv.num_used_blocks();
  s.cached_blocks = kv.num_cached_free_blocks();
  s.free_blocks = kv.num_uncached_free_blocks();
  s.total_blocks = kv.num_blocks();
  s.prefix_cache_query_tokens = kv.prefix_cache_query_tokens();
  s.prefix_cache_hit_tokens = kv.prefix_cache_hit_tokens();
  s.preemptions = scheduler_.num_preemptions();
  s.prompt_tokens = prompt_tokens_total_;
  s.generation_tokens = generation_tokens_total_;
  s.steps = steps_total_;
  std::lock_guard<std::mutex> lock(mu_);
  stats_ = s;
  heartbeat_ = Clock::now();
}

void Engine::PublishStatsAndFinish() {
  PublishStats();
  for (auto& [sink, out] : finished_) sink->Push(std::move(out));
  finished_.clear();
}

void Engine::Fail(RequestId id, const absl::Status& error) {
  const auto it = live_.find(id);
  if (it == live_.end()) return;
  (void)scheduler_.Abort(id);  // frees its blocks; the event is replaced by the error
  finished_.emplace_back(std::move(it->second.sink),
                         RequestOutput{.request_id = id, .error = error});
  live_.erase(it);
}

void Engine::AbortAll() {
  std::vector<RequestId> ids;
  for (const auto& [id, live] : live_) ids.push_back(id);
  const auto now = Clock::now();
  for (RequestId id : ids) {
    if (std::optional<RequestEvent> event = scheduler_.Abort(id)) Deliver(*event, now);
  }
  PublishStatsAndFinish();
  // Submissions that never reached the scheduler.
  std::deque<Submission> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending.swap(submissions_);
  }
  for (Submission& s : pending) {
    s.request.sink->Push({.request_id = s.id, .error = absl::UnavailableError("engine stopped")});
  }
}

}  // namespace egmla
