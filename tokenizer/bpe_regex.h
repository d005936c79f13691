// A compiled PCRE2 pattern in UTF + UCP mode (\p{L}, \s, \w by Unicode properties; lookahead),
// for the pre-tokenizers of tokenizer.json. std::regex has neither Unicode classes nor UTF-8.
#ifndef EGMLA_TOKENIZER_BPE_REGEX_H_
#define EGMLA_TOKENIZER_BPE_REGEX_H_

#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace egmla {

class BpeRegex {
 public:
  // `literal`: match `pattern` as a plain string (Split's {"String": ...} form). INVALID_ARGUMENT
  // with PCRE2's message and offset when the pattern does not compile.
  static absl::StatusOr<std::unique_ptr<BpeRegex>> Compile(std::string_view pattern,
                                                           bool literal = false);
  ~BpeRegex();
  BpeRegex(const BpeRegex&) = delete;
  BpeRegex& operator=(const BpeRegex&) = delete;

  // Appends the [begin, end) byte ranges of the successive non-overlapping, non-empty matches
  // in `subject`, left to right (like Python's findall; an empty match advances one character).
  // REQUIRES: `subject` is well-formed UTF-8 (not re-checked). Thread-safe.
  // RESOURCE_EXHAUSTED if PCRE2 hits its match or heap limit.
  absl::Status FindAll(std::string_view subject,
                       std::vector<std::pair<size_t, size_t>>* matches) const;

  // Whether the whole of `subject` matches (anchored at both ends). Same REQUIRES; false on a
  // match error.
  bool FullMatch(std::string_view subject) const;

 private:
  explicit BpeRegex(void* code) : code_(code) {}
  void* code_;  // pcre2_code_8*
};

}  // namespace egmla

#endif  // EGMLA_TOKENIZER_BPE_REGEX_H_
