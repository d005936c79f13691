// `egmla run`: offline generation for one prompt or a file of prompts, one output line each.
// All prompts run through the engine at once (continuous batching); outputs print in order: the
// generated text when the model has a tokenizer (newlines escaped as \n so a line stays a
// prompt), else the ids separated by spaces.
#include <iostream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/regular_file.h"
#include "common/status.h"
#include "engine/collecting_sink.h"
#include "engine/engine.h"
#include "model/model.h"
#include "runner/make_executor.h"
#include "tokenizer/tokenizer.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/token_ids.h"

namespace egmla::cli {
namespace {

// The ids of one prompt: integers are ids, anything else is text for the tokenizer.
absl::StatusOr<std::vector<int32_t>> PromptIds(const std::string& where, const std::string& text,
                                               bool is_ids, const Tokenizer* tokenizer,
                                               const ModelConfig& config) {
  if (is_ids) return ParseTokenIds(text);
  if (tokenizer == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        where, ": text prompts need a tokenizer and this model has none; give token ids"));
  }
  EGMLA_ASSIGN_OR_RETURN(std::vector<int32_t> encoded, tokenizer->Encode(text));
  std::vector<int32_t> ids;
  ids.reserve(encoded.size() + 1);
  if (auto prefix = config.text_prefix_token_id()) ids.push_back(*prefix);
  for (int32_t id : encoded) ids.push_back(id);
  if (ids.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": empty prompt"));
  return ids;
}

absl::StatusOr<std::vector<std::vector<int32_t>>> ReadPrompts(const RunOptions& o,
                                                              const Tokenizer* tokenizer,
                                                              const ModelConfig& config) {
  const int given = !o.token_ids.empty() + !o.prompt.empty() + !o.prompts_file.empty();
  if (given != 1) {
    return absl::InvalidArgumentError("give exactly one of --token-ids, --prompt, --prompts");
  }
  std::vector<std::vector<int32_t>> prompts;
  if (!o.token_ids.empty() || !o.prompt.empty()) {
    EGMLA_ASSIGN_OR_RETURN(
        std::vector<int32_t> ids,
        PromptIds(o.prompt.empty() ? "--token-ids" : "--prompt",
                  o.prompt.empty() ? o.token_ids : o.prompt, o.prompt.empty(), tokenizer, config));
    prompts.push_back(std::move(ids));
    return prompts;
  }
  absl::StatusOr<std::string> text = ReadRegularFile(o.prompts_file);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat("--prompts: ", text.status().message()));
  }
  std::vector<std::string> lines = absl::StrSplit(*text, '\n');
  // As std::getline: a final newline ends the last line, and an empty file has no lines.
  if (lines.back().empty()) lines.pop_back();
  for (size_t i = 0; i < lines.size(); ++i) {
    EGMLA_ASSIGN_OR_RETURN(std::vector<int32_t> ids,
                           PromptIds(absl::StrCat(o.prompts_file, ":", i + 1), lines[i],
                                     IsTokenIdLine(lines[i]), tokenizer, config));
    prompts.push_back(std::move(ids));
  }
  return prompts;
}

absl::Status RunImpl(const RunOptions& o) {
  if (o.model_dir.empty()) return absl::InvalidArgumentError("--model is required");
  EGMLA_ASSIGN_OR_RETURN(auto model,
                         LoadModelForCli(o.model_dir, o.gate_mode, o.kv_cache_memory_bytes));
  EGMLA_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, LoadModelTokenizer(o.model_dir));
  EGMLA_ASSIGN_OR_RETURN(auto prompts, ReadPrompts(o, tokenizer.get(), model->config()));
  if (!o.stop_sequences.empty() && tokenizer == nullptr) {
    return absl::FailedPreconditionError("--stop: the model has no tokenizer");
  }
  SamplingParams sampling = o.sampling;
  if (!o.seed_set) sampling.seed = std::random_device()();
  EGMLA_ASSIGN_OR_RETURN(
      std::unique_ptr<Executor> executor,
      MakeExecutor(*model, {.kv_cache_memory_bytes = o.kv_cache_memory_bytes, .block_size = 16}));
  SchedulerConfig config;
  config.max_queued_requests = std::max<int64_t>(config.max_queued_requests, prompts.size());
  config.num_blocks = executor->num_blocks();
  config.block_size = static_cast<int32_t>(executor->block_size());
  EGMLA_RETURN_IF_ERROR(ValidateSchedulerConfig(config));

  // Every prompt goes in at once; continuous batching runs them together.
  Engine engine(std::move(executor), {.scheduler = config}, /*observer=*/nullptr, tokenizer.get());
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (std::vector<int32_t>& prompt : prompts) {
    sinks.push_back(std::make_shared<CollectingSink>());
    engine.Submit({.prompt_ids = std::move(prompt),
                   .sampling = sampling,
                   .stopping = {.max_tokens = o.max_tokens ? o.max_tokens : o.default_max_tokens,
                                .ignore_eos = o.ignore_eos},
                   .stop_sequences = o.stop_sequences,
                   .sink = sinks.back()});
  }
  for (size_t i = 0; i < sinks.size(); ++i) {
    const std::vector<RequestOutput> outputs = sinks[i]->Wait();
    if (!outputs.back().error.ok()) {
      return absl::Status(outputs.back().error.code(),
                          absl::StrCat("prompt ", i + 1, ": ", outputs.back().error.message()));
    }
    std::vector<int32_t> ids;
    std::string text;
    for (const RequestOutput& out : outputs) {
      ids.insert(ids.end(), out.token_ids.begin(), out.token_ids.end());
      text += out.text;
    }
    if (tokenizer) {
      std::cout << absl::StrReplaceAll(text, {{"\\", "\\\\"}, {"\n", "\\n"}}) << "\n";
    } else {
      std::cout << absl::StrJoin(ids, " ") << "\n";
    }
  }
  std::cout.flush();
  return absl::OkStatus();
}

}  // namespace

int Run(const RunOptions& options) { return ExitCode("run", RunImpl(options)); }

}  // namespace egmla::cli
