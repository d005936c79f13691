// `egmla`: one CLI with subcommands (DESIGN §5.1). Flags are defined and parsed here only.
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "common/command_line.h"
#include "kernels/cpu/cpu_threads.h"
#include "tools/client_request.h"
#include "tools/commands.h"

ABSL_FLAG(std::string, model, "", "checkpoint directory");
ABSL_FLAG(std::string, config, "", "config.json of a model (kv-size, random-model)");
ABSL_FLAG(std::string, token_ids, "", "prompt token ids, e.g. 1,2,3");
ABSL_FLAG(std::string, prompt, "", "one text prompt (run)");
ABSL_FLAG(std::string, prompts, "", "file with one prompt per line (run)");
ABSL_FLAG(std::string, logits_out, "", "score: output file, float32 little-endian [T, vocab]");
ABSL_FLAG(std::string, dtype, "auto", "kv-size: cache dtype; random-model: weight dtype");
ABSL_FLAG(std::string, gate_mode, "auto", "eg_mla gate: auto | table | onthefly");
ABSL_FLAG(std::string, out, "", "random-model: output directory");
ABSL_FLAG(std::optional<uint64_t>, seed, std::nullopt,
          "random-model: weight seed; run: sampling seed (default: random)");
ABSL_FLAG(uint32_t, max_tokens, 0, "tokens to generate; 0 = the default, 256");
ABSL_FLAG(float, temperature, 0.0f, "sampling temperature; 0 = greedy");
ABSL_FLAG(std::optional<float>, top_p, std::nullopt,
          "nucleus sampling threshold in (0, 1] (default 1)");
ABSL_FLAG(std::optional<uint32_t>, top_k, std::nullopt,
          "keep the k most likely tokens; 0 = off (default)");
ABSL_FLAG(std::optional<float>, min_p, std::nullopt,
          "drop tokens below min_p times the top probability (default 0)");
ABSL_FLAG(int32_t, cpu_threads, 0,
          "run, score: CPU threads (0 = the cores this process may use, cgroup quota included)");
ABSL_FLAG(bool, ignore_eos, false, "keep generating past the end-of-sequence token");
// Clients of egmla-server.
ABSL_FLAG(std::string, server, "localhost:50051", "clients: the server's HOST:PORT");
ABSL_FLAG(std::string, api_key_file, "",
          "clients: file holding the API key, sent as 'authorization: Bearer KEY'");
ABSL_FLAG(std::string, tls_ca, "", "clients: PEM root CA; use TLS (default: insecure channel)");
ABSL_FLAG(std::optional<double>, timeout, std::nullopt,
          "clients: deadline in seconds (default: none for generate, 10 for info and load, "
          "5 for health)");
ABSL_FLAG(std::string, request_id, "", "generate: request id (default: the server makes one)");
ABSL_FLAG(std::vector<std::string>, stop, {},
          "generate: stop sequences; repeatable and/or comma-separated (\\, is a comma, "
          "\\n a newline, \\t a tab, \\\\ a backslash)");
ABSL_FLAG(bool, logprobs, false, "generate: print each token as id(logprob)");
ABSL_FLAG(bool, json, false, "generate: print each response message as one JSON line");
ABSL_FLAG(std::string, tokenizer, "",
          "tokenize, detokenize: tokenizer.json or SentencePiece .model");
ABSL_FLAG(std::string, service, "egmla.v1.Generation",
          "health: service to check; empty = the server itself (liveness)");

