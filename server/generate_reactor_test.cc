// GenerateReactor through a real gRPC server on loopback, a real engine and a small random model:
// every engine output reaches the client in order, then one Complete and OK; a cancelled call or
// a passed deadline aborts the engine request and frees its blocks; refusals, the engine's
// included, are the gRPC codes DESIGN §5 names; a reader slower than the engine loses nothing.
//
// The engine is paced by a StepGate (its observer), which can hold the engine thread after a
// given step, so that "mid-stream" is a fact of the test rather than a race with the engine.
#include "server/generate_reactor.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "egmla/v1/generation.grpc.pb.h"
#include "engine/collecting_sink.h"
#include "engine/engine.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "model/test_models.h"
#include "runner/cpu/cpu_model_runner.h"
#include "server/generation_service.h"
#include "server/request_validation.h"
#include "server/service_context.h"

namespace egmla {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr auto kWaitLimit = std::chrono::seconds(20);

// Polls `done` until it holds or kWaitLimit passes; whether it held.
bool WaitFor(const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + kWaitLimit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// The engine's observer: counts steps and finishes and, when told to, holds the engine thread
// after a step (in OnStep, which runs after the step's outputs were pushed and holds no engine
// lock, so Submit and Abort still go through). Real observers must return at once; holding is
// what a test wants here.
class StepGate : public EngineObserver {
 public:
  // The engine stops after `n` more steps, until the next HoldAfter or Open.
  void HoldAfter(int64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    limit_ = steps_ + n;
    cv_.notify_all();
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    limit_.reset();
    cv_.notify_all();
  }
  // Whether the engine reached the limit and waits in OnStep.
  bool WaitUntilHeld() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWaitLimit, [this] { return held_; });
  }
  // Every finish the engine reported, once there are at least `n`.
  std::vector<FinishReason> WaitForFinished(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, kWaitLimit, [&] { return finished_.size() >= n; });
    return finished_;
  }
  std::vector<FinishReason> finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }

  void OnStep(double /*seconds*/, int64_t /*batch_tokens*/) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++steps_;
    held_ = limit_ && steps_ >= *limit_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !limit_ || steps_ < *limit_; });
    held_ = false;
  }
  void OnFinished(FinishReason reason, double /*total_seconds*/) override {
    std::lock_guard<std::mutex> lock(mu_);
    finished_.push_back(reason);
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t steps_ = 0;
  std::optional<int64_t> limit_;
  bool held_ = false;
  std::vector<FinishReason> finished_;
};

struct HarnessOptions {
  SchedulerConfig scheduler{.max_num_seqs = 8,
                            .max_num_batched_tokens = 256,
                            .max_queued_requests = 64,
                            .enable_prefix_caching = false};
  int64_t num_blocks = 256;  // of 4 tokens
  // What validation lets through; 0: the engine's context limit (as the server does).
  int64_t max_context_tokens = 0;
  std::string api_key;
};

