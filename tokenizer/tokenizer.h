// Text <-> token ids (DESIGN §3.3, §5). Two implementations behind one interface: Hugging Face
// `tokenizer.json` byte-level BPE (GPT-2, Llama-3, DeepSeek style; tokenizer/bpe_tokenizer.h) and
// SentencePiece `.model` files (tokenizer/sentencepiece_tokenizer.h).
//
// Decoding has two forms:
//   - TokenBytes(id): the raw bytes one token contributes to a text. Byte-level tokens can hold
//     part of a UTF-8 character, so these bytes need not be valid UTF-8 on their own; the
//     concatenation over a sequence is what streaming emits (tokenizer/detokenizer.h holds back
//     incomplete characters). Pure concatenation: no context, so a step can never change text
//     already emitted.
//   - Decode(ids): the whole sequence as the tokenizer library decodes it (Hugging Face
//     `decode`, `spm_decode`): always valid UTF-8, ill-formed bytes as U+FFFD; SentencePiece also
//     drops the space its dummy prefix put before the first piece. For `egmla detokenize`.
//
// Encode never adds special tokens (BOS/EOS, the tokenizer.json post_processor's template):
// callers that want them add the ids themselves.
//
// Thread safety: a loaded Tokenizer is immutable (BPE's word cache is internally locked); every
// method may be called from any number of threads at once.
#ifndef EGMLA_TOKENIZER_TOKENIZER_H_
#define EGMLA_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace egmla {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // The ids of `text`. INVALID_ARGUMENT when `text` is not well-formed UTF-8, naming the byte
  // offset of the first bad byte; RESOURCE_EXHAUSTED when a tokenizer.json pre-tokenizer regex
  // exceeds PCRE2's match limits on it (a pathological pattern; tokenizer/bpe_regex.h). Empty
  // text gives no ids.
  virtual absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text) const = 0;

  // The text of a whole sequence (see above). INVALID_ARGUMENT naming the first id outside
  // [0, vocab_size()).
  virtual absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids) const = 0;

  // The raw bytes of one token (see above); "" for an id outside [0, vocab_size()) (models often
  // pad their embedding past the tokenizer's vocabulary) and for tokens without text
  // (SentencePiece control tokens such as <s>). The view lives as long as the tokenizer.
  virtual std::string_view TokenBytes(int32_t id) const = 0;

  // One more than the largest id the tokenizer knows (added tokens included).
  virtual int64_t vocab_size() const = 0;

  // The length in bytes of the longest text one token decodes to (TokenBytes(id).size() for
  // every id), and never less than kMinMaxTokenBytes so that any UTF-8 character fits; computed
  // at load. Encoding makes each token cover the input bytes it decodes to, so a text longer than
  // N * max_token_bytes() needs more than N tokens (the server refuses such prompts before
  // tokenizing them). Where encoding drops input the bound is only a guard: SentencePiece's
  // normalization (whitespace collapsing, NFKC), the whitespace an added token's lstrip/rstrip
  // swallows, BPE bytes without a vocabulary entry (dropped, or fused into one unk token).
  virtual int64_t max_token_bytes() const = 0;

  // Special tokens: Hugging Face added tokens marked "special", SentencePiece control and
  // unknown tokens. False for ids outside the vocabulary.
  virtual bool IsSpecialToken(int32_t id) const = 0;

  // The id of a token by its vocabulary entry: an added token's content ("<|endoftext|>"), a
  // byte-level BPE vocabulary string ("Ġthe"), a SentencePiece piece ("▁the").
  virtual std::optional<int32_t> TokenId(std::string_view token) const = 0;
};

// The least max_token_bytes(): the longest UTF-8 character.
inline constexpr int64_t kMinMaxTokenBytes = 4;

// max_token_bytes() of a vocabulary whose tokens decode to `token_bytes` (id -> bytes).
int64_t MaxTokenBytes(const std::vector<std::string>& token_bytes);

// Loads a tokenizer file: a Hugging Face `tokenizer.json` or a SentencePiece `.model`. The kind
// is decided by the extension (".json", ".model"), else by content (JSON starts with '{').
// NOT_FOUND when the file is missing; INVALID_ARGUMENT (naming the file and the problem) when it
// is not a regular file (a FIFO, a directory, a dangling symbolic link: see
// common/regular_file.h) or is malformed; UNIMPLEMENTED for tokenizer.json features this
// implementation lacks (named).
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path);

// The tokenizer of a checkpoint directory (DESIGN §3.3): `tokenizer.json` when that name exists,
// else `tokenizer.model`. Returns an OK result holding nullptr when the directory has neither
// name (a model without a tokenizer is valid; text features are then FAILED_PRECONDITION). A name
// that exists but cannot be loaded (a directory, a FIFO, a dangling symbolic link, an unreadable
// or malformed file) is an error, as LoadTokenizer returns it: never silently "no tokenizer".
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadModelTokenizer(const std::string& model_dir);

}  // namespace egmla

#endif  // EGMLA_TOKENIZER_TOKENIZER_H_
