// The subcommands of `egmla` (DESIGN §5.1): offline ones and gRPC clients. Flags are parsed in
// egmla_main.cc only; each command takes a plain options struct and returns the process exit code,
// printing errors to stderr.
#ifndef EGMLA_TOOLS_COMMANDS_H_
#define EGMLA_TOOLS_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runner/sampler.h"

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
  std::vector<std::string> stop_sequences;  // needs a tokenizer
};
int Run(const RunOptions& options);

// `tokenize --tokenizer FILE TEXT`: the ids as one JSON array. `detokenize --tokenizer FILE
// --token-ids 1,2,3`: the text. FILE is a tokenizer.json or a SentencePiece .model.
int Tokenize(const std::string& tokenizer_path, const std::string& text);
int Detokenize(const std::string& tokenizer_path, const std::string& token_ids);

// --- Clients of a running egmla-server. Exit codes: 0 success; 1 the call failed (the status is
// printed as "egmla COMMAND: CODE_NAME: message") or, for health, the server is not SERVING;
// 2 a usage error found before any call (bad flags, unreadable files).

struct ClientOptions {
  std::string server = "localhost:50051";  // HOST:PORT
  std::string api_key_file;  // sends "authorization: Bearer <key>" (file content, trimmed)
  std::string tls_ca;        // PEM root CA: use TLS; empty = insecure channel
  std::optional<double> timeout_seconds;  // deadline per call; unset = the command's default
};

struct GenerateOptions {
  ClientOptions client;
  std::string request_id;           // empty: the server makes one
  std::string token_ids;            // "1,2,3", or
  std::optional<std::string> text;  // the TEXT argument
  uint32_t max_tokens = 0;          // 0 = the server's --default-max-tokens
  float temperature = 0;            // always sent (0 = greedy, for reproducible output)
  std::optional<float> top_p;       // the other sampling fields are sent only when given
  std::optional<uint32_t> top_k;
  std::optional<float> min_p;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;  // stop sequences, one per entry (see ParseStopSequences)
  bool ignore_eos = false;
  bool logprobs = false;  // print "id(logprob)" per token instead of text
  bool json = false;      // print each GenerateResponse as one JSON line
};
int Generate(const GenerateOptions& options);

// GetModelInfo / GetLoad, printed as one JSON object on one line (proto field names, zero fields
// included).
int Info(const ClientOptions& options);
int Load(const ClientOptions& options);

struct HealthOptions {
  ClientOptions client;
  std::string service = "egmla.v1.Generation";  // readiness; "" = liveness
};
// Prints the serving status; exit 0 only when SERVING.
int Health(const HealthOptions& options);

}  // namespace egmla::cli

#endif  // EGMLA_TOOLS_COMMANDS_H_
