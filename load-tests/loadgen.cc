#include "load-tests/loadgen.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/api_key.h"
#include "egmla/v1/generation.grpc.pb.h"
#include "load-tests/arrival_process.h"
#include "load-tests/call.h"
#include "load-tests/interrupt_watcher.h"
#include "load-tests/load_runner.h"
#include "load-tests/openai_client.h"
#include "load-tests/openai_protocol.h"
#include "load-tests/report.h"
#include "load-tests/request_generator.h"
#include "load-tests/statistics.h"
#include "load-tests/stream_client.h"
#include "load-tests/warmup.h"
#include "tools/client_channel.h"

namespace egmla::loadgen {
namespace {

constexpr double kModelInfoTimeoutSeconds = 10;
// Keeps the arrival gaps independent of the prompts drawn with the same --seed.
constexpr uint64_t kArrivalSeedSalt = 0x9e3779b97f4a7c15ULL;
// And the warm-up prompts apart from the measured ones.
constexpr uint64_t kWarmupSeedSalt = 0x2545f4914f6cdd1dULL;

// What the load needs to know of the served model, from GetModelInfo or GET /v1/models.
struct ServerModel {
  std::string description;         // the summary's "Model:" line
  int64_t vocab_size = 0;          // 0 = unknown
  int64_t max_context_tokens = 0;  // 0 = unknown
  std::optional<bool> has_tokenizer;
  std::string has_tokenizer_source;  // where has_tokenizer came from, for the error message
  nlohmann::json json;               // "model_info" of --output-json
};

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
// tokenizer, and room for one generated token (each checked when the server says).
absl::Status CheckDataset(const std::vector<Prompt>& dataset, const ServerModel& model) {
  for (size_t i = 0; i < dataset.size(); ++i) {
    const Prompt& p = dataset[i];
    if (p.token_ids.empty() && model.has_tokenizer == false) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--dataset: prompt ", i + 1, " is text, but the server's model has no tokenizer (",
          model.has_tokenizer_source, " is false); give token ids (one line of integers) instead"));
    }
    for (int32_t id : p.token_ids) {
      if (model.vocab_size > 0 && id >= model.vocab_size) {
        return absl::InvalidArgumentError(
            absl::StrCat("--dataset: prompt ", i + 1, " has token id ", id,
                         ", outside the model's vocabulary of ", model.vocab_size));
      }
    }
    if (model.max_context_tokens > 0 &&
        static_cast<int64_t>(p.token_ids.size()) >= model.max_context_tokens) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dataset: prompt ", i + 1, " has ", p.token_ids.size(),
                       " tokens; the server's context of ", model.max_context_tokens,
                       " leaves no room to generate"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRandomLengths(const LoadgenOptions& o, const ServerModel& model) {
  if (model.vocab_size <= 0) {
    return absl::FailedPreconditionError(
        o.api == kApiGrpc
            ? std::string("the server reports vocab 0")
            : std::string("random prompts need the vocabulary size: the server's GET /v1/models "
                          "entry has no vocab_size; give --vocab-size (or a --dataset)"));
  }
  const LengthRange input = RangeAround(o.random_input_len, o.random_range_ratio);
  const LengthRange output = RangeAround(o.random_output_len, o.random_range_ratio);
  const int64_t context = model.max_context_tokens;
  if (context <= 0) return absl::OkStatus();  // unknown: the server checks each request
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

ServerModel FromModelInfo(const egmla::v1::ModelInfo& info) {
  return {.description = DescribeModel(info),
          .vocab_size = info.vocab_size(),
          .max_context_tokens = info.max_context_tokens(),
          .has_tokenizer = info.has_tokenizer(),
          .has_tokenizer_source = "GetModelInfo.has_tokenizer",
          .json = ModelInfoToJson(info)};
}

// The model of GET /v1/models: --model's entry, or the first one without --model (which then
// becomes the requests' model). Without --model the list is needed; with it, a server that
// cannot list its models is only warned about.
absl::StatusOr<ServerModel> DiscoverModel(const LoadgenOptions& o, openai::Client* client) {
  std::optional<openai::ModelCard> card;
  absl::Status problem;
  absl::StatusOr<openai::HttpReply> reply = client->Get("/v1/models", kModelInfoTimeoutSeconds);
  if (!reply.ok()) {
    problem = reply.status();
  } else if (reply->status != 200) {
    problem = absl::UnavailableError(
        absl::StrCat("GET /v1/models: ", openai::HttpFailureName(reply->status), ": ",
                     openai::HttpErrorMessage(reply->body, "")));
  } else if (absl::StatusOr<openai::ModelCard> found = openai::FindModel(reply->body, o.model);
             found.ok()) {
    card = *std::move(found);
  } else {
    problem = found.status();
  }
  if (!card) {
    if (o.model.empty()) return problem;
    std::cerr << "egmla-loadgen: warning: " << problem.message() << "; sending model '" << o.model
              << "' anyway\n";
  }
  ServerModel model;
  const std::string name = card ? card->id : o.model;
  client->set_model(name);
  model.vocab_size = o.vocab_size > 0 ? o.vocab_size : (card ? card->vocab_size.value_or(0) : 0);
  model.max_context_tokens = card ? card->max_model_len.value_or(0) : 0;
  model.description = absl::StrCat(name, " (OpenAI API");
  if (model.vocab_size > 0) absl::StrAppend(&model.description, ", vocab ", model.vocab_size);
  if (model.max_context_tokens > 0) {
    absl::StrAppend(&model.description, ", context ", model.max_context_tokens);
  }
  absl::StrAppend(&model.description, ")");
  auto known = [](int64_t v) { return v > 0 ? nlohmann::json(v) : nlohmann::json(nullptr); };
  model.json = {{"model_name", name},
                {"vocab_size", known(model.vocab_size)},
                {"max_context_tokens", known(model.max_context_tokens)},
                {"card", card ? card->json : nlohmann::json(nullptr)}};
  return model;
}

// Raises the soft open-file limit to the hard one: --api openai holds a socket per request in
// flight (as server/main.cc does for its connections). Returns the soft limit now.
rlim_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return RLIM_INFINITY;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  }
  return limit.rlim_cur;
}

