// One engine step of scheduling work — Scheduler::Schedule() then Scheduler::Update() with a
// fake runner output, no model — with N requests all decoding, each holding a few hundred tokens
// of context. Argument: N. Target (issue 3): under 50 us at N = 256.
#include <cstdint>
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "scheduler/scheduler.h"

namespace egmla {
namespace {

constexpr int32_t kBlockSize = 64;
constexpr int64_t kPromptTokens = 300;
// Steps between rebuilds, so contexts stay between 300 and 300 + kStepsPerScheduler tokens.
constexpr int kStepsPerScheduler = 200;
constexpr int32_t kToken = 7;  // never eos

void Answer(const SchedulerOutput& out, ModelRunnerOutput* answer) {
  answer->outputs.resize(out.requests.size());
  for (size_t i = 0; i < out.requests.size(); ++i) {
    answer->outputs[i].request_id = out.requests[i].request_id;
    answer->outputs[i].token_id = out.requests[i].sample ? kToken : -1;
  }
}

// A scheduler with `n` requests, prefilled, so that every next step is n decodes.
std::unique_ptr<Scheduler> MakeDecoding(int64_t n) {
  SchedulerConfig config;
  config.max_num_seqs = n;
  config.max_queued_requests = n;
  config.block_size = kBlockSize;
  // Requests admitted first decode while later ones prefill (up to ~40 steps at n = 1024).
  const int64_t max_context = kPromptTokens + kStepsPerScheduler + 128;
  config.num_blocks = n * ((max_context + kBlockSize - 1) / kBlockSize);
  auto scheduler = std::make_unique<Scheduler>(config);
  for (int64_t id = 0; id < n; ++id) {
    NewRequest request;
    request.request_id = static_cast<RequestId>(id);
    request.prompt_ids.resize(kPromptTokens);
    for (int64_t t = 0; t < kPromptTokens; ++t) {
      request.prompt_ids[t] = static_cast<int32_t>((id * 7919 + t * 31) % 50000);
    }
    request.stopping.max_tokens = 1 << 30;
    request.stopping.eos_token_ids = {2};
    request.stopping.max_context_tokens = 1 << 30;
    if (!scheduler->AddRequest(std::move(request)).ok()) std::abort();
  }
  ModelRunnerOutput answer;
  while (scheduler->num_waiting() > 0 || scheduler->num_running() < n) {
    const SchedulerOutput out = scheduler->Schedule();
    Answer(out, &answer);
    scheduler->Update(out, answer);
  }
  // Finish the last prefill chunks: run until a step is n single-token samples.
  for (;;) {
    const SchedulerOutput out = scheduler->Schedule();
    Answer(out, &answer);
    scheduler->Update(out, answer);
    bool all_decodes = static_cast<int64_t>(out.requests.size()) == n;
    for (const ScheduledRequest& s : out.requests) {
      all_decodes = all_decodes && s.token_ids.size() == 1 && s.sample;
    }
    if (all_decodes) break;
  }
  return scheduler;
}

void BM_ScheduleUpdateDecode(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::unique_ptr<Scheduler> scheduler = MakeDecoding(n);
  ModelRunnerOutput answer;
  int steps = 0;
  for (auto _ : state) {
    const SchedulerOutput out = scheduler->Schedule();
    Answer(out, &answer);
    std::vector<RequestEvent> events = scheduler->Update(out, answer);
    benchmark::DoNotOptimize(events.data());
    if (out.num_batched_tokens != n || static_cast<int64_t>(events.size()) != n) {
      state.SkipWithError("not a pure decode step");
      break;
    }
    if (++steps == kStepsPerScheduler) {
      state.PauseTiming();
      scheduler = MakeDecoding(n);
      steps = 0;
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["requests"] = static_cast<double>(n);
}

BENCHMARK(BM_ScheduleUpdateDecode)->Arg(64)->Arg(256)->Arg(1024)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace egmla

BENCHMARK_MAIN();
