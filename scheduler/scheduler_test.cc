#include "scheduler/scheduler.h"

#include <numeric>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::vector<int32_t> Iota(int n, int32_t start = 100) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

NewRequest Req(RequestId id, std::vector<int32_t> prompt, int64_t max_tokens = 8,
               int32_t priority = 0) {
  NewRequest r;
  r.request_id = id;
  r.prompt_ids = std::move(prompt);
  r.stopping.max_tokens = max_tokens;
  r.stopping.eos_token_ids = {2};
  r.stopping.max_context_tokens = 1000;
  r.priority = priority;
  return r;
}

SchedulerConfig Config(int64_t num_blocks, int32_t block_size = 4) {
  SchedulerConfig c;
  c.num_blocks = num_blocks;
  c.block_size = block_size;
  return c;
}

// The runner's answer: `token` for every request that samples.
ModelRunnerOutput Answer(const SchedulerOutput& out, int32_t token = 50) {
  ModelRunnerOutput r;
  for (const ScheduledRequest& s : out.requests) {
    SampledOutput& o = r.outputs.emplace_back();
    o.request_id = s.request_id;
    o.token_id = s.sample ? token : -1;
  }
  return r;
}

std::vector<RequestId> Ids(const SchedulerOutput& out) {
  std::vector<RequestId> ids;
  for (const ScheduledRequest& s : out.requests) ids.push_back(s.request_id);
  return ids;
}

std::vector<int64_t> Sizes(const SchedulerOutput& out) {
  std::vector<int64_t> n;
  for (const ScheduledRequest& s : out.requests) n.push_back(s.token_ids.size());
  return n;
}

TEST(SchedulerTest, RejectsBadConfig) {
  SchedulerConfig c = Config(0);
  EXPECT_EQ(ValidateSchedulerConfig(c).code(), absl::StatusCode::kInvalidArgument);
  c = Config(4);
  c.max_prefill_chunk = -1;
  EXPECT_EQ(ValidateSchedulerConfig(c).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateSchedulerConfig(Config(4)).ok());
}

