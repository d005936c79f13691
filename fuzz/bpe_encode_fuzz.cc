// Byte-level BPE encoding of arbitrary bytes with GPT-2's tokenizer.json (tests/data/tokenizers):
// the checks of fuzz/tokenizer_checks.h, and for valid UTF-8 that decoding gives the text back
// (GPT-2's vocabulary covers every byte and it has no normalizer).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "fuzz/tokenizer_checks.h"
#include "tokenizer/bpe_tokenizer.h"

namespace {

const egmla::BpeTokenizer& Gpt2() {
  static const egmla::BpeTokenizer* const tokenizer = [] {
    auto loaded = egmla::BpeTokenizer::FromJson(
        egmla::fuzz::ReadTestData("tokenizers/gpt2_tokenizer.json"), "gpt2_tokenizer.json");
    EGMLA_FUZZ_CHECK(loaded.ok(), loaded.status().ToString());
    return loaded->release();
  }();
  return *tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const egmla::BpeTokenizer& tokenizer = Gpt2();
  const std::vector<int32_t> ids =
      egmla::fuzz::CheckEncode(tokenizer, text, /*stream_is_decode=*/true);
  if (egmla::IsValidUtf8(text)) {
    absl::StatusOr<std::string> decoded = tokenizer.Decode(ids);
    EGMLA_FUZZ_CHECK(decoded.ok() && *decoded == text, "Decode(Encode(text)) != text");
    // Each token covers the bytes it decodes to: the server's text-length bound holds.
    EGMLA_FUZZ_CHECK(text.size() <= ids.size() * static_cast<size_t>(tokenizer.max_token_bytes()),
                     "text longer than ids * max_token_bytes");
  }
  return 0;
}
