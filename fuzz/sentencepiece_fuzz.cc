// The SentencePiece path (tokenizer/sentencepiece_tokenizer.h): the library lives in
// libegmla_sentencepiece.so, dlopen'ed on first use (tokenizer/sentencepiece_backend.h), which
// this target exercises as the server does. The input is used twice:
//   - as the bytes of a `.model` file (SentencePieceTokenizer::FromSerialized, LoadTokenizer's
//     path for a .model): a tokenizer, or INVALID_ARGUMENT; a loaded one encodes a sample text
//     and every id decodes;
//   - as text for tests/data/tokenizers/tiny_sp.model (byte fallback): the checks of
//     fuzz/tokenizer_checks.h.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "fuzz/tokenizer_checks.h"
#include "tokenizer/sentencepiece_tokenizer.h"

namespace {

const egmla::SentencePieceTokenizer& TinySp() {
  static const egmla::SentencePieceTokenizer* const tokenizer = [] {
    auto loaded = egmla::SentencePieceTokenizer::FromSerialized(
        egmla::fuzz::ReadTestData("tokenizers/tiny_sp.model"), "tiny_sp.model");
    EGMLA_FUZZ_CHECK(loaded.ok(), loaded.status().ToString());
    return loaded->release();
  }();
  return *tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  egmla::fuzz::CheckEncode(TinySp(), bytes, /*stream_is_decode=*/false);

  auto model = egmla::SentencePieceTokenizer::FromSerialized(bytes, "fuzz.model");
  if (!model.ok()) {
    EGMLA_FUZZ_CHECK_ERROR(model.status(), absl::StatusCode::kInvalidArgument);
    return 0;
  }
  const egmla::SentencePieceTokenizer& t = **model;
  EGMLA_FUZZ_CHECK(t.max_token_bytes() >= egmla::kMinMaxTokenBytes, "max_token_bytes");
  egmla::fuzz::CheckEncode(t, "Hello world, naïve café 😀\n  tabs\tand <0x41> <s></s>",
                           /*stream_is_decode=*/false);
  // Every id decodes alone and has a piece lookup that answers.
  for (int32_t id = 0; id < t.vocab_size() && id < 4096; ++id) {
    absl::StatusOr<std::string> text = t.Decode(std::vector<int32_t>{id});
    EGMLA_FUZZ_CHECK(text.ok() || text.status().code() == absl::StatusCode::kInternal,
                     text.status().ToString());
    (void)t.IsSpecialToken(id);
    (void)t.TokenId(t.TokenBytes(id));
  }
  return 0;
}
