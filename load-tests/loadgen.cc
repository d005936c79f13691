#include "load-tests/loadgen.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "egmla/v1/generation.grpc.pb.h"
#include "load-tests/arrival_process.h"
#include "load-tests/interrupt_watcher.h"
#include "load-tests/load_runner.h"
#include "load-tests/report.h"
#include "load-tests/request_generator.h"
#include "load-tests/statistics.h"
#include "load-tests/warmup.h"
#include "tools/client_channel.h"

namespace egmla::loadgen {
namespace {

constexpr double kModelInfoTimeoutSeconds = 10;
// Keeps the arrival gaps independent of the prompts drawn with the same --seed.
constexpr uint64_t kArrivalSeedSalt = 0x9e3779b97f4a7c15ULL;
// And the warm-up prompts apart from the measured ones.
constexpr uint64_t kWarmupSeedSalt = 0x2545f4914f6cdd1dULL;

int Fail(int code, const std::string& message) {
  std::cerr << "egmla-loadgen: " << message << "\n";
  return code;
}

absl::StatusOr<egmla::v1::ModelInfo> GetModelInfo(const cli::Connection& connection) {
  egmla::v1::Generation::Stub stub(connection.channel());
  grpc::ClientContext context;
  connection.Prepare(&context);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(static_cast<int>(kModelInfoTimeoutSeconds)));
  egmla::v1::ModelInfo info;
  grpc::Status status = stub.GetModelInfo(&context, egmla::v1::GetModelInfoRequest(), &info);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("GetModelInfo failed: ", cli::StatusCodeName(status.error_code()), ": ",
                     status.error_message()));
  }
  return info;
}

// Every dataset prompt must suit the model: ids inside the vocabulary, text only with a
// tokenizer, and room for one generated token.
absl::Status CheckDataset(const std::vector<Prompt>& dataset, const egmla::v1::ModelInfo& info) {
  for (size_t i = 0; i < dataset.size(); ++i) {
    const Prompt& p = dataset[i];
    if (p.token_ids.empty() && !info.has_tokenizer()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--dataset: prompt ", i + 1,
          " is text, but the server's model has no tokenizer "
          "(GetModelInfo.has_tokenizer is false); give token ids (one line of integers) instead"));
    }
    for (int32_t id : p.token_ids) {
      if (static_cast<uint32_t>(id) >= info.vocab_size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--dataset: prompt ", i + 1, " has token id ", id,
                         ", outside the model's vocabulary of ", info.vocab_size()));
      }
    }
    if (static_cast<int64_t>(p.token_ids.size()) >= info.max_context_tokens()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dataset: prompt ", i + 1, " has ", p.token_ids.size(),
                       " tokens; the server's context of ", info.max_context_tokens(),
                       " leaves no room to generate"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRandomLengths(const LoadgenOptions& o, const egmla::v1::ModelInfo& info) {
  if (info.vocab_size() == 0) return absl::FailedPreconditionError("the server reports vocab 0");
  const LengthRange input = RangeAround(o.random_input_len, o.random_range_ratio);
  const LengthRange output = RangeAround(o.random_output_len, o.random_range_ratio);
  const int64_t context = info.max_context_tokens();
  if (input.max >= context) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--random-input-len: prompts of up to ", input.max, " tokens leave no room to generate ",
        "in the server's context of ", context, " tokens"));
  }
  if (input.max + output.max > context) {
    std::cerr << "egmla-loadgen: warning: prompts of up to " << input.max << " plus up to "
              << output.max << " output tokens exceed the context of " << context
              << "; such requests stop early (CONTEXT_LIMIT)\n";
  }
  return absl::OkStatus();
}

std::string DescribeModel(const egmla::v1::ModelInfo& info) {
  return absl::StrCat(info.attention_type(), " ", info.num_layers(), "L h", info.hidden_size(),
                      " kv", info.kv_lora_rank(), ", ", info.kv_cache_bytes_per_token(),
                      " B/token, ", info.num_blocks(), "x", info.block_size(), " blocks, ",
                      info.device());
}

nlohmann::json ModelInfoToJson(const egmla::v1::ModelInfo& info) {
  return {{"model_name", info.model_name()},
          {"attention_type", info.attention_type()},
          {"num_layers", info.num_layers()},
          {"hidden_size", info.hidden_size()},
          {"num_heads", info.num_heads()},
          {"vocab_size", info.vocab_size()},
          {"kv_lora_rank", info.kv_lora_rank()},
          {"qk_rope_head_dim", info.qk_rope_head_dim()},
          {"max_context_tokens", info.max_context_tokens()},
          {"kv_cache_elements_per_token", info.kv_cache_elements_per_token()},
          {"kv_cache_bytes_per_token", info.kv_cache_bytes_per_token()},
          {"block_size", info.block_size()},
          {"num_blocks", info.num_blocks()},
          {"gate_table_bytes", info.gate_table_bytes()},
          {"device", info.device()},
          {"dtype", info.dtype()},
          {"has_tokenizer", info.has_tokenizer()}};
}

