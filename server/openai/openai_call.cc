#include "server/openai/openai_call.h"

#include "server/openai/openai_error.h"
#include "spdlog/spdlog.h"

namespace egmla {

OpenAiCall::OpenAiCall(ServiceContext* service, std::string endpoint, bool stream,
                       OpenAiAnswerSpec spec, std::shared_ptr<HttpResponder> responder,
                       HttpRequestObserver observer)
    : service_(service),
      endpoint_(std::move(endpoint)),
      request_id_(spec.id),
      stream_(stream),
      responder_(std::move(responder)),
      observer_(std::move(observer)),
      answer_(std::move(spec)) {}

void OpenAiCall::Submit(std::shared_ptr<OpenAiCall> call, EngineRequest request) {
  request.sink = call;
  Engine& engine = call->service_->engine();
  const RequestId engine_id = engine.Submit(std::move(request));
  {
    // The engine may have answered already and the call released its id: recording the engine
    // id then would register the id again for good.
    std::lock_guard<std::mutex> lock(call->submit_mu_);
    if (!call->finished_) call->service_->SetEngineId(call->request_id_, engine_id);
  }
  // Runs at once when the client left already. Abort of a finished request does nothing.
  call->responder_->OnClientGone([&engine, engine_id] { engine.Abort(engine_id); });
}

void OpenAiCall::Push(RequestOutput output) {
  if (!output.error.ok()) return Fail(output.error);
  if (!stream_) {
    answer_.Add(output);
    if (!output.finished) return;
    return Finish(200, &output, [&] {
      responder_->Respond(
          {.status = 200, .content_type = "application/json", .body = answer_.Body()});
    });
  }
  std::string events = answer_.StreamEvents(output);
  if (!started_) {
    // The headers wait for the first output, so that a refusal (a full queue) is still an
    // HTTP status rather than an event in a 200 stream.
    started_ = true;
    responder_->StartStream({.status = 200,
                             .content_type = "text/event-stream",
                             .headers = {{"Cache-Control", "no-cache"},
                                         // nginx passes the events on as they come
                                         {"X-Accel-Buffering", "no"}},
                             .body = std::move(events)});
  } else if (!events.empty()) {
    responder_->Write(std::move(events));
  }
  if (!output.finished) return;
  Finish(200, &output, [&] { responder_->End(); });
}

void OpenAiCall::Fail(const absl::Status& error) {
  service_->Rejected(error.code());
  const OpenAiError answer =
      ToOpenAiError(error, endpoint_ == "/v1/chat/completions" ? OpenAiEndpoint::kChatCompletions
                                                               : OpenAiEndpoint::kCompletions);
  if (started_) {  // the stream is open: the error goes as an event
    responder_->Write(OpenAiAnswer::StreamError(OpenAiErrorJson(answer)));
    return Finish(200, nullptr, [&] { responder_->End(); });
  }
  spdlog::info("request refused: id={} api=openai endpoint={} status={} message={}", request_id_,
               endpoint_, answer.http_status, answer.message);
  Finish(answer.http_status, nullptr, [&] { responder_->Respond(OpenAiErrorResponse(answer)); });
}

void OpenAiCall::Finish(int status, const RequestOutput* final_output,
                        absl::FunctionRef<void()> send_last) {
  {
    // Set before the id is released, so that Submit never records an engine id after it.
    std::lock_guard<std::mutex> lock(submit_mu_);
    finished_ = true;
  }
  // nginx's 499: the client closed the connection before the answer.
  const int reported = responder_->client_gone() && !started_ ? 499 : status;
  if (final_output != nullptr) {
    // One line per finished request, as the gRPC API logs; never the prompt at info level.
    spdlog::info(
        "request finished: id={} api=openai endpoint={} status={} prompt_tokens={} "
        "completion_tokens={} ttft_s={:.4f} total_s={:.4f} finish_reason={}",
        request_id_, endpoint_, reported, final_output->prompt_tokens,
        final_output->completion_tokens, final_output->time_to_first_token_seconds,
        final_output->total_seconds, FinishReasonName(final_output->finish_reason));
  }
  if (observer_) observer_(endpoint_, reported);
  // After the log line and the count: a client that has its answer finds the request logged
  // and counted.
  send_last();
  // Last: whoever waits for nothing in flight (the drain, tests) then finds this request logged
  // and counted.
  service_->Unregister(request_id_);
}

}  // namespace egmla
