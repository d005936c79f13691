#include "load-tests/stream_client.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"

namespace egmla::loadgen {
namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// FINISH_REASON_LENGTH -> "LENGTH".
std::string FinishReasonName(egmla::v1::FinishReason reason) {
  std::string name = egmla::v1::FinishReason_Name(reason);
  constexpr char kPrefix[] = "FINISH_REASON_";
  if (absl::StartsWith(name, kPrefix)) name = name.substr(sizeof(kPrefix) - 1);
  return name.empty() ? std::to_string(static_cast<int>(reason)) : name;
}

}  // namespace

GenerateCall::GenerateCall(int64_t index, egmla::v1::GenerateRequest request,
                           Clock::time_point run_start, egmla::v1::Generation::Stub* stub,
                           const cli::Connection* connection, CallListener* listener)
    : request_(std::move(request)),
      run_start_(run_start),
      stub_(stub),
      connection_(connection),
      listener_(listener) {
  record_.index = index;
  record_.request_id = request_.request_id();
  record_.input_tokens = request_.has_token_ids() ? request_.token_ids().ids_size() : 0;
}

void GenerateCall::Start() {
  connection_->Prepare(&context_);
  stub_->async()->Generate(&context_, &request_, this);
  StartRead(&response_);
  start_ = Clock::now();
  record_.start_s = Seconds(start_ - run_start_);
  StartCall();
}

void GenerateCall::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended; OnDone follows
  OnResponse(Clock::now());
  StartRead(&response_);
}

void GenerateCall::OnResponse(Clock::time_point now) {
  if (response_.has_chunk()) {
    const int num_tokens = response_.chunk().token_ids_size();
    if (num_tokens == 0) return;
    if (!record_.ttft_s) {
      record_.ttft_s = Seconds(now - start_);
    } else {
      const double gap = Seconds(now - last_chunk_) / num_tokens;
      record_.itl_s.insert(record_.itl_s.end(), static_cast<size_t>(num_tokens), gap);
    }
    last_chunk_ = now;
    record_.output_tokens += num_tokens;
    listener_->OnTokens(num_tokens);
  } else if (response_.has_complete()) {
    const egmla::v1::Complete& complete = response_.complete();
    record_.completion_tokens = complete.completion_tokens();
    record_.input_tokens = complete.prompt_tokens();
    record_.finish_reason = FinishReasonName(complete.finish_reason());
  }
}

void GenerateCall::OnDone(const grpc::Status& status) {
  record_.e2e_s = Seconds(Clock::now() - start_);
  record_.status = cli::StatusCodeName(status.error_code());
  record_.error_message = status.error_message();
  // The listener may destroy this call once told: nothing of `this` is touched after it.
  CallListener* listener = listener_;
  listener->OnCallDone(std::move(record_));
}

std::unique_ptr<Call> GrpcCallFactory::NewCall(const RequestSpec& spec, const RequestParams& params,
                                               Clock::time_point run_start,
                                               CallListener* listener) {
  return std::make_unique<GenerateCall>(spec.index, ToGenerateRequest(spec, params), run_start,
                                        &stub_, connection_, listener);
}

}  // namespace egmla::loadgen