TEST(SchedulerTest, AddRequestValidates) {
  SchedulerConfig c = Config(4);  // 16 tokens of cache
  c.max_queued_requests = 2;
  Scheduler s(c);
  EXPECT_EQ(s.AddRequest(Req(1, {})).code(), absl::StatusCode::kInvalidArgument);
  NewRequest zero = Req(1, Iota(3), 0);
  EXPECT_EQ(s.AddRequest(zero).code(), absl::StatusCode::kInvalidArgument);
  NewRequest full = Req(1, Iota(5));
  full.stopping.max_context_tokens = 5;
  EXPECT_EQ(s.AddRequest(full).code(), absl::StatusCode::kInvalidArgument);
  full.stopping.max_context_tokens = 6;
  EXPECT_TRUE(s.AddRequest(full).ok());
  EXPECT_EQ(s.AddRequest(Req(1, Iota(3))).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.AddRequest(Req(2, Iota(16))).code(), absl::StatusCode::kInvalidArgument);  // cache
  EXPECT_TRUE(s.AddRequest(Req(2, Iota(15))).ok());
  const absl::Status queue_full = s.AddRequest(Req(3, Iota(3)));
  EXPECT_EQ(queue_full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(queue_full.message(), "queue full");
  EXPECT_EQ(s.num_waiting(), 2);
}

TEST(SchedulerTest, RunningRequestsSendOnlyTheirNewBlocks) {
  Scheduler s(Config(8));  // blocks of 4 tokens
  ASSERT_TRUE(s.AddRequest(Req(1, Iota(3), 8)).ok());
  std::vector<std::vector<BlockId>> sent;
  for (int step = 0; step < 7; ++step) {  // positions 0-2, then 3, 4, ..., 8
    SchedulerOutput out = s.Schedule();
    ASSERT_THAT(out.requests, SizeIs(1));
    sent.push_back(out.requests[0].new_block_ids);
    s.Update(out, Answer(out));
  }
  // Prefill: block 0; position 3 still fits; position 4 opens block 1; position 8 block 2.
  EXPECT_THAT(sent, ElementsAre(ElementsAre(0), IsEmpty(), ElementsAre(1), IsEmpty(), IsEmpty(),
                                IsEmpty(), ElementsAre(2)));
}

TEST(SchedulerTest, APreemptedRequestSendsItsWholeTableAgainWhenResumed) {
  Scheduler s(Config(3));  // 12 tokens
  ASSERT_TRUE(s.AddRequest(Req(1, Iota(4), 8, /*priority=*/0)).ok());
  ASSERT_TRUE(s.AddRequest(Req(2, Iota(4), 8, /*priority=*/1)).ok());
  for (int step = 0; step < 10 && s.num_preemptions() == 0; ++step) {
    SchedulerOutput out = s.Schedule();
    s.Update(out, Answer(out));
  }
  ASSERT_EQ(s.num_preemptions(), 1);
  ASSERT_EQ(s.FindRequest(2)->status, RequestStatus::kPreempted);
  while (s.FindRequest(2)->status != RequestStatus::kRunning) {
    SchedulerOutput out = s.Schedule();
    for (const ScheduledRequest& r : out.requests) {
      if (r.request_id != 2) continue;
      // Its prompt block may come back from the prefix cache; either way the runner, which
      // dropped its table at the preemption, gets all of it.
      EXPECT_THAT(r.new_block_ids, ElementsAreArray(s.kv_cache().block_table(2)));
    }
    s.Update(out, Answer(out));
  }
}

TEST(SchedulerTest, PrefillThenDecodeUntilLength) {
  Scheduler s(Config(8));
  ASSERT_TRUE(s.AddRequest(Req(1, Iota(5), 3)).ok());
  EXPECT_TRUE(s.HasWork());

  SchedulerOutput out = s.Schedule();
  ASSERT_THAT(out.new_requests, SizeIs(1));
  EXPECT_EQ(out.new_requests[0].prompt_ids, Iota(5));
  EXPECT_THAT(out.new_requests[0].output_ids, IsEmpty());
  ASSERT_THAT(out.requests, SizeIs(1));
  EXPECT_EQ(out.requests[0].token_ids, Iota(5));
  EXPECT_EQ(out.requests[0].num_computed_tokens, 0);
  EXPECT_THAT(out.requests[0].new_block_ids, ElementsAre(0, 1));
  EXPECT_TRUE(out.requests[0].sample);
  EXPECT_EQ(out.num_batched_tokens, 5);
  std::vector<RequestEvent> events = s.Update(out, Answer(out, 60));
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_THAT(events[0].new_token_ids, ElementsAre(60));
  EXPECT_FALSE(events[0].finished);
  EXPECT_EQ(events[0].num_output_tokens, 1);

  out = s.Schedule();
  EXPECT_THAT(out.new_requests, IsEmpty());
  ASSERT_THAT(out.requests, SizeIs(1));
  EXPECT_THAT(out.requests[0].token_ids, ElementsAre(60));
  EXPECT_EQ(out.requests[0].num_computed_tokens, 5);
  s.Update(out, Answer(out, 61));

  out = s.Schedule();
  events = s.Update(out, Answer(out, 62));
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_TRUE(events[0].finished);
  EXPECT_EQ(events[0].reason, FinishReason::kLength);
  EXPECT_EQ(events[0].num_prompt_tokens, 5);
  EXPECT_EQ(events[0].num_output_tokens, 3);
  EXPECT_FALSE(s.HasWork());
  EXPECT_EQ(s.num_used_blocks(), 0);

  out = s.Schedule();
  EXPECT_THAT(out.finished_ids, ElementsAre(1));
  EXPECT_THAT(out.requests, IsEmpty());
  EXPECT_TRUE(s.CheckInvariants().ok());
}

TEST(SchedulerTest, RunningFirstThenWaitingByPriorityAndArrival) {
  SchedulerConfig c = Config(32);
  c.max_num_batched_tokens = 10;
  Scheduler s(c);
  ASSERT_TRUE(s.AddRequest(Req(1, Iota(3))).ok());
  SchedulerOutput out = s.Schedule();
  s.Update(out, Answer(out));
  ASSERT_TRUE(s.AddRequest(Req(2, Iota(4), 8, /*priority=*/1)).ok());
  ASSERT_TRUE(s.AddRequest(Req(3, Iota(4), 8, /*priority=*/0)).ok());
  ASSERT_TRUE(s.AddRequest(Req(4, Iota(4), 8, /*priority=*/0)).ok());
  out = s.Schedule();
  EXPECT_THAT(Ids(out), ElementsAre(1, 3, 4, 2));
  EXPECT_THAT(Sizes(out), ElementsAre(1, 4, 4, 1));  // 2 gets the last token of the budget
  EXPECT_FALSE(out.requests[3].sample);
  EXPECT_EQ(out.num_batched_tokens, 10);
  EXPECT_THAT(out.new_requests, SizeIs(3));
}

TEST(SchedulerTest, MaxNumSeqsLimitsRunningRequests) {
  SchedulerConfig c = Config(32);
  c.max_num_seqs = 2;
  Scheduler s(c);
  for (RequestId id = 1; id <= 3; ++id) ASSERT_TRUE(s.AddRequest(Req(id, Iota(3))).ok());
  SchedulerOutput out = s.Schedule();
  EXPECT_THAT(Ids(out), ElementsAre(1, 2));
  EXPECT_EQ(s.num_running(), 2);
  EXPECT_EQ(s.num_waiting(), 1);
}

TEST(SchedulerTest, LongPromptsAreChunked) {
  SchedulerConfig c = Config(32);
  c.max_prefill_chunk = 4;
  Scheduler s(c);
  ASSERT_TRUE(s.AddRequest(Req(1, Iota(10))).ok());
  std::vector<int64_t> computed;
  for (int step = 0; step < 3; ++step) {
    SchedulerOutput out = s.Schedule();
    ASSERT_THAT(out.requests, SizeIs(1));
    computed.push_back(out.requests[0].num_computed_tokens);
    EXPECT_EQ(out.requests[0].sample, step == 2);
    EXPECT_EQ(out.new_requests.size(), step == 0 ? 1u : 0u);
    const std::vector<RequestEvent> events = s.Update(out, Answer(out));
    EXPECT_EQ(events.size(), step == 2 ? 1u : 0u);
  }
  EXPECT_THAT(computed, ElementsAre(0, 4, 8));
}

TEST(SchedulerTest, PrefixCacheHitIsReported) {
  Scheduler s(Config(16));
  ASSERT_TRUE(s.AddRequest(Req(1, Iota(9), 1)).ok());
  SchedulerOutput out = s.Schedule();
  s.Update(out, Answer(out));  // finishes (max_tokens 1) and frees its cached blocks
  ASSERT_TRUE(s.AddRequest(Req(2, Iota(9), 1)).ok());
  NewRequest logprobs = Req(3, Iota(9), 1);
  logprobs.output_options.return_prompt_logprobs = true;
  ASSERT_TRUE(s.AddRequest(logprobs).ok());
  out = s.Schedule();
  ASSERT_THAT(out.requests, SizeIs(2));
  EXPECT_EQ(out.requests[0].num_computed_tokens, 8);
  EXPECT_THAT(out.requests[0].token_ids, ElementsAre(108));
  EXPECT_EQ(out.requests[1].num_computed_tokens, 0);  // prompt logprobs bypass the cache
  const std::vector<RequestEvent> events = s.Update(out, Answer(out));
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[0].num_cached_tokens, 8);
  EXPECT_EQ(events[1].num_cached_tokens, 0);
  EXPECT_EQ(s.prefix_cache_query_tokens(), 18);
  EXPECT_EQ(s.prefix_cache_hit_tokens(), 8);
}

