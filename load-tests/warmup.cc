#include "load-tests/warmup.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "egmla/v1/generation.grpc.pb.h"

namespace egmla::loadgen {

absl::Status Warmup(const cli::Connection& connection, RequestGenerator* requests,
                    const RequestParams& params, int64_t num_requests) {
  egmla::v1::Generation::Stub stub(connection.channel());
  for (int64_t i = 0; i < num_requests; ++i) {
    RequestSpec spec = requests->Next();
    spec.max_tokens = std::min(spec.max_tokens, kWarmupMaxTokens);
    grpc::ClientContext context;
    connection.Prepare(&context);
    const egmla::v1::GenerateRequest request = ToGenerateRequest(spec, params);
    std::unique_ptr<grpc::ClientReader<egmla::v1::GenerateResponse>> reader =
        stub.Generate(&context, request);
    egmla::v1::GenerateResponse response;
    bool completed = false;
    while (reader->Read(&response)) completed = completed || response.has_complete();
    const grpc::Status status = reader->Finish();
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "warm-up request ", request.request_id(),
          " failed: ", cli::StatusCodeName(status.error_code()), ": ", status.error_message()));
    }
    if (!completed) {
      return absl::InternalError(absl::StrCat("warm-up request ", request.request_id(),
                                              ": the stream ended without a Complete message"));
    }
  }
  return absl::OkStatus();
}

}  // namespace egmla::loadgen
