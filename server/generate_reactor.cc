#include "server/generate_reactor.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/grpc_status.h"
#include "server/random_u64.h"
#include "server/request_parsing.h"
#include "server/tsan_annotations.h"
#include "spdlog/spdlog.h"

namespace egmla {
namespace {

v1::FinishReason ToProto(FinishReason reason) {
  switch (reason) {
    case FinishReason::kLength:
      return v1::FINISH_REASON_LENGTH;
    case FinishReason::kStop:
      return v1::FINISH_REASON_STOP;
    case FinishReason::kStopSequence:
      return v1::FINISH_REASON_STOP_SEQUENCE;
    case FinishReason::kAborted:
      return v1::FINISH_REASON_ABORTED;
    case FinishReason::kContextLimit:
      return v1::FINISH_REASON_CONTEXT_LIMIT;
    case FinishReason::kNone:
      break;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

}  // namespace

// The engine's handle on the call. It outlives the reactor when the call ends first; then
// outputs are dropped.
class GenerateReactor::Sink : public OutputSink {
 public:
  explicit Sink(GenerateReactor* reactor) : reactor_(reactor) {}
  void Push(RequestOutput output) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (reactor_ != nullptr) reactor_->Deliver(output);
  }
  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
  }

 private:
  std::mutex mu_;
  GenerateReactor* reactor_;
};

GenerateReactor::GenerateReactor(ServiceContext* service, std::string request_id)
    : service_(service), request_id_(std::move(request_id)) {}

GenerateReactor* GenerateReactor::Start(ServiceContext* service,
                                        grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer& raw_request) {
  GenerateReactor* reactor = Create(service, context, raw_request);
  // gRPC binds the reactor once the handler returned it; its reactions run after that.
  EGMLA_HAPPENS_BEFORE(&reactor->grpc_order_.started);
  return reactor;
}

GenerateReactor* GenerateReactor::Create(ServiceContext* service,
                                         grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer& raw_request) {
  auto refuse = [&](const absl::Status& status) {
    service->Rejected(status.code());
    auto* reactor = new GenerateReactor(service, "");
    reactor->FinishWith(ToGrpcStatus(status));
    return reactor;
  };
  if (!raw_request.Valid()) {  // no request arrived (the client cancelled first): no refusal
    auto* reactor = new GenerateReactor(service, "");
    reactor->FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
    return reactor;
  }
  if (absl::Status auth = service->Authenticate(*context); !auth.ok()) return refuse(auth);
  absl::StatusOr<v1::GenerateRequest> parsed = ParseGenerateRequest(BufferBytes(raw_request));
  if (!parsed.ok()) return refuse(parsed.status());
  const v1::GenerateRequest& request = *parsed;
  if (service->drain_gate().Refuses(static_cast<const grpc::ServerContextBase*>(context),
                                    context->peer())) {
    return refuse(absl::UnavailableError("the server is draining; retry on another replica"));
  }
  absl::StatusOr<ValidatedRequest> valid = ValidateGenerateRequest(request, service->limits());
  if (!valid.ok()) return refuse(valid.status());
  std::string request_id =
      valid->request_id.empty() ? absl::StrFormat("egmla-%016x", RandomU64()) : valid->request_id;
  if (absl::Status claimed = service->Register(request_id); !claimed.ok()) {
    return refuse(claimed);
  }

  auto* reactor = new GenerateReactor(service, request_id);
  reactor->registered_ = true;
  reactor->sink_ = std::make_shared<Sink>(reactor);
  SamplingParams sampling = valid->sampling;
  if (!valid->seed_given) sampling.seed = RandomU64();
  reactor->engine_id_ =
      service->engine().Submit({.prompt_ids = std::move(valid->prompt_ids),
                                .sampling = sampling,
                                .stopping = valid->stopping,
                                .output_options = valid->output_options,
                                .priority = valid->priority,
                                .stop_sequences = std::move(valid->stop_sequences),
                                .sink = reactor->sink_});
  reactor->submitted_ = true;
  {
    // The engine may have answered already (a refusal, a quick finish) and the call released
    // its id in Pump: recording the engine id then would register the id again for good.
    std::lock_guard<std::mutex> lock(reactor->mu_);
    if (!reactor->finished_) service->SetEngineId(request_id, reactor->engine_id_);
  }
  return reactor;
}

void GenerateReactor::Deliver(const RequestOutput& output) {
  if (!output.error.ok()) {
    service_->Rejected(output.error.code());
    FinishWith(ToGrpcStatus(output.error));
    return;
  }
  if (!output.token_ids.empty() || !output.text.empty()) {
    v1::GenerateResponse message;
    message.set_request_id(request_id_);
    v1::Chunk* chunk = message.mutable_chunk();
    for (int32_t id : output.token_ids) chunk->add_token_ids(static_cast<uint32_t>(id));
    chunk->set_text(output.text);
    for (float lp : output.logprobs) chunk->add_logprobs(lp);
    for (const TopLogprobs& top : output.top_logprobs) {
      v1::TopLogprobs* t = chunk->add_top_logprobs();
      for (int32_t id : top.token_ids) t->add_token_ids(static_cast<uint32_t>(id));
      for (float lp : top.logprobs) t->add_logprobs(lp);
    }
    Enqueue(std::move(message), /*last=*/false);
  }
  if (!output.finished) return;
  v1::GenerateResponse message;
  message.set_request_id(request_id_);
  v1::Complete* complete = message.mutable_complete();
  complete->set_finish_reason(ToProto(output.finish_reason));
  complete->set_prompt_tokens(static_cast<uint32_t>(output.prompt_tokens));
  complete->set_completion_tokens(static_cast<uint32_t>(output.completion_tokens));
  complete->set_cached_tokens(static_cast<uint32_t>(output.cached_tokens));
  for (float lp : output.prompt_logprobs) complete->add_prompt_logprobs(lp);
  complete->mutable_timing()->set_queue_seconds(output.queue_seconds);
  complete->mutable_timing()->set_time_to_first_token_seconds(output.time_to_first_token_seconds);
  complete->mutable_timing()->set_total_seconds(output.total_seconds);
  if (!output.matched_stop_sequence.empty()) {
    complete->set_matched_stop(output.matched_stop_sequence);
  } else if (output.matched_stop_token_id) {
    complete->set_matched_stop(absl::StrCat(*output.matched_stop_token_id));
  }
  complete->set_seed(output.seed);
  // One line per finished request; never the prompt at info level.
  spdlog::info(
      "request finished: id={} prompt_tokens={} completion_tokens={} ttft_s={:.4f} "
      "total_s={:.4f} finish_reason={}",
      request_id_, output.prompt_tokens, output.completion_tokens,
      output.time_to_first_token_seconds, output.total_seconds,
      FinishReasonName(output.finish_reason));
  Enqueue(std::move(message), /*last=*/true);
}

void GenerateReactor::Enqueue(v1::GenerateResponse message, bool last) {
  grpc::ByteBuffer bytes = ToBuffer(message);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || finish_ || cancelled_) return;
    queue_.push_back(std::move(bytes));
    if (last) finish_ = grpc::Status::OK;
  }
  Pump();
}

