// The prompts and output lengths the load generator sends: random token ids (vLLM's "random"
// dataset) or the lines of a file, with lengths drawn uniformly around a target.
#ifndef EGMLA_LOAD_TESTS_REQUEST_GENERATOR_H_
#define EGMLA_LOAD_TESTS_REQUEST_GENERATOR_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "egmla/v1/generation.pb.h"

namespace egmla::loadgen {

// One prompt: token ids, or text when `token_ids` is empty.
struct Prompt {
  std::vector<int32_t> token_ids;
  std::string text;
};

// Reads a dataset: one prompt per line; a line of only integers (commas or spaces between) is
// token ids, any other line text. Blank lines are skipped; a trailing '\r' is dropped. Errors
// name the file and the line.
absl::StatusOr<std::vector<Prompt>> ReadDataset(const std::string& path);

// Lengths uniform in [floor(len * (1 - ratio)), floor(len * (1 + ratio))], both ends included
// and at least 1, as vLLM's --random-range-ratio.
struct LengthRange {
  int64_t min = 1;
  int64_t max = 1;
};
// REQUIRES: len >= 1, 0 <= ratio < 1.
LengthRange RangeAround(int64_t len, double ratio);

struct GeneratorOptions {
  int64_t input_len = 128;  // random prompts only
  int64_t output_len = 64;  // max_tokens, for every prompt
  double range_ratio = 0;   // for both lengths
  int32_t vocab_size = 0;   // ids are drawn from [0, vocab_size)
  uint64_t seed = 0;
  std::vector<Prompt> dataset;  // empty: random prompts; else used in order, cyclically
};

// What to send for request `index`.
struct RequestSpec {
  int64_t index = 0;
  Prompt prompt;
  int64_t max_tokens = 0;
};

// Not thread-safe. The same options give the same sequence of specs.
class RequestGenerator {
 public:
  // REQUIRES: input_len, output_len >= 1; 0 <= range_ratio < 1; vocab_size >= 1.
  explicit RequestGenerator(GeneratorOptions options);

  RequestSpec Next();

 private:
  GeneratorOptions options_;
  LengthRange input_range_;
  LengthRange output_range_;
  std::mt19937_64 rng_;
  int64_t next_index_ = 0;
};

// The sampling and stopping fields every request carries.
struct RequestParams {
  std::string request_id_prefix;  // ids are PREFIX-INDEX
  float temperature = 0;
  bool ignore_eos = true;
  uint64_t seed = 0;  // the sampling seed of request i is seed + i
};

egmla::v1::GenerateRequest ToGenerateRequest(const RequestSpec& spec, const RequestParams& params);

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_REQUEST_GENERATOR_H_
