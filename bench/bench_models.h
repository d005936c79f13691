// What the benchmarks share: random-weight models of a config file, and English text as GPT-2
// token ids (real text for the id-grouped EG-MLA decode, whose speed depends on how often ids
// repeat).
#ifndef EGMLA_BENCH_BENCH_MODELS_H_
#define EGMLA_BENCH_BENCH_MODELS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"

namespace egmla {

std::string ReadText(const std::string& path);

// A random-weight model of `config_path` with `layers` layers (0 = as configured), room for
// 8,200 positions and, when vocab > 0, that vocabulary (small models for smoke runs). Exits with
// a message on a bad config.
std::unique_ptr<Model> RandomModel(const std::string& config_path, int layers,
                                   const ModelOptions& options = {}, int64_t vocab = 0);

// English text as GPT-2 ids: the licenses Debian ships, tokenized with tests/data's GPT-2
// tokenizer; empty (with a message) when the tokenizer or the text is missing.
std::vector<int32_t> EnglishTextIds(const std::string& repo);

}  // namespace egmla

#endif  // EGMLA_BENCH_BENCH_MODELS_H_
