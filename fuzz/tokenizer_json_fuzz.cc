// tokenizer.json loading (tokenizer/bpe_tokenizer.h BpeTokenizer::FromJson) and encoding with
// the loaded tokenizer. Input: the tokenizer.json text, then optionally a NUL byte (which JSON
// text cannot hold) and the text to encode; without one a fixed sample text is encoded. Loading
// gives a tokenizer or INVALID_ARGUMENT / UNIMPLEMENTED (a feature named as unsupported).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "fuzz/tokenizer_checks.h"
#include "tokenizer/bpe_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view json = input;
  std::string_view text = "Hello, world! It's 2024: naïve café 😀 <|endoftext|>\n\t  ok";
  if (const size_t nul = input.find('\0'); nul != std::string_view::npos) {
    json = input.substr(0, nul);
    text = input.substr(nul + 1);
  }
  auto tokenizer = egmla::BpeTokenizer::FromJson(json, "fuzz.json");
  if (!tokenizer.ok()) {
    EGMLA_FUZZ_CHECK_ERROR(tokenizer.status(), absl::StatusCode::kInvalidArgument,
                           absl::StatusCode::kUnimplemented);
    return 0;
  }
  const egmla::BpeTokenizer& t = **tokenizer;
  EGMLA_FUZZ_CHECK(t.vocab_size() >= 0 && t.vocab_size() <= egmla::BpeTokenizer::kMaxVocabSize,
                   "vocab_size");
  EGMLA_FUZZ_CHECK(t.max_token_bytes() >= egmla::kMinMaxTokenBytes, "max_token_bytes");
  EGMLA_FUZZ_CHECK(
      t.TokenBytes(-1).empty() && t.TokenBytes(static_cast<int32_t>(t.vocab_size())).empty(),
      "TokenBytes outside the vocabulary");
  EGMLA_FUZZ_CHECK(!t.IsSpecialToken(-1), "IsSpecialToken(-1)");
  egmla::fuzz::CheckEncode(t, text, /*stream_is_decode=*/true);
  return 0;
}