// The egmla.v1.Generation service as server.cc assembles it (engine, ServiceContext,
// GenerationService), on a loopback port.
class Harness {
 public:
  explicit Harness(const HarnessOptions& options = {})
      : model_(testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[3]))),
        engine_(std::make_unique<CpuModelRunner>(*model_, options.num_blocks, /*block_size=*/4),
                {.scheduler = options.scheduler}, &gate_),
        limits_{.vocab_size = model_->config().vocab_size,
                .max_context_tokens = options.max_context_tokens > 0 ? options.max_context_tokens
                                                                     : engine_.max_context_tokens(),
                .default_max_tokens = 16},
        context_(&engine_, v1::ModelInfo(), limits_, options.api_key,
                 [this](absl::StatusCode code) {
                   std::lock_guard<std::mutex> lock(mu_);
                   rejected_.push_back(code);
                 }),
        service_(&context_) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      ADD_FAILURE() << "the gRPC server did not start";
      std::abort();
    }
    stub_ = NewStub(grpc::ChannelArguments());
  }

  ~Harness() {
    gate_.Open();
    // Cancels what is still open; returns once every reactor is done.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  std::unique_ptr<v1::Generation::Stub> NewStub(const grpc::ChannelArguments& args) const {
    return v1::Generation::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials(), args));
  }

  // The engine's outputs for `request` when it is submitted directly, as the reactor submits it
  // (the request must carry a seed, so that both runs sample the same).
  std::vector<RequestOutput> RunDirectly(const v1::GenerateRequest& request) {
    absl::StatusOr<ValidatedRequest> valid = ValidateGenerateRequest(request, limits_);
    EXPECT_TRUE(valid.ok()) << valid.status();
    EXPECT_TRUE(valid->seed_given);
    auto sink = std::make_shared<CollectingSink>();
    engine_.Submit({.prompt_ids = valid->prompt_ids,
                    .sampling = valid->sampling,
                    .stopping = valid->stopping,
                    .output_options = valid->output_options,
                    .priority = valid->priority,
                    .sink = sink});
    return sink->Wait();
  }

  // The engine is idle and holds no block: every request it saw has ended and been freed.
  bool WaitForIdleEngine() {
    return WaitFor([this] {
      const EngineStats stats = engine_.Stats();
      return stats.running == 0 && stats.waiting == 0 && stats.used_blocks == 0;
    });
  }
  // No client request id is registered any more: every reactor released its id.
  bool WaitForNoCallInFlight() {
    return WaitFor([this] { return context_.num_in_flight() == 0; });
  }
  // The reactor for `request_id` has submitted its request to the engine.
  bool WaitForSubmitted(const std::string& request_id) {
    return WaitFor([&] { return context_.FindEngineId(request_id).has_value(); });
  }

  std::vector<absl::StatusCode> rejected() {
    std::lock_guard<std::mutex> lock(mu_);
    return rejected_;
  }

  v1::Generation::Stub& stub() { return *stub_; }
  StepGate& gate() { return gate_; }
  Engine& engine() { return engine_; }
  ServiceContext& context() { return context_; }

 private:
  std::unique_ptr<Model> model_;
  StepGate gate_;  // outlives the engine, which calls it
  Engine engine_;
  const ValidationLimits limits_;
  std::mutex mu_;
  std::vector<absl::StatusCode> rejected_;
  ServiceContext context_;
  GenerationService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Generation::Stub> stub_;
};

v1::GenerateRequest Request(const std::string& request_id, uint32_t max_tokens,
                            int prompt_tokens = 5) {
  v1::GenerateRequest r;
  r.set_request_id(request_id);
  for (int i = 0; i < prompt_tokens; ++i) r.mutable_token_ids()->add_ids(3 + (7 * i) % 50);
  r.mutable_sampling()->set_temperature(0.8f);
  r.mutable_sampling()->set_seed(11);
  r.mutable_stopping()->set_max_tokens(max_tokens);
  r.mutable_stopping()->set_ignore_eos(true);
  return r;
}

struct Stream {
  std::vector<v1::GenerateResponse> messages;
  grpc::Status status;
};

// Reads the stream to its end, waiting `delay` before each read.
Stream ReadToEnd(grpc::ClientReader<v1::GenerateResponse>& reader,
                 std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
  Stream stream;
  v1::GenerateResponse message;
  while (true) {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (!reader.Read(&message)) break;
    stream.messages.push_back(message);
  }
  stream.status = reader.Finish();
  return stream;
}

Stream Generate(v1::Generation::Stub& stub, const v1::GenerateRequest& request) {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader =
      stub.Generate(&context, request);
  return ReadToEnd(*reader);
}

