// `egmla`: one CLI with subcommands (DESIGN §5.1). Flags are defined and parsed here only.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/flag_names.h"
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
ABSL_FLAG(float, top_p, 1.0f, "nucleus sampling threshold in (0, 1]");
ABSL_FLAG(uint32_t, top_k, 0, "keep the k most likely tokens; 0 = off");
ABSL_FLAG(float, min_p, 0.0f, "drop tokens below min_p times the top probability");
ABSL_FLAG(bool, ignore_eos, false, "keep generating past the end-of-sequence token");

namespace {

constexpr char kUsage[] = R"(egmla SUBCOMMAND [flags]

Offline subcommands:
  score        --model DIR --token-ids 1,2,3 --logits-out FILE
  kv-size      --config FILE [--dtype bf16]
  random-model --config FILE --seed N --out DIR [--dtype f32|bf16|f16]
  run          --model DIR (--token-ids 1,2,3 | --prompt TEXT | --prompts FILE)
               [--max-tokens N --temperature T --top-p P --top-k K --seed S --ignore-eos])";

// Sampling flags are range-checked here, like the server does for requests (DESIGN §4).
std::optional<std::string> CheckSampling(const egmla::SamplingParams& s) {
  if (!(s.temperature >= 0 && s.temperature <= 100)) return "--temperature must be in [0, 100]";
  if (!(s.top_p > 0 && s.top_p <= 1)) return "--top-p must be in (0, 1]";
  if (!(s.min_p >= 0 && s.min_p <= 1)) return "--min-p must be in [0, 1]";
  return std::nullopt;
}

int Dispatch(const std::string& command) {
  namespace cli = egmla::cli;
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
    cli::RunOptions o{.model_dir = absl::GetFlag(FLAGS_model),
                      .token_ids = absl::GetFlag(FLAGS_token_ids),
                      .prompt = absl::GetFlag(FLAGS_prompt),
                      .prompts_file = absl::GetFlag(FLAGS_prompts),
                      .gate_mode = absl::GetFlag(FLAGS_gate_mode),
                      .max_tokens = absl::GetFlag(FLAGS_max_tokens),
                      .ignore_eos = absl::GetFlag(FLAGS_ignore_eos),
                      .seed_set = absl::GetFlag(FLAGS_seed).has_value(),
                      .sampling = {.temperature = absl::GetFlag(FLAGS_temperature),
                                   .top_p = absl::GetFlag(FLAGS_top_p),
                                   .top_k = static_cast<int32_t>(absl::GetFlag(FLAGS_top_k)),
                                   .min_p = absl::GetFlag(FLAGS_min_p),
                                   .seed = absl::GetFlag(FLAGS_seed).value_or(0)}};
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
  std::vector<std::string> args = egmla::NormalizeFlagNames(argc, argv);
  std::vector<char*> arg_ptrs;
  for (std::string& a : args) arg_ptrs.push_back(a.data());
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());
  if (positional.size() < 2) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  if (positional.size() > 2) {
    std::cerr << "egmla: unexpected argument '" << positional[2] << "'\n";
    return 2;
  }
  return Dispatch(positional[1]);
}
