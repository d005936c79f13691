// `egmla run`: offline generation for one prompt or a file of prompts, one output line each.
// Until the engine exists (issue 3) prompts run one after another through the model directly.
#include <fstream>
#include <iostream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "model/model.h"
#include "model/sampler.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/token_ids.h"

namespace egmla::cli {
namespace {

absl::StatusOr<std::vector<std::vector<int32_t>>> ReadPrompts(const RunOptions& o) {
  const int given = !o.token_ids.empty() + !o.prompt.empty() + !o.prompts_file.empty();
  if (given != 1) {
    return absl::InvalidArgumentError("give exactly one of --token-ids, --prompt, --prompts");
  }
  auto no_tokenizer = [](const std::string& where) {
    return absl::FailedPreconditionError(absl::StrCat(
        where, ": text prompts need a tokenizer and this model has none; give token ids"));
  };
  if (!o.prompt.empty()) return no_tokenizer("--prompt");
  std::vector<std::vector<int32_t>> prompts;
  if (!o.token_ids.empty()) {
    EGMLA_ASSIGN_OR_RETURN(std::vector<int32_t> ids, ParseTokenIds(o.token_ids));
    prompts.push_back(std::move(ids));
    return prompts;
  }
  std::ifstream in(o.prompts_file);
  if (!in) return absl::NotFoundError(absl::StrCat("--prompts: cannot read ", o.prompts_file));
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (!IsTokenIdLine(line)) {
      return no_tokenizer(absl::StrCat(o.prompts_file, ":", line_no));
    }
    EGMLA_ASSIGN_OR_RETURN(std::vector<int32_t> ids, ParseTokenIds(line));
    prompts.push_back(std::move(ids));
  }
  return prompts;
}

// Generates until eos (unless ignored), max_tokens or the context limit.
absl::StatusOr<std::vector<int32_t>> Generate(const Model& model,
                                              const std::vector<int32_t>& prompt,
                                              const RunOptions& o, const SamplingParams& sampling) {
  const ModelConfig& config = model.config();
  if (static_cast<int64_t>(prompt.size()) >= config.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prompt of ", prompt.size(), " tokens leaves no room for one more token (context limit ",
        config.max_position_embeddings, ")"));
  }
  const uint32_t max_tokens = o.max_tokens ? o.max_tokens : o.default_max_tokens;
  SequenceCache cache = model.NewCache();
  std::vector<int32_t> output;
  std::span<const int32_t> next = prompt;
  while (output.size() < max_tokens &&
         cache.length + static_cast<int64_t>(next.size()) < config.max_position_embeddings + 1) {
    EGMLA_ASSIGN_OR_RETURN(std::vector<float> logits, model.Forward(next, &cache));
    const std::span<const float> last =
        std::span<const float>(logits).last(static_cast<size_t>(config.vocab_size));
    const int32_t token = SampleToken(last, sampling, prompt, output);
    output.push_back(token);
    const auto& eos = config.eos_token_ids;
    if (!o.ignore_eos && std::find(eos.begin(), eos.end(), token) != eos.end()) break;
    if (cache.length >= config.max_position_embeddings) break;
    next = std::span<const int32_t>(&output.back(), 1);
  }
  return output;
}

absl::Status RunImpl(const RunOptions& o) {
  if (o.model_dir.empty()) return absl::InvalidArgumentError("--model is required");
  EGMLA_ASSIGN_OR_RETURN(auto prompts, ReadPrompts(o));
  EGMLA_ASSIGN_OR_RETURN(auto model, LoadModelForCli(o.model_dir, o.gate_mode));
  SamplingParams sampling = o.sampling;
  if (!o.seed_set) sampling.seed = std::random_device()();
  for (const auto& prompt : prompts) {
    EGMLA_ASSIGN_OR_RETURN(std::vector<int32_t> output, Generate(*model, prompt, o, sampling));
    std::cout << absl::StrJoin(output, " ") << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace

int Run(const RunOptions& options) { return ExitCode("run", RunImpl(options)); }

}  // namespace egmla::cli
