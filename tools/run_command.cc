// `egmla run`: offline generation for one prompt or a file of prompts, one output line each.
// All prompts run through the engine at once (continuous batching); outputs print in order.
#include <fstream>
#include <iostream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "engine/collecting_sink.h"
#include "engine/engine.h"
#include "kvcache/capacity.h"
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

absl::Status RunImpl(const RunOptions& o) {
  if (o.model_dir.empty()) return absl::InvalidArgumentError("--model is required");
  EGMLA_ASSIGN_OR_RETURN(auto prompts, ReadPrompts(o));
  EGMLA_ASSIGN_OR_RETURN(auto model, LoadModelForCli(o.model_dir, o.gate_mode));
  SamplingParams sampling = o.sampling;
  if (!o.seed_set) sampling.seed = std::random_device()();
  const int32_t block_size = 16;
  SchedulerConfig config{
      .block_size = block_size,
      .num_blocks = NumBlocksForMemory(o.kv_cache_memory_bytes, model->cache_spec(), block_size)};
  config.max_queued_requests = std::max<int64_t>(config.max_queued_requests, prompts.size());
  EGMLA_RETURN_IF_ERROR(ValidateSchedulerConfig(config));

  // Every prompt goes in at once; continuous batching runs them together.
  Engine engine(*model, config);
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (std::vector<int32_t>& prompt : prompts) {
    sinks.push_back(std::make_shared<CollectingSink>());
    engine.Submit({.prompt_ids = std::move(prompt),
                   .sampling = sampling,
                   .stopping = {.max_tokens = o.max_tokens ? o.max_tokens : o.default_max_tokens,
                                .ignore_eos = o.ignore_eos},
                   .sink = sinks.back()});
  }
  for (size_t i = 0; i < sinks.size(); ++i) {
    const std::vector<RequestOutput> outputs = sinks[i]->Wait();
    if (!outputs.back().error.ok()) {
      return absl::Status(outputs.back().error.code(),
                          absl::StrCat("prompt ", i + 1, ": ", outputs.back().error.message()));
    }
    std::vector<int32_t> ids;
    for (const RequestOutput& out : outputs) {
      ids.insert(ids.end(), out.token_ids.begin(), out.token_ids.end());
    }
    std::cout << absl::StrJoin(ids, " ") << "\n";
  }
  std::cout.flush();
  return absl::OkStatus();
}

}  // namespace

int Run(const RunOptions& options) { return ExitCode("run", RunImpl(options)); }

}  // namespace egmla::cli