void GenerateReactor::FinishWith(const grpc::Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || finish_) return;
    if (!status.ok()) queue_.clear();  // an error ends the stream now
    finish_ = status;
  }
  Pump();
}

void GenerateReactor::Pump() {
  bool write = false;
  std::optional<grpc::Status> finish;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (writing_ || finished_) return;
    if (!queue_.empty()) {
      in_flight_ = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      write = true;
    } else if (finish_) {
      finished_ = true;
      finish = finish_;
    }
  }
  if (write) {
    EGMLA_HAPPENS_BEFORE(&grpc_order_.write);
    StartWrite(&in_flight_);
  } else if (finish) {
    // The id is free again before the client can see the end of its stream.
    Unregister();
    EGMLA_HAPPENS_BEFORE(&grpc_order_.finish);
    Finish(*finish);
  }
}

void GenerateReactor::OnWriteDone(bool ok) {
  EGMLA_HAPPENS_AFTER(&grpc_order_.started);
  EGMLA_HAPPENS_AFTER(&grpc_order_.write);
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {  // the client is gone: nothing more can be written
      queue_.clear();
      if (!finish_) finish_ = grpc::Status(grpc::StatusCode::CANCELLED, "stream write failed");
    }
  }
  Pump();
  EGMLA_HAPPENS_BEFORE(&grpc_order_.reacted);
}

void GenerateReactor::OnCancel() {
  EGMLA_HAPPENS_AFTER(&grpc_order_.started);
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    queue_.clear();
    if (!finish_) finish_ = grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled");
  }
  // Frees the request's blocks at the engine's next step.
  if (submitted_) service_->engine().Abort(engine_id_);
  Pump();
  EGMLA_HAPPENS_BEFORE(&grpc_order_.reacted);
}

void GenerateReactor::Unregister() {
  if (registered_.exchange(false)) service_->Unregister(request_id_);
}

void GenerateReactor::OnDone() {
  // gRPC calls OnDone last: after the handler, every write, the Finish and every reaction.
  EGMLA_HAPPENS_AFTER(&grpc_order_.started);
  EGMLA_HAPPENS_AFTER(&grpc_order_.write);
  EGMLA_HAPPENS_AFTER(&grpc_order_.finish);
  EGMLA_HAPPENS_AFTER(&grpc_order_.reacted);
  if (sink_) sink_->Detach();  // after this no Deliver can reach us
  Unregister();
  delete this;
}

}  // namespace egmla
