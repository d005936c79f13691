#include "scheduler/scheduler.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "scheduler/stop_checker.h"

namespace egmla {

absl::Status ValidateSchedulerConfig(const SchedulerConfig& config) {
  const auto positive = [](int64_t value, const char* name) -> absl::Status {
    if (value >= 1) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(name, " must be at least 1, got ", value));
  };
  for (const absl::Status& status :
       {positive(config.max_num_seqs, "max_num_seqs"),
        positive(config.max_num_batched_tokens, "max_num_batched_tokens"),
        positive(config.max_queued_requests, "max_queued_requests"),
        positive(config.block_size, "block_size"), positive(config.num_blocks, "num_blocks")}) {
    if (!status.ok()) return status;
  }
  if (config.max_prefill_chunk < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_prefill_chunk must not be negative, got ", config.max_prefill_chunk));
  }
  if (config.num_blocks > INT32_MAX - 1) {
    return absl::InvalidArgumentError(absl::StrCat("num_blocks is too large: ", config.num_blocks));
  }
  return absl::OkStatus();
}

namespace {

// The constructor's REQUIRES: a broken config stops the process before anything is built on it.
const SchedulerConfig& ValidOrDie(const SchedulerConfig& config) {
  if (const absl::Status status = ValidateSchedulerConfig(config); !status.ok()) {
    std::fprintf(stderr, "Scheduler: %s\n", status.ToString().c_str());
    std::abort();
  }
  return config;
}

}  // namespace

Scheduler::Scheduler(const SchedulerConfig& config)
    : config_(ValidOrDie(config)),
      kv_(config_.num_blocks, config_.block_size, config_.enable_prefix_caching) {}

absl::Status Scheduler::AddRequest(NewRequest request) {
  const int64_t prompt_len = static_cast<int64_t>(request.prompt_ids.size());
  if (prompt_len == 0) return absl::InvalidArgumentError("prompt is empty");
  if (request.stopping.max_tokens < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_tokens must be at least 1, got ", request.stopping.max_tokens));
  }
  if (request.stopping.min_tokens < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_tokens must not be negative, got ", request.stopping.min_tokens));
  }
  const int64_t max_context = request.stopping.max_context_tokens;
  if (max_context > 0 && prompt_len + 1 > max_context) {
    return absl::InvalidArgumentError(absl::StrCat("prompt of ", prompt_len,
                                                   " tokens leaves no room for a token in the "
                                                   "context of ",
                                                   max_context));
  }
  const int64_t capacity = kv_.num_blocks() * kv_.block_size();
  if (prompt_len + 1 > capacity) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prompt of ", prompt_len, " tokens does not fit in the KV cache of ", capacity, " tokens"));
  }
  if (requests_.contains(request.request_id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("request ", request.request_id, " is already in flight"));
  }
  if (num_waiting() >= config_.max_queued_requests) {
    return absl::ResourceExhaustedError("queue full");
  }
  auto owned = std::make_unique<Request>();
  Request& r = *owned;
  r.id = request.request_id;
  r.token_ids = std::move(request.prompt_ids);
  r.num_prompt_tokens = prompt_len;
  r.sampling = request.sampling;
  r.stopping = std::move(request.stopping);
  r.stopping.max_context_tokens = max_context > 0 ? std::min(max_context, capacity) : capacity;
  r.output_options = request.output_options;
  r.priority = request.priority;
  r.arrival = next_arrival_++;
  r.status = RequestStatus::kWaiting;
  waiting_.emplace(WaitingKey(r.priority, r.arrival), &r);
  requests_.emplace(r.id, std::move(owned));
  return absl::OkStatus();
}

std::optional<RequestEvent> Scheduler::Abort(RequestId request_id) {
  return FinishRequest(request_id, FinishReason::kAborted);
}