// `messages` are the engine's `outputs`, one Chunk per output with tokens, in order, then one
// Complete with the final output's summary; each carries `request_id`.
void ExpectStreamOf(const std::vector<RequestOutput>& outputs,
                    const std::vector<v1::GenerateResponse>& messages,
                    const std::string& request_id) {
  ASSERT_FALSE(outputs.empty());
  ASSERT_FALSE(messages.empty());
  size_t m = 0;
  for (const RequestOutput& out : outputs) {
    if (out.token_ids.empty()) continue;
    ASSERT_LT(m, messages.size());
    const v1::GenerateResponse& message = messages[m++];
    SCOPED_TRACE(absl::StrCat("message ", m - 1));
    EXPECT_EQ(message.request_id(), request_id);
    ASSERT_TRUE(message.has_chunk()) << message.DebugString();
    const v1::Chunk& chunk = message.chunk();
    ASSERT_EQ(chunk.token_ids_size(), static_cast<int>(out.token_ids.size()));
    for (size_t i = 0; i < out.token_ids.size(); ++i) {
      EXPECT_EQ(chunk.token_ids(static_cast<int>(i)), static_cast<uint32_t>(out.token_ids[i]));
    }
    ASSERT_EQ(chunk.logprobs_size(), static_cast<int>(out.logprobs.size()));
    for (size_t i = 0; i < out.logprobs.size(); ++i) {
      EXPECT_EQ(chunk.logprobs(static_cast<int>(i)), out.logprobs[i]);
    }
    ASSERT_EQ(chunk.top_logprobs_size(), static_cast<int>(out.top_logprobs.size()));
    for (size_t i = 0; i < out.top_logprobs.size(); ++i) {
      const v1::TopLogprobs& top = chunk.top_logprobs(static_cast<int>(i));
      ASSERT_EQ(top.token_ids_size(), static_cast<int>(out.top_logprobs[i].token_ids.size()));
      for (int k = 0; k < top.token_ids_size(); ++k) {
        EXPECT_EQ(top.token_ids(k), static_cast<uint32_t>(out.top_logprobs[i].token_ids[k]));
        EXPECT_EQ(top.logprobs(k), out.top_logprobs[i].logprobs[k]);
      }
    }
  }
  ASSERT_EQ(messages.size(), m + 1) << "one Complete after the chunks, nothing after it";
  const v1::GenerateResponse& last = messages.back();
  EXPECT_EQ(last.request_id(), request_id);
  ASSERT_TRUE(last.has_complete()) << last.DebugString();
  const RequestOutput& final_output = outputs.back();
  ASSERT_TRUE(final_output.finished);
  EXPECT_EQ(last.complete().prompt_tokens(), static_cast<uint32_t>(final_output.prompt_tokens));
  EXPECT_EQ(last.complete().completion_tokens(),
            static_cast<uint32_t>(final_output.completion_tokens));
  EXPECT_EQ(last.complete().seed(), final_output.seed);
}

std::vector<uint32_t> TokensOf(const std::vector<v1::GenerateResponse>& messages) {
  std::vector<uint32_t> ids;
  for (const v1::GenerateResponse& m : messages) {
    if (m.has_chunk())
      ids.insert(ids.end(), m.chunk().token_ids().begin(), m.chunk().token_ids().end());
  }
  return ids;
}

TEST(GenerateReactorTest, StreamsEveryEngineOutputInOrderThenCompleteAndOk) {
  Harness h;
  v1::GenerateRequest request = Request("in-order", 40);
  request.set_return_logprobs(true);
  request.set_top_logprobs(3);
  const std::vector<RequestOutput> expected = h.RunDirectly(request);
  ASSERT_EQ(expected.back().completion_tokens, 40);

  const Stream stream = Generate(h.stub(), request);
  EXPECT_TRUE(stream.status.ok()) << stream.status.error_message();
  ExpectStreamOf(expected, stream.messages, "in-order");
  ASSERT_FALSE(stream.messages.empty());
  EXPECT_EQ(stream.messages.back().complete().finish_reason(), v1::FINISH_REASON_LENGTH);
  EXPECT_EQ(stream.messages.back().complete().prompt_tokens(), 5u);
  EXPECT_EQ(stream.messages.back().complete().seed(), 11u);
  EXPECT_THAT(h.rejected(), IsEmpty());
  EXPECT_TRUE(h.WaitForNoCallInFlight());
  EXPECT_TRUE(h.WaitForIdleEngine());
}

