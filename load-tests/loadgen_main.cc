// egmla-loadgen: an asynchronous load generator for egmla-serve over gRPC or its OpenAI-compatible
// HTTP API (DESIGN §5, load-tests/).
// Flags are defined and parsed here only.
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "common/command_line.h"
#include "load-tests/interrupt_watcher.h"
#include "load-tests/loadgen.h"
#include "load-tests/loadgen_options.h"

ABSL_FLAG(std::string, target, "localhost:50051",
          "the server's HOST:PORT (its --http-port with --api openai)");
ABSL_FLAG(std::string, api, "grpc",
          "grpc: egmla.v1 Generate streams; openai: streamed POST /v1/completions over HTTP/1.1 "
          "(Server-Sent Events), a connection per request in flight");
ABSL_FLAG(std::string, model, "",
          "--api openai: the requests' \"model\" (default: the first of GET /v1/models)");
ABSL_FLAG(int64_t, vocab_size, 0,
          "--api openai: random prompt ids are drawn below this (default: the vocab_size of the "
          "model's GET /v1/models entry)");
ABSL_FLAG(std::string, api_key_file, "",
          "file holding the API key, sent as 'authorization: Bearer KEY'");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM root CA: use TLS (default: an insecure channel); --api grpc only");
ABSL_FLAG(std::optional<double>, request_timeout, std::nullopt,
          "deadline of each request in seconds (default: none)");
ABSL_FLAG(std::string, request_rate, "inf",
          "requests per second (arrivals with gamma-distributed gaps), or inf: all at once");
ABSL_FLAG(double, burstiness, 1.0,
          "gamma shape of the gaps between arrivals: 1 = Poisson, < 1 burstier, > 1 more even");
ABSL_FLAG(int64_t, max_concurrency, 0, "requests in flight at most (0 = unlimited)");
ABSL_FLAG(std::optional<int64_t>, num_requests, std::nullopt,
          "requests to send (default 100, or unlimited with --duration)");
ABSL_FLAG(std::optional<double>, duration, std::nullopt,
          "stop sending after this many seconds, then wait for the calls in flight");
ABSL_FLAG(int64_t, random_input_len, 128, "prompt tokens of a random request");
ABSL_FLAG(int64_t, random_output_len, 64, "max_tokens of each request");
ABSL_FLAG(double, random_range_ratio, 0.0,
          "lengths are uniform in [len*(1-ratio), len*(1+ratio)]; ratio in [0, 1)");
ABSL_FLAG(std::string, dataset, "",
          "file with one prompt per line (a line of only integers is token ids, else text); "
          "used in order, cyclically; default: random token ids");
ABSL_FLAG(std::optional<double>, slo_ttft, std::nullopt, "goodput objective: TTFT <= MS");
ABSL_FLAG(std::optional<double>, slo_tpot, std::nullopt, "goodput objective: TPOT <= MS");
ABSL_FLAG(std::string, output_json, "", "write the summary and every request's record here");
ABSL_FLAG(uint64_t, seed, 0, "seed of the prompts, lengths, arrivals and sampling");
ABSL_FLAG(bool, ignore_eos, true, "generate exactly max_tokens (past the end-of-sequence token)");
ABSL_FLAG(float, temperature, 0.0f, "sampling temperature (0 = greedy)");
ABSL_FLAG(int64_t, warmup_requests, 1,
          "requests sent one at a time before the run (at most 16 tokens each; not measured); "
          "a failed one stops egmla-loadgen before the load starts");
ABSL_FLAG(bool, progress, true, "a live progress line on stderr");

namespace {

constexpr char kUsage[] = R"(egmla-loadgen --target HOST:PORT [flags]

Sends Generate requests (or, with --api openai, streamed POST /v1/completions) to an
egmla-server at a given rate and reports TTFT, TPOT, ITL and end-to-end latency (mean, median,
p90, p99), throughput, goodput under --slo-ttft/--slo-tpot and failures by status code, like
vLLM's benchmark_serving.

Examples:
  egmla-loadgen --target localhost:50051 --request-rate 4 --num-requests 200
  egmla-loadgen --target localhost:50051 --request-rate 2 --duration 30 --output-json out.json
  egmla-loadgen --request-rate inf --max-concurrency 16 --num-requests 64 \
                --random-input-len 512 --random-output-len 128 --random-range-ratio 0.25
  egmla-loadgen --api openai --target localhost:8000 --num-requests 1000 --max-concurrency 1000

Exit status: 0 the run finished (failed requests are in the summary); 1 the server could not
be asked for its model, a prompt does not fit it or the warm-up request failed; 2 a usage
error; 130 interrupted.)";

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so that Ctrl-C reaches the watcher (see interrupt_watcher.h).
  egmla::loadgen::BlockInterruptSignals();
  absl::SetProgramUsageMessage(kUsage);
  const egmla::CommandLine line = egmla::ParseCommandLine(argc, argv);
  if (!line.positional.empty()) {
    std::cerr << "egmla-loadgen: unexpected argument '" << line.positional[0] << "'\n";
    return egmla::loadgen::kExitUsage;
  }
  egmla::loadgen::LoadgenOptions options{
      .client = {.server = absl::GetFlag(FLAGS_target),
                 .api_key_file = absl::GetFlag(FLAGS_api_key_file),
                 .tls_ca = absl::GetFlag(FLAGS_tls_ca),
                 .timeout_seconds = absl::GetFlag(FLAGS_request_timeout)},
      .api = absl::GetFlag(FLAGS_api),
      .model = absl::GetFlag(FLAGS_model),
      .vocab_size = absl::GetFlag(FLAGS_vocab_size),
      .request_rate = absl::GetFlag(FLAGS_request_rate),
      .burstiness = absl::GetFlag(FLAGS_burstiness),
      .max_concurrency = absl::GetFlag(FLAGS_max_concurrency),
      .num_requests = absl::GetFlag(FLAGS_num_requests),
      .duration_s = absl::GetFlag(FLAGS_duration),
      .random_input_len = absl::GetFlag(FLAGS_random_input_len),
      .random_output_len = absl::GetFlag(FLAGS_random_output_len),
      .random_range_ratio = absl::GetFlag(FLAGS_random_range_ratio),
      .dataset = absl::GetFlag(FLAGS_dataset),
      .slo = {.ttft_ms = absl::GetFlag(FLAGS_slo_ttft), .tpot_ms = absl::GetFlag(FLAGS_slo_tpot)},
      .output_json = absl::GetFlag(FLAGS_output_json),
      .seed = absl::GetFlag(FLAGS_seed),
      .ignore_eos = absl::GetFlag(FLAGS_ignore_eos),
      .temperature = absl::GetFlag(FLAGS_temperature),
      .warmup_requests = absl::GetFlag(FLAGS_warmup_requests),
      .progress = absl::GetFlag(FLAGS_progress)};
  return egmla::loadgen::RunLoadgen(options);
}