TEST(SchedulerTest, PreemptsTheLatestLowestPriorityRequestAndResumesIt) {
  Scheduler s(Config(3, 2));  // 6 tokens of cache
  ASSERT_TRUE(s.AddRequest(Req(1, Iota(2), 8)).ok());
  ASSERT_TRUE(s.AddRequest(Req(2, Iota(2, 200), 8)).ok());
  SchedulerOutput out = s.Schedule();  // 1 and 2: one block each
  s.Update(out, Answer(out, 51));
  out = s.Schedule();  // both need a second block: only one is free, 2 is preempted
  EXPECT_THAT(Ids(out), ElementsAre(1));
  EXPECT_THAT(out.finished_ids, ElementsAre(2));
  EXPECT_EQ(s.num_preemptions(), 1);
  EXPECT_EQ(s.FindRequest(2)->status, RequestStatus::kPreempted);
  EXPECT_EQ(s.num_waiting(), 1);
  s.Update(out, Answer(out, 52));
  ASSERT_TRUE(s.AddRequest(Req(3, Iota(2, 300), 8)).ok());  // arrives later than 2

  // Finish 1 to make room; 2 comes back before 3, with its output so far, and recomputes it.
  ASSERT_TRUE(s.FinishRequest(1, FinishReason::kStopSequence).has_value());
  out = s.Schedule();
  EXPECT_THAT(out.finished_ids, ElementsAre(1));
  ASSERT_THAT(out.new_requests, SizeIs(2));
  EXPECT_EQ(out.new_requests[0].request_id, 2u);
  EXPECT_THAT(out.new_requests[0].output_ids, ElementsAre(51));
  EXPECT_THAT(Ids(out), ElementsAre(2, 3));
  // Its first block is still in the prefix cache: only the output token is recomputed.
  EXPECT_THAT(out.requests[0].token_ids, ElementsAre(51));
  EXPECT_EQ(out.requests[0].num_computed_tokens, 2);
  EXPECT_TRUE(out.requests[0].sample);
  const std::vector<RequestEvent> events = s.Update(out, Answer(out, 53));
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_THAT(events[0].new_token_ids, ElementsAre(53));
  EXPECT_EQ(events[0].num_output_tokens, 2);
  EXPECT_EQ(events[0].num_cached_tokens, 0);  // the hit at its first admission
  EXPECT_EQ(s.FindRequest(2)->output_ids()[1], 53);
  EXPECT_TRUE(s.CheckInvariants().ok());
}

