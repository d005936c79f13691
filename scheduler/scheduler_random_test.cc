// Randomised end-to-end test of the scheduler with FakeRunner (no model): random arrivals,
// priorities, aborts and stop-sequence finishes; caches small enough to force preemption; shared
// prefixes with prefix caching on and off; small token budgets and chunk caps. Every request must
// get exactly the tokens (and prompt logprobs, finish reason, matched stop id) it gets when run
// alone, and the cache must end with every block free and every reference count zero. Since the
// fake runner computes each token only from what it reads back through the block tables, this
// checks block tables, slot mapping and prefix reuse.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "scheduler/fake_runner.h"
#include "scheduler/scheduler.h"

namespace egmla {
namespace {

struct Outcome {
  std::vector<int32_t> tokens;
  std::vector<float> prompt_logprobs;
  bool finished = false;
  FinishReason reason = FinishReason::kNone;
  std::optional<int32_t> matched;
  int64_t num_cached_tokens = 0;
};

void Record(const RequestEvent& e, Outcome* o) {
  ASSERT_FALSE(o->finished) << "event after the end of request " << e.id;
  o->tokens.insert(o->tokens.end(), e.new_token_ids.begin(), e.new_token_ids.end());
  if (!e.sampled.prompt_logprobs.empty()) {
    ASSERT_EQ(e.sampled.prompt_logprobs_start, static_cast<int64_t>(o->prompt_logprobs.size()));
  }
  o->prompt_logprobs.insert(o->prompt_logprobs.end(), e.sampled.prompt_logprobs.begin(),
                            e.sampled.prompt_logprobs.end());
  ASSERT_EQ(e.num_output_tokens, static_cast<int64_t>(o->tokens.size())) << "request " << e.id;
  o->finished = e.finished;
  o->reason = e.reason;
  o->matched = e.matched_stop_token_id;
  o->num_cached_tokens = e.num_cached_tokens;
}

// One step: schedule, execute, update, with invariants checked around it.
void Step(Scheduler& s, FakeRunner& runner, std::map<RequestId, Outcome>* outcomes) {
  const SchedulerOutput out = s.Schedule();
  const absl::Status status = s.CheckInvariants();
  ASSERT_TRUE(status.ok()) << status;
  const absl::StatusOr<ModelRunnerOutput> result = runner.Execute(out);
  ASSERT_TRUE(result.ok()) << result.status();
  for (const RequestEvent& e : s.Update(out, *result)) {
    ASSERT_NO_FATAL_FAILURE(Record(e, &(*outcomes)[e.id]));
  }
  const absl::Status after = s.CheckInvariants();
  ASSERT_TRUE(after.ok()) << after;
}

// The request run alone, with a budget and cache that never bind.
Outcome RunAlone(const NewRequest& request, int32_t block_size, int64_t num_blocks, int32_t vocab) {
  SchedulerConfig c;
  c.block_size = block_size;
  c.num_blocks = num_blocks;
  c.enable_prefix_caching = false;
  Scheduler s(c);
  FakeRunner runner(num_blocks, block_size, vocab);
  std::map<RequestId, Outcome> outcomes;
  EXPECT_TRUE(s.AddRequest(request).ok());
  while (s.HasWork()) {
    Step(s, runner, &outcomes);
    if (testing::Test::HasFatalFailure()) break;
  }
  return outcomes[request.request_id];
}

struct Totals {
  int64_t preemptions = 0;
  int64_t cached_tokens = 0;
  int64_t aborted = 0;
  int64_t stopped = 0;
  int64_t requests = 0;
  int64_t steps = 0;
};

void RunTrial(uint32_t seed, Totals* totals) {
  std::mt19937 rng(seed);
  const auto uniform = [&rng](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const int32_t vocab = static_cast<int32_t>(uniform(6, 40));
  SchedulerConfig config;
  config.block_size = std::vector<int32_t>{1, 2, 3, 4, 8, 16}[uniform(0, 5)];
  config.max_num_batched_tokens = uniform(1, 48);
  config.max_num_seqs = uniform(1, 10);
  config.max_queued_requests = uniform(1, 4) == 1 ? uniform(1, 6) : 1024;
  config.enable_prefix_caching = uniform(0, 3) != 0;
  config.max_prefill_chunk = uniform(0, 2) == 0 ? uniform(1, 8) : 0;

  // Shared prefixes, so that prefix caching has something to find.
  std::vector<std::vector<int32_t>> bases(3);
  for (auto& base : bases) {
    base.resize(uniform(0, 40));
    for (int32_t& t : base) t = static_cast<int32_t>(uniform(0, vocab - 1));
  }
  const int num_requests = static_cast<int>(uniform(1, 30));
  std::vector<NewRequest> requests;
  std::vector<int64_t> arrival_step;
  int64_t max_tokens_needed = 1;
  for (int i = 0; i < num_requests; ++i) {
    NewRequest r;
    r.request_id = 1000 + i;
    const auto& base = bases[uniform(0, 2)];
    r.prompt_ids.assign(base.begin(), base.begin() + uniform(0, base.size()));
    for (int64_t n = uniform(r.prompt_ids.empty() ? 1 : 0, 10); n > 0; --n) {
      r.prompt_ids.push_back(static_cast<int32_t>(uniform(0, vocab - 1)));
    }
    r.sampling.seed = uniform(0, 2);  // equal seeds: equal prompts give equal outputs
    r.priority = static_cast<int32_t>(uniform(0, 2));
    r.stopping.max_tokens = uniform(1, 24);
    r.stopping.min_tokens = uniform(0, 3);
    r.stopping.eos_token_ids = {0};
    r.stopping.ignore_eos = uniform(0, 3) == 0;
    if (uniform(0, 1) == 1) r.stopping.stop_token_ids = {static_cast<int32_t>(uniform(1, 5))};
    const int64_t prompt_len = static_cast<int64_t>(r.prompt_ids.size());
    r.stopping.max_context_tokens =
        uniform(0, 3) == 0 ? prompt_len + uniform(1, 6) : prompt_len + 100;
    r.output_options.return_prompt_logprobs = uniform(0, 5) == 0;
    max_tokens_needed = std::max(max_tokens_needed, std::min(prompt_len + r.stopping.max_tokens,
                                                             r.stopping.max_context_tokens));
    requests.push_back(r);
    arrival_step.push_back(uniform(0, 40));
  }
  // Enough blocks for the largest request alone, and sometimes barely more: preemption.
  const int64_t min_blocks = (max_tokens_needed + config.block_size - 1) / config.block_size;
  config.num_blocks = min_blocks + uniform(0, uniform(0, 1) ? 3 : 3 * min_blocks);

  std::vector<Outcome> alone;
  for (const NewRequest& r : requests) {
    alone.push_back(RunAlone(r, config.block_size, config.num_blocks, vocab));
    ASSERT_FALSE(testing::Test::HasFatalFailure()) << "alone, seed " << seed;
  }

  Scheduler s(config);
  FakeRunner runner(config.num_blocks, config.block_size, vocab);
  std::map<RequestId, Outcome> outcomes;
  std::vector<bool> added(num_requests, false);
  std::vector<bool> ended_early(num_requests, false);  // aborted or stop sequence
  int num_added = 0;
  for (int64_t step = 0; num_added < num_requests || s.HasWork(); ++step) {
    ASSERT_LT(step, 20000) << "no progress, seed " << seed;
    for (int i = 0; i < num_requests; ++i) {
      if (added[i] || arrival_step[i] > step) continue;
      const absl::Status status = s.AddRequest(requests[i]);
      if (status.ok()) {
        added[i] = true;
        ++num_added;
      } else {
        ASSERT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
        arrival_step[i] = step + 1;  // retry later
      }
    }
    if (uniform(0, 30) == 0) {
      const int i = static_cast<int>(uniform(0, num_requests - 1));
      const FinishReason reason =
          uniform(0, 1) ? FinishReason::kAborted : FinishReason::kStopSequence;
      if (const std::optional<RequestEvent> e = s.FinishRequest(requests[i].request_id, reason)) {
        ASSERT_NO_FATAL_FAILURE(Record(*e, &outcomes[e->id]));
        ended_early[i] = true;
      }
    }
    ASSERT_NO_FATAL_FAILURE(Step(s, runner, &outcomes)) << "seed " << seed << " step " << step;
    ++totals->steps;
  }
  // One more schedule delivers the last finished ids to the runner.
  const absl::StatusOr<ModelRunnerOutput> last = runner.Execute(s.Schedule());
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(runner.num_requests(), 0);

  const KvCacheManager& kv = s.kv_cache();
  ASSERT_TRUE(kv.CheckInvariants().ok());
  EXPECT_EQ(kv.num_free_blocks(), kv.num_blocks()) << "seed " << seed;
  for (BlockId b = 0; b < kv.num_blocks(); ++b) ASSERT_EQ(kv.pool().ref_count(b), 0);

  for (int i = 0; i < num_requests; ++i) {
    const Outcome& got = outcomes[requests[i].request_id];
    const Outcome& want = alone[i];
    SCOPED_TRACE(testing::Message() << "seed " << seed << " request " << i);
    ASSERT_TRUE(got.finished);
    if (ended_early[i]) {
      ASSERT_LE(got.tokens.size(), want.tokens.size());
      EXPECT_TRUE(std::equal(got.tokens.begin(), got.tokens.end(), want.tokens.begin()));
      ++totals->aborted;
      continue;
    }
    EXPECT_EQ(got.tokens, want.tokens);
    EXPECT_EQ(got.reason, want.reason);
    EXPECT_EQ(got.matched, want.matched);
    EXPECT_EQ(got.prompt_logprobs, want.prompt_logprobs);
    if (requests[i].output_options.return_prompt_logprobs) {
      EXPECT_EQ(got.prompt_logprobs.size(), requests[i].prompt_ids.size() - 1);
      EXPECT_EQ(got.num_cached_tokens, 0);
    }
    if (got.reason == FinishReason::kStop) ++totals->stopped;
    totals->cached_tokens += got.num_cached_tokens;
  }
  totals->preemptions += s.num_preemptions();
  totals->requests += num_requests;
}

TEST(SchedulerRandomTest, EveryRequestGetsItsTokensAlone) {
  Totals totals;
  for (uint32_t seed = 0; seed < 400; ++seed) {
    ASSERT_NO_FATAL_FAILURE(RunTrial(seed, &totals));
    if (HasFailure()) break;
  }
  // The schedules exercised what they are meant to.
  EXPECT_GT(totals.preemptions, 100);
  EXPECT_GT(totals.cached_tokens, 1000);
  EXPECT_GT(totals.aborted, 50);
  EXPECT_GT(totals.stopped, 100);
  EXPECT_GT(totals.steps, 10000);
  std::printf(
      "steps %ld, requests %ld, preemptions %ld, cached tokens %ld, ended early %ld, stopped %ld\n",
      totals.steps, totals.requests, totals.preemptions, totals.cached_tokens, totals.aborted,
      totals.stopped);
}

}  // namespace
}  // namespace egmla