TEST(GenerateReactorTest, AnEmptyRequestIdIsReplacedByOneEveryMessageCarries) {
  Harness h;
  const Stream stream = Generate(h.stub(), Request("", 6));
  ASSERT_TRUE(stream.status.ok()) << stream.status.error_message();
  ASSERT_GE(stream.messages.size(), 2u);
  const std::string id = stream.messages.front().request_id();
  EXPECT_THAT(id, StartsWith("egmla-"));
  for (const v1::GenerateResponse& m : stream.messages) EXPECT_EQ(m.request_id(), id);
  EXPECT_TRUE(stream.messages.back().has_complete());
  EXPECT_EQ(TokensOf(stream.messages).size(), 6u);
  EXPECT_TRUE(h.WaitForNoCallInFlight());
}

TEST(GenerateReactorTest, ARequestIdIsFreeAgainOnceItsStreamEnded) {
  Harness h;
  for (int i = 0; i < 3; ++i) {
    const Stream stream = Generate(h.stub(), Request("reused", 3));
    EXPECT_TRUE(stream.status.ok()) << i << ": " << stream.status.error_message();
  }
  EXPECT_THAT(h.rejected(), IsEmpty());
}

TEST(GenerateReactorTest, ClientCancelMidStreamAbortsTheEngineRequestAndFreesItsBlocks) {
  Harness h;
  h.gate().HoldAfter(2);  // the prefill step and one decode step, then the engine waits
  grpc::ClientContext context;
  auto reader = h.stub().Generate(&context, Request("cancelled", 200, 30));
  v1::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));
  ASSERT_TRUE(first.has_chunk());
  ASSERT_TRUE(h.gate().WaitUntilHeld());
  ASSERT_GT(h.engine().Stats().used_blocks, 0) << "the request holds blocks while it runs";

  context.TryCancel();
  // OnCancel asks the engine to abort, then the call ends and releases its id.
  ASSERT_TRUE(h.WaitForNoCallInFlight());
  const Stream rest = ReadToEnd(*reader);
  EXPECT_EQ(rest.status.error_code(), grpc::StatusCode::CANCELLED);
  for (const v1::GenerateResponse& m : rest.messages) EXPECT_FALSE(m.has_complete());

  h.gate().Open();  // the next step sees the abort
  EXPECT_THAT(h.gate().WaitForFinished(1), ElementsAre(FinishReason::kAborted));
  EXPECT_TRUE(h.WaitForIdleEngine());
  EXPECT_EQ(h.engine().Stats().generation_tokens, 2) << "nothing was generated after the cancel";
  EXPECT_THAT(h.rejected(), IsEmpty());
}

