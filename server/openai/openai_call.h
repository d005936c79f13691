// One accepted OpenAI request in flight: the engine's sink for it, which answers through the
// HTTP responder — the whole JSON body once the request finished, or server-sent events as tokens
// come. A client that leaves aborts the request (its blocks are freed at the next step).
//
// Threading: Push runs on the engine thread; the responder posts to the connection's thread.
#ifndef EGMLA_SERVER_OPENAI_OPENAI_CALL_H_
#define EGMLA_SERVER_OPENAI_OPENAI_CALL_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "engine/request_output.h"
#include "server/http/http_server.h"
#include "server/openai/openai_response.h"
#include "server/service_context.h"

namespace egmla {

// Told once per HTTP request when its answer ended: the endpoint and the status sent (499 when
// the client left before any).
using HttpRequestObserver = std::function<void(const std::string& endpoint, int status)>;

class OpenAiCall : public OutputSink {
 public:
  // REQUIRES: `request_id` registered in `service` (released when the call ends); `service`
  // outlives the call.
  OpenAiCall(ServiceContext* service, std::string endpoint, bool stream, OpenAiAnswerSpec spec,
             std::shared_ptr<HttpResponder> responder, HttpRequestObserver observer);

  // Submits `request` to the engine and arranges the abort when the client leaves.
  static void Submit(std::shared_ptr<OpenAiCall> call, EngineRequest request);

  void Push(RequestOutput output) override;

 private:
  void Fail(const absl::Status& error);
  // Ends the call: one log line, the observer told, `send_last` (the answer's last bytes to the
  // client), then the id released.
  void Finish(int status, const RequestOutput* final_output, absl::FunctionRef<void()> send_last);

  ServiceContext* const service_;
  const std::string endpoint_;
  const std::string request_id_;
  const bool stream_;
  const std::shared_ptr<HttpResponder> responder_;
  const HttpRequestObserver observer_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  OpenAiAnswer answer_;
  bool started_ = false;  // the stream's headers went out
  std::atomic<bool> finished_{false};
  std::mutex submit_mu_;  // orders SetEngineId against a quick Finish
};

}  // namespace egmla

#endif  // EGMLA_SERVER_OPENAI_OPENAI_CALL_H_