TEST(SchedulerTest, PreemptsByPriorityEvenWhenAlreadyScheduled) {
  // Request 1 (priority 1) comes first in the running list; request 2 (priority 0) needs a block
  // when none is free: 1 is taken back out of this step and preempted.
  Scheduler s(Config(3, 2));
  ASSERT_TRUE(s.AddRequest(Req(1, {100}, 8, /*priority=*/1)).ok());
  SchedulerOutput first = s.Schedule();
  s.Update(first, Answer(first));
  ASSERT_TRUE(s.AddRequest(Req(2, {200}, 8, /*priority=*/0)).ok());
  for (int step = 0; step < 2; ++step) {  // 1 ends with two blocks, 2 with one; none is free
    SchedulerOutput out = s.Schedule();
    EXPECT_THAT(Ids(out), ElementsAre(1, 2));
    s.Update(out, Answer(out));
  }
  EXPECT_EQ(s.num_free_blocks(), 0);
  SchedulerOutput out = s.Schedule();  // 1 fits in its blocks, then 2 needs one
  EXPECT_THAT(Ids(out), ElementsAre(2));
  EXPECT_THAT(out.finished_ids, ElementsAre(1));
  EXPECT_EQ(out.num_batched_tokens, 1);
  EXPECT_THAT(out.requests[0].new_block_ids, SizeIs(1));  // its second block
  EXPECT_EQ(s.FindRequest(1)->status, RequestStatus::kPreempted);
  EXPECT_EQ(s.FindRequest(1)->num_computed_tokens, 0);
  EXPECT_EQ(s.num_preemptions(), 1);
  EXPECT_TRUE(s.CheckInvariants().ok());
}

TEST(SchedulerTest, AbortFreesBlocksAndTellsTheRunner) {
  Scheduler s(Config(8));
  ASSERT_TRUE(s.AddRequest(Req(1, Iota(5))).ok());
  ASSERT_TRUE(s.AddRequest(Req(2, Iota(5))).ok());
  SchedulerOutput out = s.Schedule();
  s.Update(out, Answer(out));
  ASSERT_TRUE(s.AddRequest(Req(3, Iota(5))).ok());
  EXPECT_EQ(s.num_used_blocks(), 4);

  const std::optional<RequestEvent> running = s.Abort(1);
  ASSERT_TRUE(running.has_value());
  EXPECT_TRUE(running->finished);
  EXPECT_EQ(running->reason, FinishReason::kAborted);
  EXPECT_EQ(running->num_output_tokens, 1);
  EXPECT_EQ(s.num_used_blocks(), 2);
  ASSERT_TRUE(s.Abort(3).has_value());  // waiting: the runner never saw it
  EXPECT_FALSE(s.Abort(3).has_value());
  EXPECT_FALSE(s.Abort(99).has_value());
  out = s.Schedule();
  EXPECT_THAT(out.finished_ids, ElementsAre(1));
  EXPECT_THAT(Ids(out), ElementsAre(2));
  EXPECT_TRUE(s.CheckInvariants().ok());
}