std::optional<RequestEvent> Scheduler::FinishRequest(RequestId request_id, FinishReason reason) {
  const auto it = requests_.find(request_id);
  if (it == requests_.end()) return std::nullopt;
  Request* request = it->second.get();
  if (request->status == RequestStatus::kRunning) {
    running_.erase(std::find(running_.begin(), running_.end(), request));
  } else {
    waiting_.erase(WaitingKey(request->priority, request->arrival));
  }
  Finish(request, reason);
  RequestEvent event = MakeEvent(*request);
  event.sampled.request_id = request_id;
  requests_.erase(it);
  return event;
}

void Scheduler::Finish(Request* request, FinishReason reason) {
  // Only a running request has runner state (a preempted one's was dropped when preempted).
  if (request->status == RequestStatus::kRunning) pending_finished_ids_.push_back(request->id);
  kv_.Free(request->id);
  request->status = RequestStatus::kFinished;
  request->finish_reason = reason;
}

RequestEvent Scheduler::MakeEvent(const Request& request) const {
  RequestEvent event;
  event.id = request.id;
  event.finished = request.status == RequestStatus::kFinished;
  event.reason = request.finish_reason;
  event.num_prompt_tokens = request.num_prompt_tokens;
  event.num_output_tokens = request.num_output_tokens();
  event.num_cached_tokens = request.num_cached_tokens;
  event.matched_stop_token_id = request.matched_stop_token_id;
  return event;
}

int64_t Scheduler::NumNewTokens(const Request& request, int64_t budget) const {
  int64_t num_new = request.num_tokens() - request.num_computed_tokens;
  if (config_.max_prefill_chunk > 0) num_new = std::min(num_new, config_.max_prefill_chunk);
  return std::min(num_new, budget);
}

void Scheduler::AddScheduled(Request& request, int64_t num_new, std::span<const BlockId> table,
                             SchedulerOutput* out) {
  ScheduledRequest& scheduled = out->requests.emplace_back();
  const int64_t first = request.num_computed_tokens;
  scheduled.request_id = request.id;
  scheduled.token_ids.assign(request.token_ids.begin() + first,
                             request.token_ids.begin() + first + num_new);
  scheduled.num_computed_tokens = first;
  scheduled.new_block_ids.assign(table.begin() + request.num_blocks_sent, table.end());
  request.num_blocks_sent = static_cast<int64_t>(table.size());
  scheduled.sample = first + num_new == request.num_tokens();
  out->num_batched_tokens += num_new;
}

size_t Scheduler::VictimIndex() const {
  size_t victim = 0;
  for (size_t i = 1; i < running_.size(); ++i) {
    const Request& a = *running_[i];
    const Request& b = *running_[victim];
    if (WaitingKey(a.priority, a.arrival) > WaitingKey(b.priority, b.arrival)) victim = i;
  }
  return victim;
}

void Scheduler::Preempt(Request* request, SchedulerOutput* out) {
  kv_.Free(request->id);
  request->status = RequestStatus::kPreempted;
  request->num_computed_tokens = 0;
  request->num_blocks_sent = 0;  // the runner drops its table with finished_ids
  waiting_.emplace(WaitingKey(request->priority, request->arrival), request);
  out->finished_ids.push_back(request->id);
  ++num_preemptions_;
}

