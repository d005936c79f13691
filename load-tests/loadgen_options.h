// Everything egmla-loadgen's flags say, as one plain struct, and its checks. Flags are parsed in
// loadgen_main.cc only.
#ifndef EGMLA_LOAD_TESTS_LOADGEN_OPTIONS_H_
#define EGMLA_LOAD_TESTS_LOADGEN_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "load-tests/statistics.h"
#include "tools/commands.h"

namespace egmla::loadgen {

// Requests sent when neither --num-requests nor --duration is given.
inline constexpr int64_t kDefaultNumRequests = 100;

// --api: what carries the requests.
inline constexpr char kApiGrpc[] = "grpc";      // egmla.v1.Generation/Generate streams
inline constexpr char kApiOpenAi[] = "openai";  // streamed POST /v1/completions (HTTP/1.1, SSE)

struct LoadgenOptions {
  cli::ClientOptions client;         // server = --target; timeout = --request-timeout
  std::string api = kApiGrpc;        // kApiGrpc or kApiOpenAi
  std::string model;                 // --api openai: the requests' "model"; empty = the first
                                     // of GET /v1/models
  int64_t vocab_size = 0;            // --api openai: ids of random prompts are below it;
                                     // 0 = the vocab_size of the /v1/models entry
  std::string request_rate = "inf";  // requests per second, or "inf": all at once
  double burstiness = 1;             // gamma shape of the gaps; 1 = Poisson
  int64_t max_concurrency = 0;       // 0 = unlimited
  std::optional<int64_t> num_requests;
  std::optional<double> duration_s;
  int64_t random_input_len = 128;
  int64_t random_output_len = 64;
  double random_range_ratio = 0;
  std::string dataset;  // empty: random prompts
  Slo slo;
  std::string output_json;  // empty: none
  uint64_t seed = 0;
  bool ignore_eos = true;
  float temperature = 0;
  int64_t warmup_requests = 1;  // sent one at a time before the run, not measured
  bool progress = true;
};

// "inf" (any case, also "infinity") or a positive finite number; errors name --request-rate.
absl::StatusOr<double> ParseRequestRate(const std::string& text);

// Checks every field against the others; errors name the flag.
absl::Status Validate(const LoadgenOptions& options);

// The requests to send: --num-requests, else none with --duration, else the default.
std::optional<int64_t> RequestsToSend(const LoadgenOptions& options);

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_LOADGEN_OPTIONS_H_
