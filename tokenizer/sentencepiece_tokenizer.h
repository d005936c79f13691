// SentencePiece `.model` files (Llama-2, T5, ... style) through Debian's libsentencepiece.
//
// Encode and Decode are the library's own (`spm_encode --output_format=id`, `spm_decode`
// --input_format=id): normalization as the model specifies, byte fallback, the dummy-prefix
// space removed from the front of a decoded text, ill-formed byte pieces as U+FFFD.
//
// Streaming: the library's decoder is context dependent (the first piece loses its dummy-prefix
// space; byte pieces are only decoded together), so TokenBytes does not call it but maps each id
// once, at load, to the bytes it stands for inside a text: a normal piece with U+2581 '▁' as ' ',
// a byte piece <0xAB> as the single byte 0xAB, a control piece (<s>, </s>) as "", the unknown
// piece as the library's unk surface (" ⁇ "). Concatenating TokenBytes is pure, so each step's text
// is final; the streaming detokenizer holds back the bytes of an unfinished UTF-8 character. The
// difference from Decode is deliberate: generated text continues a prompt, so its first piece's
// space is real text ("Hello" + "▁world" streams " world").
#ifndef EGMLA_TOKENIZER_SENTENCEPIECE_TOKENIZER_H_
#define EGMLA_TOKENIZER_SENTENCEPIECE_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/sentencepiece_backend.h"
#include "tokenizer/tokenizer.h"

namespace egmla {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // Reads `path` (a regular file; errors as ReadRegularFile's) and parses it as FromSerialized.
  static absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> Load(const std::string& path);
  // The model in `model_bytes`, the content of a `.model` file. INVALID_ARGUMENT (with the
  // library's message) when it is not a SentencePiece model; `name` (the file's path) prefixes it.
  static absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> FromSerialized(
      std::string_view model_bytes, std::string_view name);

  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text) const override;
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids) const override;
  std::string_view TokenBytes(int32_t id) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(token_bytes_.size()); }
  bool IsSpecialToken(int32_t id) const override;
  std::optional<int32_t> TokenId(std::string_view token) const override;
  // The longest piece, '▁' counted as the space it stands for and byte pieces as one byte.
  int64_t max_token_bytes() const override { return max_token_bytes_; }

 private:
  explicit SentencePieceTokenizer(std::unique_ptr<sentencepiece_backend::Processor> processor)
      : processor_(std::move(processor)) {}

  std::unique_ptr<sentencepiece_backend::Processor> processor_;
  std::vector<std::string> token_bytes_;  // id -> raw bytes
  std::vector<bool> special_;             // id -> control or unknown
  int64_t max_token_bytes_ = 0;
};

}  // namespace egmla

#endif  // EGMLA_TOKENIZER_SENTENCEPIECE_TOKENIZER_H_