TEST(SchedulerTest, StopTokenEndsTheRequestWithMatchedId) {
  Scheduler s(Config(8));
  NewRequest r = Req(1, Iota(3));
  r.stopping.stop_token_ids = {9};
  ASSERT_TRUE(s.AddRequest(r).ok());
  SchedulerOutput out = s.Schedule();
  const std::vector<RequestEvent> events = s.Update(out, Answer(out, 9));
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_TRUE(events[0].finished);
  EXPECT_EQ(events[0].reason, FinishReason::kStop);
  EXPECT_EQ(events[0].matched_stop_token_id, 9);
  EXPECT_THAT(events[0].new_token_ids, ElementsAre(9));
  EXPECT_EQ(events[0].num_output_tokens, 1);
}

TEST(SchedulerTest, ContextLimitEndsTheRequest) {
  Scheduler s(Config(8));
  NewRequest r = Req(1, Iota(3), 10);
  r.stopping.max_context_tokens = 5;
  ASSERT_TRUE(s.AddRequest(r).ok());
  std::vector<RequestEvent> events;
  while (s.HasWork()) {
    SchedulerOutput out = s.Schedule();
    events = s.Update(out, Answer(out));
  }
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].reason, FinishReason::kContextLimit);
  EXPECT_EQ(events[0].num_output_tokens, 2);
}

TEST(SchedulerTest, ContextIsCappedByTheCacheCapacity) {
  Scheduler s(Config(2, 2));  // 4 tokens of cache
  ASSERT_TRUE(s.AddRequest(Req(1, Iota(2), 10)).ok());
  std::vector<RequestEvent> events;
  while (s.HasWork()) {
    SchedulerOutput out = s.Schedule();
    events = s.Update(out, Answer(out));
  }
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].reason, FinishReason::kContextLimit);
  EXPECT_EQ(events[0].num_output_tokens, 2);
}

TEST(SchedulerTest, MissingTokenAbortsTheRequest) {
  Scheduler s(Config(8));
  ASSERT_TRUE(s.AddRequest(Req(1, Iota(3))).ok());
  SchedulerOutput out = s.Schedule();
  const std::vector<RequestEvent> events = s.Update(out, Answer(out, -1));
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].reason, FinishReason::kAborted);
  EXPECT_FALSE(s.HasWork());
}

TEST(SchedulerTest, PromptLogprobsAreReportedOncePerPosition) {
  SchedulerConfig c = Config(8);
  c.max_prefill_chunk = 3;
  Scheduler s(c);
  NewRequest r = Req(1, Iota(5), 1);
  r.output_options.return_prompt_logprobs = true;
  ASSERT_TRUE(s.AddRequest(r).ok());
  std::vector<float> got;
  while (s.HasWork()) {
    SchedulerOutput out = s.Schedule();
    ModelRunnerOutput answer = Answer(out);
    for (size_t i = 0; i < out.requests.size(); ++i) {
      const ScheduledRequest& sr = out.requests[i];
      answer.outputs[i].prompt_logprobs_start = sr.num_computed_tokens;
      for (int64_t p = sr.num_computed_tokens;
           p < sr.num_computed_tokens + static_cast<int64_t>(sr.token_ids.size()) && p + 1 < 5;
           ++p) {
        answer.outputs[i].prompt_logprobs.push_back(static_cast<float>(-p));
      }
    }
    for (const RequestEvent& e : s.Update(out, answer)) {
      got.insert(got.end(), e.sampled.prompt_logprobs.begin(), e.sampled.prompt_logprobs.end());
    }
  }
  EXPECT_THAT(got, ElementsAre(0.0f, -1.0f, -2.0f, -3.0f));
}

}  // namespace
}  // namespace egmla
