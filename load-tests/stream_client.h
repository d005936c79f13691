// One Generate stream on gRPC's callback API, timed as it arrives.
#ifndef EGMLA_LOAD_TESTS_STREAM_CLIENT_H_
#define EGMLA_LOAD_TESTS_STREAM_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>

#include "egmla/v1/generation.grpc.pb.h"
#include "load-tests/request_record.h"
#include "tools/client_channel.h"

namespace egmla::loadgen {

using Clock = std::chrono::steady_clock;

// Told about a call's progress. Called on gRPC's threads: must be thread-safe and must not block
// for long.
class CallListener {
 public:
  virtual ~CallListener() = default;
  // A chunk with `num_tokens` tokens arrived.
  virtual void OnTokens(int64_t num_tokens) = 0;
  // The call finished. Called once, last; the call must not be destroyed before this returns.
  virtual void OnCallDone(RequestRecord record) = 0;
};

// The owner destroys it only after the listener's OnCallDone for it has returned.
class GenerateCall final : public grpc::ClientReadReactor<egmla::v1::GenerateResponse> {
 public:
  // `run_start` is when the load run began (RequestRecord::start_s counts from it);
  // `listener` must outlive the call.
  GenerateCall(int64_t index, egmla::v1::GenerateRequest request, Clock::time_point run_start,
               CallListener* listener);

  // Sends the request. Call once.
  void Start(egmla::v1::Generation::Stub* stub, const cli::Connection& connection);
  // Cancels the call if it still runs (it then finishes with CANCELLED). Thread-safe.
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void OnResponse(Clock::time_point now);

  grpc::ClientContext context_;
  egmla::v1::GenerateRequest request_;
  egmla::v1::GenerateResponse response_;
  Clock::time_point run_start_;
  Clock::time_point start_;
  Clock::time_point last_chunk_;
  CallListener* listener_;
  RequestRecord record_;
};

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_STREAM_CLIENT_H_