SchedulerOutput Scheduler::Schedule() {
  SchedulerOutput out;
  out.finished_ids.swap(pending_finished_ids_);
  int64_t budget = config_.max_num_batched_tokens;
  bool preempted_any = false;
  out.requests.reserve(std::min<size_t>(
      running_.size() + waiting_.size(),
      static_cast<size_t>(std::min(config_.max_num_seqs, config_.max_num_batched_tokens))));

  // Running requests, in order. out.requests[k] is running_[k] for every k < i.
  size_t i = 0;
  const int64_t block_size = kv_.block_size();
  while (i < running_.size() && budget > 0) {
    Request* request = running_[i];
    const int64_t num_new = NumNewTokens(*request, budget);
    const int64_t num_tokens = request->num_computed_tokens + num_new;
    std::span<const BlockId> table = kv_.block_table(request->id);
    if (num_tokens > static_cast<int64_t>(table.size()) * block_size) {
      bool scheduled = true;
      while (!kv_.AllocateSlots(request->id, num_tokens)) {
        const size_t victim = VictimIndex();
        if (victim < i) {  // already scheduled this step: take it back
          const int64_t num_taken = static_cast<int64_t>(out.requests[victim].token_ids.size());
          budget += num_taken;
          out.num_batched_tokens -= num_taken;
          out.requests.erase(out.requests.begin() + victim);
          --i;
        }
        Request* preempted = running_[victim];
        running_.erase(running_.begin() + victim);
        Preempt(preempted, &out);
        preempted_any = true;
        if (preempted == request) {
          scheduled = false;
          break;
        }
      }
      // Preempted itself: running_[i] is now the next request, which may still fit (vLLM stops
      // here; with priorities, requests after this one may need no new block).
      if (!scheduled) continue;
      table = kv_.block_table(request->id);
    }
    AddScheduled(*request, num_new, table, &out);
    budget -= num_new;
    ++i;
  }

  // Waiting requests by (priority, arrival), unless memory just ran out.
  while (!preempted_any && !waiting_.empty() && budget > 0 &&
         num_running() < config_.max_num_seqs) {
    Request* request = waiting_.begin()->second;
    PrefixHit hit;  // prompt logprobs need every prompt position computed
    if (kv_.enable_prefix_caching() && !request->output_options.return_prompt_logprobs) {
      hit = kv_.GetComputedTokens(request->token_ids);
    }
    const int64_t num_cached = hit.num_tokens;
    request->num_computed_tokens = num_cached;
    const int64_t num_new = NumNewTokens(*request, budget);
    if (!kv_.AllocateSlots(request->id, num_cached + num_new, hit)) {
      request->num_computed_tokens = 0;
      break;
    }
    waiting_.erase(waiting_.begin());
    if (request->status == RequestStatus::kWaiting) request->num_cached_tokens = num_cached;
    request->status = RequestStatus::kRunning;
    running_.push_back(request);
    NewRequestData& data = out.new_requests.emplace_back();
    data.request_id = request->id;
    data.prompt_ids.assign(request->prompt_ids().begin(), request->prompt_ids().end());
    data.output_ids.assign(request->output_ids().begin(), request->output_ids().end());
    data.sampling = request->sampling;
    data.stopping = request->stopping;
    data.output_options = request->output_options;
    AddScheduled(*request, num_new, kv_.block_table(request->id), &out);
    budget -= num_new;
  }
  return out;
}

