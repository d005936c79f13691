#include "load-tests/loadgen_options.h"

#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace egmla::loadgen {
namespace {

// The largest max_tokens a request can carry (a uint32 on the wire), with the range ratio.
constexpr int64_t kMaxLength = 1 << 24;

bool PositiveFinite(double v) { return std::isfinite(v) && v > 0; }

}  // namespace

absl::StatusOr<double> ParseRequestRate(const std::string& text) {
  const std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (lower == "inf" || lower == "infinity") return std::numeric_limits<double>::infinity();
  double rate = 0;
  if (!absl::SimpleAtod(lower, &rate) || !PositiveFinite(rate)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--request-rate: '", text, "' is not a positive number of requests per second or inf"));
  }
  return rate;
}

absl::Status Validate(const LoadgenOptions& o) {
  if (o.client.server.empty()) return absl::InvalidArgumentError("--target: HOST:PORT is empty");
  if (o.api != kApiGrpc && o.api != kApiOpenAi) {
    return absl::InvalidArgumentError(
        absl::StrCat("--api: '", o.api, "' is neither ", kApiGrpc, " nor ", kApiOpenAi));
  }
  if (o.api == kApiGrpc && !o.model.empty()) {
    return absl::InvalidArgumentError(
        "--model: only with --api openai (a gRPC server serves one model)");
  }
  if (o.api == kApiGrpc && o.vocab_size != 0) {
    return absl::InvalidArgumentError(
        "--vocab-size: only with --api openai (the gRPC path asks GetModelInfo)");
  }
  if (o.vocab_size < 0) {
    return absl::InvalidArgumentError("--vocab-size: must be 0 (ask the server) or more");
  }
  if (o.api == kApiOpenAi && !o.client.tls_ca.empty()) {
    return absl::InvalidArgumentError("--tls-ca: not supported with --api openai (plain HTTP)");
  }
  absl::StatusOr<double> rate = ParseRequestRate(o.request_rate);
  if (!rate.ok()) return rate.status();
  if (!PositiveFinite(o.burstiness)) {
    return absl::InvalidArgumentError("--burstiness: must be a positive number");
  }
  if (o.max_concurrency < 0) {
    return absl::InvalidArgumentError("--max-concurrency: must be 0 (unlimited) or more");
  }
  if (o.num_requests && *o.num_requests < 1) {
    return absl::InvalidArgumentError("--num-requests: must be at least 1");
  }
  if (o.duration_s && !PositiveFinite(*o.duration_s)) {
    return absl::InvalidArgumentError("--duration: must be a positive number of seconds");
  }
  if (o.duration_s && !o.num_requests && std::isinf(*rate) && o.max_concurrency == 0) {
    return absl::InvalidArgumentError(
        "--duration with --request-rate inf sends without end: give --max-concurrency, a "
        "finite --request-rate or --num-requests");
  }
  if (o.random_input_len < 1 || o.random_input_len > kMaxLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("--random-input-len: must be in [1, ", kMaxLength, "]"));
  }
  if (o.random_output_len < 1 || o.random_output_len > kMaxLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("--random-output-len: must be in [1, ", kMaxLength, "]"));
  }
  if (!(o.random_range_ratio >= 0 && o.random_range_ratio < 1)) {
    return absl::InvalidArgumentError("--random-range-ratio: must be in [0, 1)");
  }
  if (o.slo.ttft_ms && !PositiveFinite(*o.slo.ttft_ms)) {
    return absl::InvalidArgumentError("--slo-ttft: must be a positive number of milliseconds");
  }
  if (o.slo.tpot_ms && !PositiveFinite(*o.slo.tpot_ms)) {
    return absl::InvalidArgumentError("--slo-tpot: must be a positive number of milliseconds");
  }
  if (!(o.temperature >= 0 && o.temperature <= 100)) {
    return absl::InvalidArgumentError("--temperature: must be in [0, 100]");
  }
  if (o.warmup_requests < 0) {
    return absl::InvalidArgumentError("--warmup-requests: must be 0 or more");
  }
  if (o.client.timeout_seconds && !PositiveFinite(*o.client.timeout_seconds)) {
    return absl::InvalidArgumentError("--request-timeout: must be a positive number of seconds");
  }
  return absl::OkStatus();
}

std::optional<int64_t> RequestsToSend(const LoadgenOptions& options) {
  if (options.num_requests) return options.num_requests;
  if (options.duration_s) return std::nullopt;
  return kDefaultNumRequests;
}

}  // namespace egmla::loadgen