nlohmann::json ConfigToJson(const LoadgenOptions& o, double rate) {
  auto optional = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"target", o.client.server},
          {"request_rate", std::isinf(rate) ? nlohmann::json("inf") : nlohmann::json(rate)},
          {"burstiness", o.burstiness},
          {"max_concurrency", o.max_concurrency},
          {"num_requests", optional(RequestsToSend(o))},
          {"duration_s", optional(o.duration_s)},
          {"dataset", o.dataset},
          {"random_input_len", o.random_input_len},
          {"random_output_len", o.random_output_len},
          {"random_range_ratio", o.random_range_ratio},
          {"seed", o.seed},
          {"ignore_eos", o.ignore_eos},
          {"temperature", o.temperature},
          {"warmup_requests", o.warmup_requests},
          {"request_timeout_s", optional(o.client.timeout_seconds)}};
}

}  // namespace

int RunLoadgen(const LoadgenOptions& o) {
  if (absl::Status st = Validate(o); !st.ok()) return Fail(kExitUsage, std::string(st.message()));
  const double rate = *ParseRequestRate(o.request_rate);
  absl::StatusOr<cli::Connection> connection = cli::Connection::Open(o.client, std::nullopt);
  if (!connection.ok()) {
    return Fail(kExitUsage, std::string(connection.status().message()));
  }
  absl::StatusOr<egmla::v1::ModelInfo> info = GetModelInfo(*connection);
  if (!info.ok()) {
    return Fail(kExitSetupFailed, absl::StrCat(o.client.server, ": ", info.status().message()));
  }

  GeneratorOptions generator_options{.input_len = o.random_input_len,
                                     .output_len = o.random_output_len,
                                     .range_ratio = o.random_range_ratio,
                                     .vocab_size = static_cast<int32_t>(info->vocab_size()),
                                     .seed = o.seed};
  if (!o.dataset.empty()) {
    absl::StatusOr<std::vector<Prompt>> dataset = ReadDataset(o.dataset);
    if (!dataset.ok()) return Fail(kExitUsage, std::string(dataset.status().message()));
    if (absl::Status st = CheckDataset(*dataset, *info); !st.ok()) {
      return Fail(kExitSetupFailed, std::string(st.message()));
    }
    generator_options.dataset = *std::move(dataset);
  } else if (absl::Status st = CheckRandomLengths(o, *info); !st.ok()) {
    return Fail(kExitSetupFailed, std::string(st.message()));
  }
  const RequestParams request_params{.request_id_prefix = absl::StrCat("loadgen-", getpid()),
                                     .temperature = o.temperature,
                                     .ignore_eos = o.ignore_eos,
                                     .seed = o.seed};
  if (o.warmup_requests > 0) {
    GeneratorOptions warmup_options = generator_options;
    warmup_options.seed ^= kWarmupSeedSalt;
    RequestGenerator warmup_requests(std::move(warmup_options));
    RequestParams warmup_params = request_params;
    warmup_params.request_id_prefix += "-warmup";
    if (absl::Status st = Warmup(*connection, &warmup_requests, warmup_params, o.warmup_requests);
        !st.ok()) {
      return Fail(kExitSetupFailed, absl::StrCat(o.client.server, ": ", st.message()));
    }
  }
  RequestGenerator requests(std::move(generator_options));
  ArrivalProcess arrivals(rate, o.burstiness, o.seed ^ kArrivalSeedSalt);

  const std::optional<int64_t> num_requests = RequestsToSend(o);
  std::cerr << "egmla-loadgen: "
            << (num_requests ? absl::StrCat(*num_requests, " requests")
                             : absl::StrCat("requests for ", *o.duration_s, " s"))
            << " to " << o.client.server << " (" << DescribeModel(*info) << ") at "
            << o.request_rate << " req/s\n";
  LoadRunner runner({.num_requests = num_requests,
                     .duration_s = o.duration_s,
                     .max_concurrency = o.max_concurrency,
                     .request_params = request_params,
                     .progress = o.progress},
                    &*connection, &arrivals, &requests);
  RunResult result;
  {
    InterruptWatcher watcher([&runner] { runner.Interrupt(); });
    result = runner.Run();
  }

  const Summary summary = Summarize(result.records, result.duration_s, o.slo);
  std::cout << FormatSummary(summary, o.slo,
                             {.target = o.client.server,
                              .model = DescribeModel(*info),
                              .request_rate = o.request_rate,
                              .burstiness = o.burstiness,
                              .max_concurrency = o.max_concurrency,
                              .interrupted = result.interrupted})
            << std::flush;
  if (!o.output_json.empty()) {
    nlohmann::json json = SummaryToJson(summary, o.slo);
    json["date"] = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
    json["interrupted"] = result.interrupted;
    json["config"] = ConfigToJson(o, rate);
    json["model_info"] = ModelInfoToJson(*info);
    json["requests"] = RecordsToJson(result.records);
    if (absl::Status st = WriteJsonFile(o.output_json, json); !st.ok()) {
      return Fail(kExitSetupFailed, std::string(st.message()));
    }
  }
  return result.interrupted ? kExitInterrupted : kExitOk;
}

}  // namespace egmla::loadgen
