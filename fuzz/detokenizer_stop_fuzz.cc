// The streaming text path of a request (DESIGN §4): generated ids through
// tokenizer/detokenizer.h StreamingDetokenizer into engine/stop_sequences.h StopSequenceMatcher,
// one Feed per id as Engine::StreamText does (matching off until min_tokens, then on; at the end
// the detokenizer's Finish fed without matching, then the matcher's Finish). The ids, stop strings,
// min_tokens, the tokenizer (GPT-2's byte-level BPE or tiny_sp.model) and skip_special_tokens come
// from the input (FuzzedDataProvider); some stops are cut from the stream's own text, so that they
// match.
//
// Checked against a reference computed on the whole stream S (the concatenation of the ids'
// TokenBytes, special tokens left out when skipped, ill-formed bytes as U+FFFD; for BPE also
// Decode's text): every piece is valid UTF-8; without a match the emitted text is S; with one it
// is S up to the match, which is the stop occurrence ending first (the longest on a tie) among
// those starting where matching began or later and ending before the final Finish's bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/stop_sequences.h"
#include "fuzz/fuzz_util.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/tokenizer_utf8.h"

namespace {

using egmla::IsValidUtf8;

const egmla::Tokenizer& Gpt2() {
  static const egmla::Tokenizer* const tokenizer = [] {
    auto loaded = egmla::BpeTokenizer::FromJson(
        egmla::fuzz::ReadTestData("tokenizers/gpt2_tokenizer.json"), "gpt2_tokenizer.json");
    EGMLA_FUZZ_CHECK(loaded.ok(), loaded.status().ToString());
    return static_cast<const egmla::Tokenizer*>(loaded->release());
  }();
  return *tokenizer;
}

const egmla::Tokenizer& TinySp() {
  static const egmla::Tokenizer* const tokenizer = [] {
    auto loaded = egmla::SentencePieceTokenizer::FromSerialized(
        egmla::fuzz::ReadTestData("tokenizers/tiny_sp.model"), "tiny_sp.model");
    EGMLA_FUZZ_CHECK(loaded.ok(), loaded.status().ToString());
    return static_cast<const egmla::Tokenizer*>(loaded->release());
  }();
  return *tokenizer;
}

struct Expected {
  bool stopped = false;
  size_t begin = 0;  // of the match in the stream
  std::string matched;
};

// The first stop occurrence to complete in `stream` among those starting at `from` or later.
Expected FirstMatch(std::string_view stream, size_t from, const std::vector<std::string>& stops) {
  Expected best;
  size_t best_end = 0;
  for (const std::string& stop : stops) {
    const size_t at = stream.find(stop, from);
    if (at == std::string_view::npos) continue;
    const size_t end = at + stop.size();
    if (!best.stopped || end < best_end || (end == best_end && stop.size() > best.matched.size())) {
      best = {.stopped = true, .begin = at, .matched = stop};
      best_end = end;
    }
  }
  return best;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const bool bpe = input.ConsumeBool();
  const egmla::Tokenizer& tokenizer = bpe ? Gpt2() : TinySp();
  const bool skip_special = input.ConsumeBool();
  const size_t min_tokens = input.ConsumeIntegralInRange<size_t>(0, 8);
  const size_t num_stops = input.ConsumeIntegralInRange<size_t>(0, 4);
  struct StopSpec {
    bool from_stream;
    size_t offset;
    size_t length;
    std::string literal;
  };
  std::vector<StopSpec> specs;
  for (size_t i = 0; i < num_stops; ++i) {
    StopSpec spec;
    spec.from_stream = input.ConsumeBool();
    if (spec.from_stream) {
      spec.offset = input.ConsumeIntegralInRange<size_t>(0, 255);
      spec.length = input.ConsumeIntegralInRange<size_t>(1, 8);
    } else {
      spec.literal = input.ConsumeRandomLengthString(8);
    }
    specs.push_back(std::move(spec));
  }
  const int32_t vocab = static_cast<int32_t>(tokenizer.vocab_size());
  std::vector<int32_t> ids;
  while (input.remaining_bytes() > 0 && ids.size() < 512) {
    ids.push_back(input.ConsumeIntegralInRange<int32_t>(-2, vocab + 1));
  }

  // The reference stream.
  std::string bytes;
  std::vector<int32_t> decodable;
  for (int32_t id : ids) {
    if (skip_special && tokenizer.IsSpecialToken(id)) continue;
    bytes.append(tokenizer.TokenBytes(id));
    if (id >= 0 && id < vocab) decodable.push_back(id);
  }
  const std::string stream = egmla::ToValidUtf8(bytes);
  if (bpe) {
    absl::StatusOr<std::string> decoded = tokenizer.Decode(decodable);
    EGMLA_FUZZ_CHECK(decoded.ok() && *decoded == stream, "stream != Decode");
  }

  std::vector<std::string> stops;
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string stop = specs[i].literal;
    if (specs[i].from_stream) {
      stop = specs[i].offset < stream.size() ? stream.substr(specs[i].offset, specs[i].length)
                                             : std::string("\n");
    }
    // Create refuses what the server's validation refuses: empty or not UTF-8.
    absl::StatusOr<egmla::StopSequenceMatcher> one = egmla::StopSequenceMatcher::Create({stop});
    if (stop.empty() || !IsValidUtf8(stop)) {
      EGMLA_FUZZ_CHECK_ERROR(one.status(), absl::StatusCode::kInvalidArgument);
      continue;
    }
    EGMLA_FUZZ_CHECK(one.ok(), one.status().ToString());
    stops.push_back(std::move(stop));
  }
  absl::StatusOr<egmla::StopSequenceMatcher> matcher = egmla::StopSequenceMatcher::Create(stops);
  EGMLA_FUZZ_CHECK(matcher.ok(), matcher.status().ToString());

