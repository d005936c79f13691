// The gRPC request path: arbitrary bytes as a serialized egmla.v1.GenerateRequest
// (server/request_parsing.h ParseGenerateRequest, what the service runs on the received buffer),
// then server/request_validation.h ValidateGenerateRequest under three sets of limits (GPT-2's
// tokenizer with a small context, with a large context and a bos prefix, no tokenizer). Parsing
// gives a request whose strings are UTF-8, or INVALID_ARGUMENT; validation as
// fuzz/request_checks.h checks.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "fuzz/request_checks.h"
#include "server/request_parsing.h"
#include "tokenizer/tokenizer_utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<egmla::v1::GenerateRequest> request = egmla::ParseGenerateRequest(bytes);
  if (!request.ok()) {
    EGMLA_FUZZ_CHECK_ERROR(request.status(), absl::StatusCode::kInvalidArgument);
    return 0;
  }
  EGMLA_FUZZ_CHECK(egmla::IsValidUtf8(request->request_id()), "request_id");
  EGMLA_FUZZ_CHECK(egmla::IsValidUtf8(request->text()), "text");
  for (const std::string& stop : request->stopping().stop_sequences()) {
    EGMLA_FUZZ_CHECK(egmla::IsValidUtf8(stop), "stop sequence");
  }
  static const egmla::ValidationLimits kLimits[] = {
      egmla::fuzz::Gpt2Limits(/*max_context=*/48, std::nullopt),
      egmla::fuzz::Gpt2Limits(/*max_context=*/1 << 20, /*prefix=*/50256),
      {.vocab_size = 1000, .max_context_tokens = 256}};
  for (const egmla::ValidationLimits& limits : kLimits) {
    egmla::fuzz::CheckValidation(*request, limits,
                                 egmla::ValidateGenerateRequest(*request, limits));
  }
  return 0;
}