namespace {

constexpr char kUsage[] = R"(egmla SUBCOMMAND [flags]

Offline subcommands:
  score        --model DIR --token-ids 1,2,3 --logits-out FILE
  kv-size      --config FILE [--dtype bf16]
  random-model --config FILE --seed N --out DIR [--dtype f32|bf16|f16]
  run          --model DIR (--token-ids 1,2,3 | --prompt TEXT | --prompts FILE)
               [--max-tokens N --temperature T --top-p P --top-k K --seed S --ignore-eos
               --stop SEQ]  one line per prompt: text (with a tokenizer) or ids
  tokenize     --tokenizer FILE [--] TEXT     prints the ids as one JSON array
  detokenize   --tokenizer FILE --token-ids 1,2,3   prints the text

Clients of egmla-server [--server HOST:PORT (localhost:50051) --api-key-file FILE
                         --tls-ca FILE --timeout SECONDS]:
  generate     (--token-ids 1,2,3 | [--] TEXT) [--max-tokens N --temperature T (default 0)
               --top-p P --top-k K --min-p P --seed S --stop SEQ[,SEQ...] --ignore-eos
               --request-id ID --logprobs --json]
               Streams text as it arrives (ids separated by spaces when the model has no
               tokenizer; 'id(logprob)' per token with --logprobs; one JSON object per
               response message with --json), then a newline.
  info         GetModelInfo as one JSON object
  load         GetLoad as one JSON object
  health       [--service NAME] prints the serving status; exit 0 only when SERVING

Exit status of the clients: 0 success; 1 the call failed ("egmla CMD: CODE: message" on
stderr) or health is not SERVING; 2 a usage error.)";

// Sampling flags are range-checked here, like the server does for requests (DESIGN §4).
std::optional<std::string> CheckSampling(const egmla::SamplingParams& s) {
  if (!(s.temperature >= 0 && s.temperature <= 100)) return "--temperature must be in [0, 100]";
  if (!(s.top_p > 0 && s.top_p <= 1)) return "--top-p must be in (0, 1]";
  if (!(s.min_p >= 0 && s.min_p <= 1)) return "--min-p must be in [0, 1]";
  return std::nullopt;
}

egmla::cli::ClientOptions GetClientOptions() {
  return {.server = absl::GetFlag(FLAGS_server),
          .api_key_file = absl::GetFlag(FLAGS_api_key_file),
          .tls_ca = absl::GetFlag(FLAGS_tls_ca),
          .timeout_seconds = absl::GetFlag(FLAGS_timeout)};
}

// Each --stop occurrence counts (absl alone keeps only the last one); `args` is argv after
// NormalizeFlagNames. Values that did not come from argv (--flagfile) fall back to absl's.
std::vector<std::string> GetStopSequences(const std::vector<std::string>& args) {
  std::vector<std::string> values = egmla::cli::CollectFlagValues(args, "stop");
  if (values.empty()) values.push_back(absl::StrJoin(absl::GetFlag(FLAGS_stop), ","));
  return egmla::cli::ParseStopSequences(values);
}

int Generate(const std::vector<std::string>& args, const std::optional<std::string>& text) {
  egmla::cli::GenerateOptions o{.client = GetClientOptions(),
                                .request_id = absl::GetFlag(FLAGS_request_id),
                                .token_ids = absl::GetFlag(FLAGS_token_ids),
                                .text = text,
                                .max_tokens = absl::GetFlag(FLAGS_max_tokens),
                                .temperature = absl::GetFlag(FLAGS_temperature),
                                .top_p = absl::GetFlag(FLAGS_top_p),
                                .top_k = absl::GetFlag(FLAGS_top_k),
                                .min_p = absl::GetFlag(FLAGS_min_p),
                                .seed = absl::GetFlag(FLAGS_seed),
                                .stop = GetStopSequences(args),
                                .ignore_eos = absl::GetFlag(FLAGS_ignore_eos),
                                .logprobs = absl::GetFlag(FLAGS_logprobs),
                                .json = absl::GetFlag(FLAGS_json)};
  // `--prompt TEXT` works too, as in `run`.
  if (!absl::GetFlag(FLAGS_prompt).empty()) {
    if (o.text) {
      std::cerr << "egmla generate: give the text as --prompt or as an argument, not both\n";
      return 2;
    }
    o.text = absl::GetFlag(FLAGS_prompt);
  }
  return egmla::cli::Generate(o);
}