  // The engine's loop.
  egmla::StreamingDetokenizer detokenizer(tokenizer, {.skip_special_tokens = skip_special});
  std::string emitted;
  size_t match_from = 0;  // bytes of the stream fed before matching began
  size_t fed = 0;         // bytes of the stream fed piece by piece
  bool matching = false;
  egmla::StopSequenceMatcher::Result stop;
  for (size_t i = 0; i < ids.size() && !stop.stopped; ++i) {
    const std::string piece = detokenizer.Add(ids[i]);
    EGMLA_FUZZ_CHECK(IsValidUtf8(piece), "detokenizer piece");
    EGMLA_FUZZ_CHECK(detokenizer.num_held_bytes() <= 3, "held bytes");
    matching = matching || i + 1 >= min_tokens;
    if (!matching) match_from += piece.size();
    fed += piece.size();
    stop = matcher->Feed(piece, matching);
    EGMLA_FUZZ_CHECK(IsValidUtf8(stop.text), "matcher text");
    emitted += stop.text;
  }
  const size_t matched_part = fed;  // the Finish below is fed without matching
  if (!stop.stopped) {
    // The end of the stream (Engine::StreamText): the held bytes, never matched.
    egmla::StopSequenceMatcher::Result last = matcher->Feed(detokenizer.Finish(), false);
    EGMLA_FUZZ_CHECK(!last.stopped, "a Feed without matching stopped");
    emitted += last.text;
    emitted += matcher->Finish();
  }
  EGMLA_FUZZ_CHECK(IsValidUtf8(emitted), "emitted text");
  EGMLA_FUZZ_CHECK(matcher->stopped() == stop.stopped, "stopped()");

  const Expected expected =
      FirstMatch(std::string_view(stream).substr(0, matched_part), match_from, stops);
  const std::string where = absl::StrCat("stream of ", stream.size(), " bytes, matching from ",
                                         match_from, ", ", stops.size(), " stops");
  EGMLA_FUZZ_CHECK(stop.stopped == expected.stopped, where);
  if (expected.stopped) {
    EGMLA_FUZZ_CHECK(
        stop.matched == expected.matched && stop.match_offset == expected.begin,
        absl::StrCat(where, ": matched at ", stop.match_offset, ", expected ", expected.begin));
    EGMLA_FUZZ_CHECK(emitted == stream.substr(0, expected.begin), where);
  } else {
    EGMLA_FUZZ_CHECK(emitted == stream, where);
  }
  return 0;
}
