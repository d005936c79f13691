// One Generate stream on gRPC's callback API, timed as it arrives.
#ifndef EGMLA_LOAD_TESTS_STREAM_CLIENT_H_
#define EGMLA_LOAD_TESTS_STREAM_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>

#include "egmla/v1/generation.grpc.pb.h"
#include "load-tests/call.h"
#include "load-tests/request_record.h"
#include "tools/client_channel.h"

namespace egmla::loadgen {

// The owner destroys it only after the listener's OnCallDone for it has returned.
class GenerateCall final : public Call,
                           public grpc::ClientReadReactor<egmla::v1::GenerateResponse> {
 public:
  // `run_start` is when the load run began (RequestRecord::start_s counts from it);
  // `stub`, `connection` and `listener` must outlive the call.
  GenerateCall(int64_t index, egmla::v1::GenerateRequest request, Clock::time_point run_start,
               egmla::v1::Generation::Stub* stub, const cli::Connection* connection,
               CallListener* listener);

  void Start() override;
  void Cancel() override { context_.TryCancel(); }

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
  egmla::v1::Generation::Stub* stub_;
  const cli::Connection* connection_;
  CallListener* listener_;
  RequestRecord record_;
};

// Generate calls on one channel (the connection's).
class GrpcCallFactory final : public CallFactory {
 public:
  // `connection` must outlive the factory and its calls.
  explicit GrpcCallFactory(const cli::Connection* connection)
      : connection_(connection), stub_(connection->channel()) {}

  std::unique_ptr<Call> NewCall(const RequestSpec& spec, const RequestParams& params,
                                Clock::time_point run_start, CallListener* listener) override;

 private:
  const cli::Connection* connection_;
  egmla::v1::Generation::Stub stub_;
};

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_STREAM_CLIENT_H_
