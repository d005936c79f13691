// Added tokens of a tokenizer.json (`added_tokens`: special tokens like <|endoftext|> and any
// tokens added after training). As Hugging Face tokenizers does, they are split out of the text
// before pre-tokenization: first the tokens with "normalized": false over the whole text, then
// those with "normalized": true over what remains; each pass takes the leftmost match, the
// longest one among those starting there. "single_word" tokens match only between non-word
// characters (\w); "lstrip" / "rstrip" tokens also swallow the whitespace (\s) before / after them.
#ifndef EGMLA_TOKENIZER_BPE_ADDED_TOKENS_H_
#define EGMLA_TOKENIZER_BPE_ADDED_TOKENS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "tokenizer/bpe_regex.h"

namespace egmla {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

class AddedTokenSplitter {
 public:
  // A part of the text: an added token's id, or text (id == -1) for the pre-tokenizer.
  struct Segment {
    std::string_view text;
    int32_t id;
  };

  // INVALID_ARGUMENT for an empty content.
  static absl::StatusOr<AddedTokenSplitter> Create(const std::vector<AddedToken>& tokens);

  // The segments of `text` in order; text segments are never empty. The views point into `text`.
  // REQUIRES: `text` is valid UTF-8.
  std::vector<Segment> Split(std::string_view text) const;

 private:
  // A byte trie over the contents of one pass's tokens.
  struct Trie {
    absl::flat_hash_map<uint64_t, int32_t> children;  // (node << 8 | byte) -> node
    std::vector<int32_t> token_at;                    // node -> index into tokens_, or -1
    void Add(std::string_view content, int32_t token_index);
    // The token index and length of the longest token starting at text[offset], or -1.
    std::pair<int32_t, size_t> LongestAt(std::string_view text, size_t offset) const;
  };
  void SplitPass(const Trie& trie, std::string_view text, std::vector<Segment>* out) const;
  bool EndsWithWordChar(std::string_view text) const;
  bool StartsWithWordChar(std::string_view text) const;
  size_t TrailingSpaceBegin(std::string_view text) const;
  size_t LeadingSpaceEnd(std::string_view text) const;

  std::vector<AddedToken> tokens_;
  Trie raw_;         // "normalized": false
  Trie normalized_;  // "normalized": true
  std::shared_ptr<const BpeRegex> word_char_;
  std::shared_ptr<const BpeRegex> space_char_;
};

}  // namespace egmla

#endif  // EGMLA_TOKENIZER_BPE_ADDED_TOKENS_H_