// `positional` holds the arguments after the subcommand; only generate takes one (TEXT).
int Dispatch(const std::string& command, const std::vector<std::string>& positional,
             const std::vector<std::string>& args) {
  namespace cli = egmla::cli;
  const bool takes_text = command == "generate" || command == "tokenize";
  const size_t max_positional = takes_text ? 1 : 0;
  if (positional.size() > max_positional) {
    std::cerr << "egmla: unexpected argument '" << positional[max_positional] << "'"
              << (takes_text ? " (quote TEXT as one argument)" : "") << "\n";
    return 2;
  }
  if (command == "generate") {
    return Generate(args,
                    positional.empty() ? std::nullopt : std::optional<std::string>(positional[0]));
  }
  if (command == "tokenize") {
    if (positional.empty()) {
      std::cerr << "egmla tokenize: give the TEXT (after -- when it begins with a dash)\n";
      return 2;
    }
    return cli::Tokenize(absl::GetFlag(FLAGS_tokenizer), positional[0]);
  }
  if (command == "detokenize") {
    return cli::Detokenize(absl::GetFlag(FLAGS_tokenizer), absl::GetFlag(FLAGS_token_ids));
  }
  if (command == "info") return cli::Info(GetClientOptions());
  if (command == "load") return cli::Load(GetClientOptions());
  if (command == "health") {
    return cli::Health({.client = GetClientOptions(), .service = absl::GetFlag(FLAGS_service)});
  }
  if (command == "score") {
    return cli::Score({.model_dir = absl::GetFlag(FLAGS_model),
                       .token_ids = absl::GetFlag(FLAGS_token_ids),
                       .logits_out = absl::GetFlag(FLAGS_logits_out),
                       .gate_mode = absl::GetFlag(FLAGS_gate_mode)});
  }
  if (command == "kv-size") {
    return cli::KvSize({.config_path = absl::GetFlag(FLAGS_config),
                        .dtype = absl::GetFlag(FLAGS_dtype),
                        .gate_mode = absl::GetFlag(FLAGS_gate_mode)});
  }
  if (command == "random-model") {
    if (!absl::GetFlag(FLAGS_seed)) {
      std::cerr << "egmla random-model: --seed is required\n";
      return 1;
    }
    return cli::RandomModel({.config_path = absl::GetFlag(FLAGS_config),
                             .seed = *absl::GetFlag(FLAGS_seed),
                             .out_dir = absl::GetFlag(FLAGS_out),
                             .dtype = absl::GetFlag(FLAGS_dtype)});
  }
  if (command == "run") {
    cli::RunOptions o{
        .model_dir = absl::GetFlag(FLAGS_model),
        .token_ids = absl::GetFlag(FLAGS_token_ids),
        .prompt = absl::GetFlag(FLAGS_prompt),
        .prompts_file = absl::GetFlag(FLAGS_prompts),
        .gate_mode = absl::GetFlag(FLAGS_gate_mode),
        .max_tokens = absl::GetFlag(FLAGS_max_tokens),
        .ignore_eos = absl::GetFlag(FLAGS_ignore_eos),
        .seed_set = absl::GetFlag(FLAGS_seed).has_value(),
        .sampling = {.temperature = absl::GetFlag(FLAGS_temperature),
                     .top_p = absl::GetFlag(FLAGS_top_p).value_or(1.0f),
                     .top_k = static_cast<int32_t>(absl::GetFlag(FLAGS_top_k).value_or(0)),
                     .min_p = absl::GetFlag(FLAGS_min_p).value_or(0.0f),
                     .seed = absl::GetFlag(FLAGS_seed).value_or(0)},
        .stop_sequences = GetStopSequences(args)};
    if (auto error = CheckSampling(o.sampling)) {
      std::cerr << "egmla run: " << *error << "\n";
      return 1;
    }
    return cli::Run(o);
  }
  std::cerr << "egmla: unknown subcommand '" << command << "'\n\n" << kUsage << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  const egmla::CommandLine line = egmla::ParseCommandLine(argc, argv);
  if (line.positional.empty()) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  if (const int32_t threads = absl::GetFlag(FLAGS_cpu_threads); threads != 0) {
    if (threads < 0) {
      std::cerr << "egmla: --cpu-threads: must be >= 0 (0 = the usable cores), got " << threads
                << "\n";
      return 2;
    }
    egmla::ops::SetCpuThreads(threads);
  }
  return Dispatch(line.positional[0],
                  std::vector<std::string>(line.positional.begin() + 1, line.positional.end()),
                  line.args);
}
