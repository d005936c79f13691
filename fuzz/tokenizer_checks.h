// Checks every fuzz target runs on a loaded tokenizer and a text (fuzz/*_fuzz.cc).
#ifndef EGMLA_FUZZ_TOKENIZER_CHECKS_H_
#define EGMLA_FUZZ_TOKENIZER_CHECKS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_util.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_utf8.h"

namespace egmla::fuzz {

// Encodes `text` and checks what tokenizer.h promises: INVALID_ARGUMENT exactly for text that is
// not UTF-8 (RESOURCE_EXHAUSTED allowed for a regex over PCRE2's limits); ids in the vocabulary;
// the same ids a second time (BPE's word cache answers then); Decode gives valid UTF-8; streaming
// the ids through StreamingDetokenizer gives the concatenation of their TokenBytes with ill-formed
// bytes replaced, which for byte-level BPE is Decode's text (`stream_is_decode`). Returns the ids
// (empty on an error).
inline std::vector<int32_t> CheckEncode(const Tokenizer& tokenizer, std::string_view text,
                                        bool stream_is_decode) {
  absl::StatusOr<std::vector<int32_t>> ids = tokenizer.Encode(text);
  if (!IsValidUtf8(text)) {
    EGMLA_FUZZ_CHECK_ERROR(ids.status(), absl::StatusCode::kInvalidArgument);
    return {};
  }
  // A tokenizer.json's own Split regex may exceed PCRE2's match limit (a pathological pattern):
  // RESOURCE_EXHAUSTED, which the server's validation refuses the text with.
  if (ids.status().code() == absl::StatusCode::kResourceExhausted) return {};
  EGMLA_FUZZ_CHECK(ids.ok(), ids.status().ToString());
  if (text.empty()) EGMLA_FUZZ_CHECK(ids->empty(), "empty text gives ids");
  for (int32_t id : *ids) {
    EGMLA_FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size(), absl::StrCat("id ", id));
    EGMLA_FUZZ_CHECK(
        static_cast<int64_t>(tokenizer.TokenBytes(id).size()) <= tokenizer.max_token_bytes(),
        absl::StrCat("id ", id));
  }
  absl::StatusOr<std::vector<int32_t>> again = tokenizer.Encode(text);
  EGMLA_FUZZ_CHECK(again.ok() && *again == *ids, "a second Encode differs");

  absl::StatusOr<std::string> decoded = tokenizer.Decode(*ids);
  EGMLA_FUZZ_CHECK(decoded.ok(), decoded.status().ToString());
  EGMLA_FUZZ_CHECK(IsValidUtf8(*decoded), "Decode gave invalid UTF-8");

  StreamingDetokenizer detokenizer(tokenizer);
  std::string streamed;
  std::string bytes;
  for (int32_t id : *ids) {
    const std::string piece = detokenizer.Add(id);
    EGMLA_FUZZ_CHECK(IsValidUtf8(piece), "Add gave invalid UTF-8");
    EGMLA_FUZZ_CHECK(detokenizer.num_held_bytes() <= 3, "held more than 3 bytes");
    streamed += piece;
    bytes.append(tokenizer.TokenBytes(id));
  }
  streamed += detokenizer.Finish();
  EGMLA_FUZZ_CHECK(detokenizer.num_held_bytes() == 0, "Finish left bytes held");
  EGMLA_FUZZ_CHECK(streamed == ToValidUtf8(bytes), "stream != TokenBytes concatenation");
  if (stream_is_decode) EGMLA_FUZZ_CHECK(streamed == *decoded, "stream != Decode");
  return *std::move(ids);
}

}  // namespace egmla::fuzz

#endif  // EGMLA_FUZZ_TOKENIZER_CHECKS_H_