TEST(GenerateReactorTest, CancelBeforeTheFirstTokenAbortsTheWaitingRequest) {
  Harness h;
  h.gate().HoldAfter(1);
  // A first request occupies the engine so that the second is still in the engine's hands
  // (submitted, no token yet) when its client cancels.
  grpc::ClientContext busy_context;
  auto busy = h.stub().Generate(&busy_context, Request("busy", 3));
  ASSERT_TRUE(h.gate().WaitUntilHeld());

  grpc::ClientContext context;
  auto reader = h.stub().Generate(&context, Request("early", 50));
  ASSERT_TRUE(h.WaitForSubmitted("early"));
  context.TryCancel();
  const Stream cancelled = ReadToEnd(*reader);
  EXPECT_EQ(cancelled.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_THAT(cancelled.messages, IsEmpty());
  ASSERT_TRUE(WaitFor([&] { return !h.context().FindEngineId("early").has_value(); }));

  h.gate().Open();
  const Stream finished = ReadToEnd(*busy);
  EXPECT_TRUE(finished.status.ok()) << finished.status.error_message();
  EXPECT_EQ(TokensOf(finished.messages).size(), 3u);
  const std::vector<FinishReason> reasons = h.gate().WaitForFinished(2);
  EXPECT_THAT(reasons,
              ::testing::UnorderedElementsAre(FinishReason::kAborted, FinishReason::kLength));
  EXPECT_TRUE(h.WaitForIdleEngine());
  EXPECT_TRUE(h.WaitForNoCallInFlight());
}

TEST(GenerateReactorTest, APassedDeadlineAbortsTheEngineRequest) {
  Harness h;
  h.gate().HoldAfter(1);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  auto reader = h.stub().Generate(&context, Request("deadline", 200));
  ASSERT_TRUE(h.WaitForSubmitted("deadline"));
  const Stream stream = ReadToEnd(*reader);  // the first chunk, then the deadline
  EXPECT_EQ(stream.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LE(stream.messages.size(), 1u);
  ASSERT_TRUE(h.WaitForNoCallInFlight());

  h.gate().Open();
  EXPECT_THAT(h.gate().WaitForFinished(1), ElementsAre(FinishReason::kAborted));
  EXPECT_TRUE(h.WaitForIdleEngine());
}

TEST(GenerateReactorTest, AbortEndsTheStreamWithCompleteAbortedAndOk) {
  Harness h;
  h.gate().HoldAfter(1);
  grpc::ClientContext context;
  auto reader = h.stub().Generate(&context, Request("to-abort", 200));
  v1::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));
  ASSERT_TRUE(first.has_chunk());

  grpc::ClientContext abort_context;
  v1::AbortRequest abort;
  abort.set_request_id("to-abort");
  v1::AbortResponse response;
  const grpc::Status aborted = h.stub().Abort(&abort_context, abort, &response);
  ASSERT_TRUE(aborted.ok()) << aborted.error_message();

  h.gate().Open();
  const Stream rest = ReadToEnd(*reader);
  EXPECT_TRUE(rest.status.ok()) << rest.status.error_message();
  ASSERT_EQ(rest.messages.size(), 1u) << "the abort lands before the next step";
  ASSERT_TRUE(rest.messages[0].has_complete());
  EXPECT_EQ(rest.messages[0].request_id(), "to-abort");
  EXPECT_EQ(rest.messages[0].complete().finish_reason(), v1::FINISH_REASON_ABORTED);
  EXPECT_EQ(rest.messages[0].complete().completion_tokens(), 1u);
  EXPECT_TRUE(h.WaitForIdleEngine());
  EXPECT_TRUE(h.WaitForNoCallInFlight());

  grpc::ClientContext again_context;
  const grpc::Status again = h.stub().Abort(&again_context, abort, &response);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(GenerateReactorTest, AFullEngineQueueIsResourceExhausted) {
  HarnessOptions options;
  options.scheduler.max_num_seqs = 1;
  options.scheduler.max_queued_requests = 1;
  Harness h(options);
  h.gate().HoldAfter(1);
  grpc::ClientContext running_context;
  auto running = h.stub().Generate(&running_context, Request("running", 4));
  ASSERT_TRUE(h.gate().WaitUntilHeld());
  // While the engine is held, two more arrive: the first fills the waiting queue.
  grpc::ClientContext waiting_context;
  auto waiting = h.stub().Generate(&waiting_context, Request("waiting", 4));
  ASSERT_TRUE(h.WaitForSubmitted("waiting"));
  grpc::ClientContext refused_context;
  auto refused = h.stub().Generate(&refused_context, Request("refused", 4));
  ASSERT_TRUE(h.WaitForSubmitted("refused"));
  h.gate().Open();

  const Stream refused_stream = ReadToEnd(*refused);
  EXPECT_EQ(refused_stream.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused_stream.status.error_message(), HasSubstr("queue full"));
  EXPECT_THAT(refused_stream.messages, IsEmpty());
  for (auto* reader : {running.get(), waiting.get()}) {
    const Stream s = ReadToEnd(*reader);
    EXPECT_TRUE(s.status.ok()) << s.status.error_message();
    EXPECT_EQ(TokensOf(s.messages).size(), 4u);
  }
  EXPECT_THAT(h.rejected(), ElementsAre(absl::StatusCode::kResourceExhausted));
  EXPECT_TRUE(h.WaitForNoCallInFlight());
  EXPECT_TRUE(h.WaitForIdleEngine());
}

TEST(GenerateReactorTest, AnEngineRefusalIsItsCodeWithItsMessage) {
  // Validation admits prompts the KV cache cannot hold (the server never configures this; here
  // it makes the engine, not validation, refuse).
  HarnessOptions options;
  options.num_blocks = 4;  // 16 tokens
  options.max_context_tokens = 512;
  Harness h(options);
  const Stream stream = Generate(h.stub(), Request("too-long", 4, /*prompt_tokens=*/20));
  EXPECT_EQ(stream.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(stream.status.error_message(), HasSubstr("prompt of 20 tokens"));
  EXPECT_THAT(stream.messages, IsEmpty());
  EXPECT_THAT(h.rejected(), ElementsAre(absl::StatusCode::kInvalidArgument));
}

// Regression (failed within a few calls before the fix): GenerateReactor::Start called
// ServiceContext::SetEngineId after Engine::Submit; when the engine answers first (a refusal is
// pushed as soon as the engine thread takes the submission), the call had already finished and
// released its id in Pump, and SetEngineId (`in_flight_[id] = ...`) registered it again for good:
// later calls with that id get ALREADY_EXISTS, Abort of it answers OK, and num_in_flight() never
// returns to 0 (a drain waits its whole --drain-timeout).
TEST(GenerateReactorTest, AnIdIsFreeAgainAfterTheEngineRefusedItsRequest) {
  HarnessOptions options;
  options.num_blocks = 4;
  options.max_context_tokens = 512;
  Harness h(options);
  for (int i = 0; i < 30; ++i) {
    const Stream stream = Generate(h.stub(), Request("refused", 4, /*prompt_tokens=*/20));
    ASSERT_EQ(stream.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "call " << i << ": " << stream.status.error_message();
    ASSERT_TRUE(WaitFor([&] { return h.context().num_in_flight() == 0; }))
        << "call " << i << " left its id registered, with engine id "
        << h.context().FindEngineId("refused").value_or(0);
  }
}

// Regression (11-18 false refusals in 20 before the fix): a call its client cancels right after
// starting it can reach Generate without its request (the raw ByteBuffer is not Valid()), which
// parsed as an empty GenerateRequest and was counted as an INVALID_ARGUMENT refusal
// (egmla_requests_rejected_total) though nobody was refused.
TEST(GenerateReactorTest, ACallCancelledBeforeItsRequestArrivedIsNoRefusal) {
  Harness h;
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext context;
    auto reader = h.stub().Generate(&context, Request(absl::StrCat("gone-", i), 5));
    context.TryCancel();
    EXPECT_EQ(ReadToEnd(*reader).status.error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(h.WaitForNoCallInFlight());
  EXPECT_THAT(h.rejected(), IsEmpty());
}

TEST(GenerateReactorTest, RefusalsAreTheDocumentedCodesAndSendNoMessage) {
  Harness h;
  struct Case {
    std::string name;
    v1::GenerateRequest request;
    grpc::StatusCode code;
    std::string names;  // the field or reason the message must name
  };
  std::vector<Case> cases;
  v1::GenerateRequest empty = Request("empty", 4);
  empty.clear_token_ids();
  cases.push_back({"no input", empty, grpc::StatusCode::INVALID_ARGUMENT, "input"});
  v1::GenerateRequest out_of_vocab = Request("vocab", 4);
  out_of_vocab.mutable_token_ids()->add_ids(61);
  cases.push_back({"token id out of vocab", out_of_vocab, grpc::StatusCode::INVALID_ARGUMENT,
                   "token_ids.ids[5]"});
  v1::GenerateRequest too_long = Request("long", 4, /*prompt_tokens=*/512);
  cases.push_back(
      {"prompt fills the context", too_long, grpc::StatusCode::INVALID_ARGUMENT, "token_ids"});
  v1::GenerateRequest text = Request("text", 4);
  text.set_text("hello");
  cases.push_back(
      {"text without a tokenizer", text, grpc::StatusCode::FAILED_PRECONDITION, "text"});
  v1::GenerateRequest stop = Request("stop", 4);
  stop.mutable_stopping()->add_stop_sequences("x");
  cases.push_back({"stop sequences without a tokenizer", stop,
                   grpc::StatusCode::FAILED_PRECONDITION, "stop_sequences"});
  std::vector<absl::StatusCode> expected_rejected;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Stream stream = Generate(h.stub(), c.request);
    EXPECT_EQ(stream.status.error_code(), c.code) << stream.status.error_message();
    EXPECT_THAT(stream.status.error_message(), HasSubstr(c.names));
    EXPECT_THAT(stream.messages, IsEmpty());
    expected_rejected.push_back(static_cast<absl::StatusCode>(c.code));
  }
  EXPECT_EQ(h.rejected(), expected_rejected);
  EXPECT_EQ(h.context().num_in_flight(), 0u);
  EXPECT_THAT(h.gate().finished(), IsEmpty()) << "nothing refused reached the engine";
}

TEST(GenerateReactorTest, ARequestIdInFlightIsAlreadyExists) {
  Harness h;
  h.gate().HoldAfter(1);
  grpc::ClientContext context;
  auto first = h.stub().Generate(&context, Request("twice", 3));
  ASSERT_TRUE(h.WaitForSubmitted("twice"));
  const Stream second = Generate(h.stub(), Request("twice", 3));
  EXPECT_EQ(second.status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(second.status.error_message(), HasSubstr("twice"));
  EXPECT_THAT(second.messages, IsEmpty());
  // The refusal does not release the id the first call holds.
  EXPECT_TRUE(h.context().FindEngineId("twice").has_value());

  h.gate().Open();
  const Stream first_stream = ReadToEnd(*first);
  EXPECT_TRUE(first_stream.status.ok()) << first_stream.status.error_message();
  EXPECT_EQ(TokensOf(first_stream.messages).size(), 3u);
  EXPECT_THAT(h.rejected(), ElementsAre(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(h.gate().WaitForFinished(1), ElementsAre(FinishReason::kLength));
}

TEST(GenerateReactorTest, ADrainingServerRefusesNewCallsWithUnavailable) {
  Harness h;
  h.context().drain_gate().BeginDrain();
  const Stream stream = Generate(h.stub(), Request("late", 3));
  EXPECT_EQ(stream.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(stream.messages, IsEmpty());
  EXPECT_THAT(h.rejected(), ElementsAre(absl::StatusCode::kUnavailable));
  EXPECT_EQ(h.context().num_in_flight(), 0u);
}

TEST(GenerateReactorTest, WithAnApiKeyOnlyCallsThatCarryItAreServed) {
  HarnessOptions options;
  options.api_key = "sesame";
  Harness h(options);
  const Stream missing = Generate(h.stub(), Request("no-key", 3));
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(missing.messages, IsEmpty());
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer wrong");
    auto reader = h.stub().Generate(&context, Request("wrong-key", 3));
    const Stream wrong = ReadToEnd(*reader);
    EXPECT_EQ(wrong.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(wrong.status.error_message(), ::testing::Not(HasSubstr("sesame")));
  }
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer sesame");
  auto reader = h.stub().Generate(&context, Request("key", 3));
  const Stream served = ReadToEnd(*reader);
  EXPECT_TRUE(served.status.ok()) << served.status.error_message();
  EXPECT_EQ(TokensOf(served.messages).size(), 3u);
  EXPECT_THAT(h.rejected(),
              ElementsAre(absl::StatusCode::kUnauthenticated, absl::StatusCode::kUnauthenticated));
}

// The client's HTTP/2 window is small and the client does not read until the engine has
// finished: the reactor holds the rest of the stream (one write in flight, the others queued)
// and delivers all of it, in order, as the client catches up.
TEST(GenerateReactorTest, ASlowReaderGetsEveryMessageInOrder) {
  Harness h;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  std::unique_ptr<v1::Generation::Stub> slow_stub = h.NewStub(args);

  v1::GenerateRequest request = Request("slow", 300);
  request.set_return_logprobs(true);
  request.set_top_logprobs(20);  // ~0.2 KB per chunk: the stream is ~60 KB
  const std::vector<RequestOutput> expected = h.RunDirectly(request);

  grpc::ClientContext context;
  auto reader = slow_stub->Generate(&context, request);
  ASSERT_THAT(h.gate().WaitForFinished(2),
              ElementsAre(FinishReason::kLength, FinishReason::kLength));
  // The engine is done with the request; the client has read nothing, so the call cannot have
  // ended: its messages wait in the reactor.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(h.context().num_in_flight(), 1u)
      << "the stream fit in the client's window: this test exercises no back-pressure";

  const Stream stream = ReadToEnd(*reader, std::chrono::milliseconds(1));
  EXPECT_TRUE(stream.status.ok()) << stream.status.error_message();
  ExpectStreamOf(expected, stream.messages, "slow");
  EXPECT_EQ(TokensOf(stream.messages).size(), 300u);
  EXPECT_TRUE(h.WaitForNoCallInFlight());
}

// Many streams at once, some read to the end, some cancelled at varying points: every call ends,
// every engine request ends and frees its blocks, and no id stays registered.
TEST(GenerateReactorTest, ConcurrentStreamsAndCancelsAllEndCleanly) {
  Harness h;
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 6;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> failures;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<uint32_t>(t));
      for (int i = 0; i < kCallsPerThread; ++i) {
        const std::string id = absl::StrCat("c", t, "-", i);
        const uint32_t max_tokens = 5 + rng() % 30;
        const bool cancel = (i + t) % 2 == 0;
        // After at least one message, so that every cancelled call was admitted first.
        const size_t cancel_after = 1 + rng() % 4;
        grpc::ClientContext context;
        auto reader = h.stub().Generate(&context, Request(id, max_tokens, 1 + rng() % 20));
        std::string failure;
        if (cancel) {
          v1::GenerateResponse message;
          for (size_t n = 0; n < cancel_after && reader->Read(&message); ++n) {
          }
          context.TryCancel();
          const Stream rest = ReadToEnd(*reader);
          // OK only when the whole stream had already arrived before the cancel.
          if (rest.status.error_code() != grpc::StatusCode::CANCELLED && !rest.status.ok()) {
            failure = absl::StrCat(id, ": cancelled call ended with ", rest.status.error_code());
          }
        } else {
          const Stream s = ReadToEnd(*reader);
          if (!s.status.ok()) {
            failure = absl::StrCat(id, ": ", s.status.error_message());
          } else if (TokensOf(s.messages).size() != max_tokens ||
                     !s.messages.back().has_complete() ||
                     s.messages.back().complete().completion_tokens() != max_tokens) {
            failure = absl::StrCat(id, ": incomplete stream of ", s.messages.size());
          }
        }
        if (!failure.empty()) {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(failure);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(failures, IsEmpty());
  EXPECT_TRUE(h.WaitForNoCallInFlight()) << h.context().num_in_flight() << " ids still held";
  EXPECT_TRUE(h.WaitForIdleEngine());
  EXPECT_EQ(h.gate().WaitForFinished(kThreads * kCallsPerThread).size(),
            static_cast<size_t>(kThreads * kCallsPerThread));
  EXPECT_THAT(h.rejected(), IsEmpty());
}

}  // namespace
}  // namespace egmla