nlohmann::json ConfigToJson(const LoadgenOptions& o, double rate) {
  auto optional = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"target", o.client.server},
          {"api", o.api},
          {"model", o.model},
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
  const rlim_t open_files = RaiseOpenFileLimit();

  // The calls and the model, over gRPC or HTTP. `connection` outlives `calls`, which uses it.
  std::optional<cli::Connection> connection;
  std::unique_ptr<CallFactory> calls;
  openai::Client* http = nullptr;  // = calls with --api openai
  ServerModel model;
  if (o.api == kApiGrpc) {
    absl::StatusOr<cli::Connection> opened = cli::Connection::Open(o.client, std::nullopt);
    if (!opened.ok()) return Fail(kExitUsage, std::string(opened.status().message()));
    connection = *std::move(opened);
    absl::StatusOr<egmla::v1::ModelInfo> info = GetModelInfo(*connection);
    if (!info.ok()) {
      return Fail(kExitSetupFailed, absl::StrCat(o.client.server, ": ", info.status().message()));
    }
    model = FromModelInfo(*info);
    calls = std::make_unique<GrpcCallFactory>(&*connection);
  } else {
    openai::ClientOptions client_options{
        .target = o.client.server, .model = o.model, .request_timeout_s = o.client.timeout_seconds};
    if (!o.client.api_key_file.empty()) {
      absl::StatusOr<std::string> key = ReadApiKeyFile("--api-key-file", o.client.api_key_file);
      if (!key.ok()) return Fail(kExitUsage, std::string(key.status().message()));
      client_options.api_key = *std::move(key);
    }
    absl::StatusOr<std::unique_ptr<openai::Client>> client =
        openai::Client::Create(std::move(client_options));
    if (!client.ok()) return Fail(kExitUsage, std::string(client.status().message()));
    http = client->get();
    calls = *std::move(client);
    absl::StatusOr<ServerModel> found = DiscoverModel(o, http);
    if (!found.ok()) {
      return Fail(kExitSetupFailed, absl::StrCat(o.client.server, ": ", found.status().message()));
    }
    model = *std::move(found);
    // Known when bounded by --max-concurrency or sent all at once (a finite rate without a
    // bound keeps as many in flight as the server is slow).
    const int64_t at_once = o.max_concurrency > 0 ? o.max_concurrency
                            : std::isinf(rate)    ? RequestsToSend(o).value_or(0)
                                                  : 0;
    if (open_files != RLIM_INFINITY && at_once + 64 > static_cast<int64_t>(open_files)) {
      std::cerr << "egmla-loadgen: warning: up to " << at_once
                << " connections at once, but the open-file limit is " << open_files
                << " (ulimit -n); connections beyond it fail\n";
    }
  }

  GeneratorOptions generator_options{.input_len = o.random_input_len,
                                     .output_len = o.random_output_len,
                                     .range_ratio = o.random_range_ratio,
                                     .vocab_size = static_cast<int32_t>(model.vocab_size),
                                     .seed = o.seed};
  if (!o.dataset.empty()) {
    absl::StatusOr<std::vector<Prompt>> dataset = ReadDataset(o.dataset);
    if (!dataset.ok()) return Fail(kExitUsage, std::string(dataset.status().message()));
    if (absl::Status st = CheckDataset(*dataset, model); !st.ok()) {
      return Fail(kExitSetupFailed, std::string(st.message()));
    }
    generator_options.dataset = *std::move(dataset);
  } else if (absl::Status st = CheckRandomLengths(o, model); !st.ok()) {
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
    if (absl::Status st = Warmup(calls.get(), &warmup_requests, warmup_params, o.warmup_requests);
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
            << " to " << o.client.server << " (" << model.description << ") at " << o.request_rate
            << " req/s\n";
  LoadRunner runner({.num_requests = num_requests,
                     .duration_s = o.duration_s,
                     .max_concurrency = o.max_concurrency,
                     .request_params = request_params,
                     .progress = o.progress},
                    calls.get(), &arrivals, &requests);
  RunResult result;
  {
    InterruptWatcher watcher([&runner] { runner.Interrupt(); });
    result = runner.Run();
  }
  if (http != nullptr) {
    std::cerr << "egmla-loadgen: " << http->connections_opened() << " HTTP connections opened, "
              << http->connections_reused() << " requests sent on a kept-alive one\n";
  }

  const Summary summary = Summarize(result.records, result.duration_s, o.slo);
  std::cout << FormatSummary(summary, o.slo,
                             {.target = o.client.server,
                              .model = model.description,
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
    json["model_info"] = model.json;
    json["requests"] = RecordsToJson(result.records);
    if (absl::Status st = WriteJsonFile(o.output_json, json); !st.ok()) {
      return Fail(kExitSetupFailed, std::string(st.message()));
    }
  }
  return result.interrupted ? kExitInterrupted : kExitOk;
}

}  // namespace egmla::loadgen
