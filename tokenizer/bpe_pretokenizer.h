// The `pre_tokenizer` of a tokenizer.json: splits text into the words BPE encodes one by one.
// Supported, as Hugging Face tokenizers implements them:
//   ByteLevel {add_prefix_space, use_regex}: with use_regex, GPT-2's pattern
//       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+  (Isolated).
//   Split {pattern: {"Regex": ...} | {"String": ...}, behavior, invert}: behaviors Removed,
//       Isolated, MergedWithPrevious, MergedWithNext, Contiguous (Llama-3 and DeepSeek use
//       Sequence[Split(Isolated)..., ByteLevel(use_regex=false)]).
//   Digits {individual_digits}, Sequence {pretokenizers} (nested at most 64 deep), and null (the
//   text is one word).
// Others (Metaspace, Whitespace, BertPreTokenizer, ...) are UNIMPLEMENTED.
// Regexes run on PCRE2 (UTF + UCP), not Oniguruma as in Hugging Face: they agree on the patterns
// these models use; PCRE2's \s lacks U+0085 (NEL), which Unicode's White_Space has.
#ifndef EGMLA_TOKENIZER_BPE_PRETOKENIZER_H_
#define EGMLA_TOKENIZER_BPE_PRETOKENIZER_H_

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tokenizer/bpe_regex.h"

namespace egmla {

// GPT-2's pre-tokenizer pattern (ByteLevel with use_regex).
inline constexpr std::string_view kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// How a Split step treats the matches of its pattern (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

class BpePreTokenizer {
 public:
  // `pre_tokenizer` is the tokenizer.json field (null allowed). Errors name the step.
  static absl::StatusOr<BpePreTokenizer> FromJson(const nlohmann::json& pre_tokenizer);

  // Appends the words of `text` (never empty strings). REQUIRES: `text` is valid UTF-8.
  absl::Status Split(std::string_view text, std::vector<std::string>* words) const;

  // Whether a ByteLevel step is present: the vocabulary is then byte-level (GPT-2's table).
  bool has_byte_level() const { return has_byte_level_; }

 private:
  struct Step {
    bool add_prefix_space = false;    // ByteLevel: prepend ' ' to a piece not starting with one
    std::unique_ptr<BpeRegex> regex;  // null: the piece is kept whole
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
  };
  // How deep Sequence steps may nest (INVALID_ARGUMENT beyond).
  static constexpr int kMaxSequenceDepth = 64;
  static absl::Status AddSteps(const nlohmann::json& node, int depth, BpePreTokenizer* out);
  static absl::Status ApplyStep(const Step& step, std::string_view piece,
                                std::vector<std::string>* out);

  std::vector<Step> steps_;
  bool has_byte_level_ = false;
};

}  // namespace egmla

#endif  // EGMLA_TOKENIZER_BPE_PRETOKENIZER_H_
