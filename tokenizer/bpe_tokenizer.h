// Hugging Face `tokenizer.json` with a byte-level BPE model (GPT-2, Llama-3, DeepSeek style).
//
// Read from the file: model (type "BPE": vocab, merges as "a b" strings or ["a", "b"] pairs,
// unk_token, fuse_unk, byte_fallback, ignore_merges), added_tokens (tokenizer/bpe_added_tokens.h),
// pre_tokenizer (tokenizer/bpe_pretokenizer.h; it must contain a ByteLevel step), normalizer (null
// or an empty Sequence). Ignored: post_processor (Encode adds no special tokens), decoder (decoding
// is byte-level: vocabulary strings through GPT-2's byte<->unicode table, added tokens as their
// content), truncation, padding.
// UNIMPLEMENTED, named: other model types, BPE dropout, continuing_subword_prefix /
// end_of_word_suffix, normalizers, pre-tokenizers other than those above.
//
// Encoding: added tokens are split out first, the rest is pre-tokenized into words, each word's
// UTF-8 bytes are BPE-merged (tokenizer/bpe_model.h). This gives GPT-2's own ids for GPT-2's files.
#ifndef EGMLA_TOKENIZER_BPE_TOKENIZER_H_
#define EGMLA_TOKENIZER_BPE_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "tokenizer/bpe_added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/bpe_pretokenizer.h"
#include "tokenizer/tokenizer.h"

namespace egmla {

class BpeTokenizer final : public Tokenizer {
 public:
  // Ids must lie in [0, kMaxVocabSize): a larger id in a file is INVALID_ARGUMENT.
  static constexpr int64_t kMaxVocabSize = int64_t{1} << 24;

  // Parses the contents of a tokenizer.json. Errors as LoadTokenizer documents; `name` (the
  // file's path) prefixes their messages.
  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> FromJson(std::string_view json,
                                                                std::string_view name);

  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text) const override;
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids) const override;
  std::string_view TokenBytes(int32_t id) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(token_bytes_.size()); }
  bool IsSpecialToken(int32_t id) const override;
  std::optional<int32_t> TokenId(std::string_view token) const override;
  // The longest decoded vocabulary entry or added token.
  int64_t max_token_bytes() const override { return max_token_bytes_; }

 private:
  BpeTokenizer(std::unique_ptr<BpeModel> model, BpePreTokenizer pre_tokenizer,
               AddedTokenSplitter added)
      : model_(std::move(model)),
        pre_tokenizer_(std::move(pre_tokenizer)),
        added_(std::move(added)) {}

  std::unique_ptr<BpeModel> model_;
  BpePreTokenizer pre_tokenizer_;
  AddedTokenSplitter added_;
  std::vector<std::string> token_bytes_;  // id -> raw bytes ("" for unused ids)
  std::vector<bool> special_;             // id -> special added token
  // TokenId lookups the byte-level model cannot answer: added tokens' contents and vocabulary
  // strings outside the byte-level alphabet.
  absl::flat_hash_map<std::string, int32_t> extra_tokens_;
  int64_t max_token_bytes_ = 0;
};

// GPT-2's byte <-> printable character table (bytes_to_unicode in GPT-2's encoder.py): each byte
// maps to one code point; printable Latin-1 bytes map to themselves, the others to U+0100...
char32_t ByteToUnicode(uint8_t byte);
// The byte a code point stands for, or -1 when it is outside the table.
int ByteFromUnicode(char32_t code_point);

}  // namespace egmla

#endif  // EGMLA_TOKENIZER_BPE_TOKENIZER_H_
