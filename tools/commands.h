// The offline subcommands of `egmla` (DESIGN §5.1). Flags are parsed in egmla_main.cc only;
// each command takes a plain options struct and returns the process exit code, printing errors
// to stderr.
#ifndef EGMLA_TOOLS_COMMANDS_H_
#define EGMLA_TOOLS_COMMANDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "model/sampler.h"

namespace egmla::cli {

struct ScoreOptions {
  std::string model_dir;
  std::string token_ids;   // "1,2,3"
  std::string logits_out;  // float32 little-endian [T, vocab]
  std::string gate_mode;   // "table" | "onthefly" | "auto"
};
int Score(const ScoreOptions& options);

struct KvSizeOptions {
  std::string config_path;
  std::string dtype;      // of the cache: "f32" | "bf16" | "f16"
  std::string gate_mode;  // for gate_table_bytes: "table" | "onthefly"
};
int KvSize(const KvSizeOptions& options);

struct RandomModelOptions {
  std::string config_path;
  uint64_t seed = 0;
  std::string out_dir;
  std::string dtype;  // of the written weights
};
int RandomModel(const RandomModelOptions& options);

struct RunOptions {
  std::string model_dir;
  std::string token_ids;     // one prompt as "1,2,3", or
  std::string prompt;        // one text prompt, or
  std::string prompts_file;  // one prompt per line (only integers: ids; else text)
  std::string gate_mode;
  uint32_t max_tokens = 0;  // 0 = default_max_tokens
  uint32_t default_max_tokens = 256;
  int64_t kv_cache_memory_bytes = int64_t{1} << 30;
  bool ignore_eos = false;
  bool seed_set = false;
  SamplingParams sampling;
};
int Run(const RunOptions& options);

}  // namespace egmla::cli

#endif  // EGMLA_TOOLS_COMMANDS_H_
