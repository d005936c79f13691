// What the load generator measured for one request: a Generate call, or with --api openai a
// streamed POST /v1/completions. Plain data: no gRPC or HTTP types, so the statistics and the
// report are tested without a server.
#ifndef EGMLA_LOAD_TESTS_REQUEST_RECORD_H_
#define EGMLA_LOAD_TESTS_REQUEST_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace egmla::loadgen {

// Failure keys that are not gRPC status codes (the others are the canonical code names,
// "UNAVAILABLE", "RESOURCE_EXHAUSTED", ..., and with --api openai "HTTP_<status>" and
// "STREAM_ERROR": see openai_client.h).
inline constexpr char kFailureFinishAborted[] = "FINISH_REASON_ABORTED";  // OK, Complete(ABORTED)
inline constexpr char kFailureNoComplete[] = "NO_COMPLETE";  // OK without a Complete message

struct RequestRecord {
  int64_t index = 0;       // order of sending, from 0
  std::string request_id;  // ours (PREFIX-INDEX); with --api openai the server's chunk id
  double start_s = 0;      // when the call started, seconds after the run began

  // Latencies in seconds, measured from the start of the call on the client's monotonic clock.
  std::optional<double> ttft_s;  // until the first chunk that carried a token
  double e2e_s = 0;              // until the call finished (status received)
  // One entry per output token after the first chunk's: the gap between a chunk and the one
  // before it, divided by the chunk's token count (a chunk of k tokens adds k equal entries).
  std::vector<double> itl_s;

  // Complete.prompt_tokens (--api openai: usage.prompt_tokens); else the ids sent (0 for text).
  int64_t input_tokens = 0;
  // Token ids received in chunks; --api openai: chunks with a choice, counted one token each.
  int64_t output_tokens = 0;
  // Complete.completion_tokens (--api openai: usage.completion_tokens), when it arrived.
  std::optional<int64_t> completion_tokens;

  std::string status = "OK";  // gRPC status code name, or HTTP_<status>, STREAM_ERROR
  std::string error_message;  // empty when OK
  std::string finish_reason;  // "LENGTH", "STOP", ... ; empty without a Complete

  // OK status, a Complete, and not ABORTED.
  bool succeeded() const {
    return status == "OK" && completion_tokens.has_value() && finish_reason != "ABORTED";
  }
  // Empty when succeeded(); else the gRPC code name or one of the kFailure* keys above.
  std::string failure() const {
    if (status != "OK") return status;
    if (!completion_tokens.has_value()) return kFailureNoComplete;
    if (finish_reason == "ABORTED") return kFailureFinishAborted;
    return "";
  }
  // (e2e - ttft) / (output_tokens - 1); none with fewer than two output tokens.
  std::optional<double> tpot_s() const {
    if (!ttft_s || output_tokens < 2) return std::nullopt;
    return (e2e_s - *ttft_s) / static_cast<double>(output_tokens - 1);
  }
};

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_REQUEST_RECORD_H_