std::vector<RequestEvent> Scheduler::Update(const SchedulerOutput& output,
                                            const ModelRunnerOutput& runner_output) {
  std::vector<RequestEvent> events;
  events.reserve(output.requests.size());
  bool any_finished = false;
  const int64_t block_size = kv_.block_size();
  for (size_t i = 0; i < output.requests.size(); ++i) {
    const ScheduledRequest& scheduled = output.requests[i];
    const auto it = requests_.find(scheduled.request_id);
    if (it == requests_.end()) continue;
    Request& request = *it->second;
    if (request.status != RequestStatus::kRunning ||
        request.num_computed_tokens != scheduled.num_computed_tokens) {
      continue;  // not the step it was scheduled in (REQUIRES broken); ignore
    }
    const SampledOutput* sampled =
        i < runner_output.outputs.size() ? &runner_output.outputs[i] : nullptr;
    const int64_t num_computed_before = request.num_computed_tokens;
    request.num_computed_tokens += static_cast<int64_t>(scheduled.token_ids.size());
    // Only a step that fills a block can publish one (the blocks before were published or hit).
    if (request.num_computed_tokens / block_size > num_computed_before / block_size) {
      kv_.CacheComputedBlocks(request.id, request.token_ids, request.num_computed_tokens);
    }

    // Prompt logprobs: entry k is of position prompt_logprobs_start + k (the chunk's first
    // position); drop the ones already reported before a preemption.
    size_t num_old_prompt_logprobs = 0;
    size_t num_prompt_logprobs = 0;
    if (sampled != nullptr && !sampled->prompt_logprobs.empty()) {
      num_prompt_logprobs = sampled->prompt_logprobs.size();
      num_old_prompt_logprobs = static_cast<size_t>(
          std::clamp<int64_t>(request.num_prompt_logprobs_sent - sampled->prompt_logprobs_start, 0,
                              static_cast<int64_t>(num_prompt_logprobs)));
      request.num_prompt_logprobs_sent =
          std::max(request.num_prompt_logprobs_sent,
                   sampled->prompt_logprobs_start + static_cast<int64_t>(num_prompt_logprobs));
    }
    const bool has_token = scheduled.sample && sampled != nullptr && sampled->token_id >= 0;
    if (has_token) {
      request.token_ids.push_back(sampled->token_id);
      const FinishReason reason = CheckStop(request, &request.matched_stop_token_id);
      if (reason != FinishReason::kNone) Finish(&request, reason);
    } else if (scheduled.sample) {
      Finish(&request, FinishReason::kAborted);  // the runner produced no token
    }
    const bool finished = request.status == RequestStatus::kFinished;
    if (!has_token && !finished && num_prompt_logprobs == num_old_prompt_logprobs) continue;

    RequestEvent& event = events.emplace_back(MakeEvent(request));
    if (has_token) event.new_token_ids.push_back(sampled->token_id);
    event.sampled.request_id = request.id;
    if (sampled != nullptr) {
      event.sampled.token_id = sampled->token_id;
      event.sampled.logprob = sampled->logprob;
      if (!sampled->top_logprobs.token_ids.empty()) {
        event.sampled.top_logprobs = sampled->top_logprobs;
      }
      event.sampled.prompt_logprobs.assign(
          sampled->prompt_logprobs.begin() + num_old_prompt_logprobs,
          sampled->prompt_logprobs.end());
      event.sampled.prompt_logprobs_start =
          sampled->prompt_logprobs_start + static_cast<int64_t>(num_old_prompt_logprobs);
    }
    if (finished) any_finished = true;
  }
  if (any_finished) {
    std::erase_if(running_, [this](Request* request) {
      if (request->status != RequestStatus::kFinished) return false;
      requests_.erase(request->id);
      return true;
    });
  }
  return events;
}

const Request* Scheduler::FindRequest(RequestId request_id) const {
  const auto it = requests_.find(request_id);
  return it == requests_.end() ? nullptr : it->second.get();
}

absl::Status Scheduler::CheckInvariants() const {
  if (absl::Status status = kv_.CheckInvariants(); !status.ok()) return status;
  if (num_running() > config_.max_num_seqs) {
    return absl::InternalError(absl::StrCat(num_running(), " requests running"));
  }
  if (requests_.size() != running_.size() + waiting_.size()) {
    return absl::InternalError(absl::StrCat(requests_.size(), " live requests, ", running_.size(),
                                            " running, ", waiting_.size(), " waiting"));
  }
  const int32_t block_size = kv_.block_size();
  for (const Request* request : running_) {
    if (request->status != RequestStatus::kRunning || FindRequest(request->id) != request) {
      return absl::InternalError(absl::StrCat("running request ", request->id, " is not"));
    }
    const int64_t num_blocks = static_cast<int64_t>(kv_.block_table(request->id).size());
    if (request->num_computed_tokens >= request->num_tokens() ||
        num_blocks * block_size < request->num_computed_tokens) {
      return absl::InternalError(
          absl::StrCat("request ", request->id, " computed ", request->num_computed_tokens, " of ",
                       request->num_tokens(), " tokens with ", num_blocks, " blocks"));
    }
  }
  for (const auto& [key, request] : waiting_) {
    if ((request->status != RequestStatus::kWaiting &&
         request->status != RequestStatus::kPreempted) ||
        FindRequest(request->id) != request || !kv_.block_table(request->id).empty() ||
        key != WaitingKey(request->priority, request->arrival)) {
      return absl::InternalError(absl::StrCat("waiting request ", request->id, " is not"));
    }
  }
  return absl::OkStatus();
}

}  // namespace egmla
