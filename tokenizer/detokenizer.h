// Streaming detokenization (DESIGN §4): generated ids in, text out, one step at a time, never
// splitting a UTF-8 character.
//
// The text of a stream is the concatenation of Tokenizer::TokenBytes over its ids (see
// tokenizer/tokenizer.h). Each Add returns the newly completed text: bytes up to the last complete
// character; the bytes of a character still being built (at most 3) are held until a later token
// completes it. Bytes that can no longer become a character (an ill-formed sequence, or a
// character cut short by a token that starts something else) are emitted as U+FFFD, one per
// maximal ill-formed subpart, so every returned string is valid UTF-8 and the emitted text is
// final (never revised).
//
// Stopping tokens: their text is never emitted — simply do not Add a stopping token (eos or a
// stop token id); call Finish() instead. Finish releases what is held: an unfinished character
// becomes U+FFFD.
//
// Usage (one per request; not thread-safe, the engine thread owns it):
//   StreamingDetokenizer detok(tokenizer);
//   for each new id: if (stopping) { text += detok.Finish(); break; } text += detok.Add(id);
//   at the end of the stream: text += detok.Finish();
#ifndef EGMLA_TOKENIZER_DETOKENIZER_H_
#define EGMLA_TOKENIZER_DETOKENIZER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace egmla {

class StreamingDetokenizer {
 public:
  struct Options {
    // Emit nothing for special tokens (Tokenizer::IsSpecialToken), as vLLM's
    // skip_special_tokens does. Off: their text (e.g. "<|endoftext|>") is emitted.
    bool skip_special_tokens = false;
  };

  // `tokenizer` is not owned. REQUIRES: it outlives this object.
  explicit StreamingDetokenizer(const Tokenizer& tokenizer) : StreamingDetokenizer(tokenizer, {}) {}
  StreamingDetokenizer(const Tokenizer& tokenizer, Options options)
      : tokenizer_(&tokenizer), options_(options) {}

  // Appends one token; returns the text it completes (possibly ""). Ids outside the tokenizer's
  // vocabulary add nothing.
  std::string Add(int32_t token_id);

  // The end of the stream: returns the held bytes (ill-formed ones as U+FFFD), then holds
  // nothing. Add may be called again afterwards (a new run of text).
  std::string Finish();

  // Bytes held back as the start of an unfinished character (0 to 3).
  size_t num_held_bytes() const { return held_.size(); }

 private:
  const Tokenizer* tokenizer_;
  Options options_;
  std::string held_;
};

}  // namespace egmla

#endif  // EGMLA_TOKENIZER_DETOKENIZER_H_
