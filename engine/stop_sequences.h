// Stop sequences matched on streamed text (DESIGN §4), also across chunk boundaries.
//
// Feed text increments as the detokenizer produces them. Each Feed returns the text that is safe
// to emit now: everything except a suffix that could still grow into a stop sequence (the longest
// suffix that is a proper prefix of one), which is held back. When a stop sequence completes, the
// text is cut before it: what precedes the match is returned, the match and anything after it
// are dropped, and the matcher stops (later Feeds return nothing). Held text that turns out not
// to start a stop sequence is released by the Feed that rules it out, or by Finish at the end.
//
// The stop that matches is the one that completes first in the stream (earliest end; on a tie,
// the longest, i.e. earliest start), so the result never depends on how the text was chunked.
// Cuts fall on UTF-8 character boundaries because stop sequences are valid UTF-8 (Create checks)
// and fed text is whole characters (StreamingDetokenizer output).
//
// Per engine step, with the streaming detokenizer (tokenizer/detokenizer.h):
//   Result r = matcher.Feed(detokenizer.Add(id), /*match=*/num_output_tokens >= min_tokens);
//   emit r.text; if (r.stopped) finish as STOP_SEQUENCE with matched_stop = r.matched.
// When the request ends otherwise (eos, stop id, length): emit
//   matcher.Feed(detokenizer.Finish(), /*match=*/false).text + matcher.Finish()
// (Engine::StreamText: the held bytes of an unfinished character end the stream unmatched).
// Limits on the number and length of stop sequences (DESIGN §5) are the caller's to check.
//
// Not thread-safe; one per request.
#ifndef EGMLA_ENGINE_STOP_SEQUENCES_H_
#define EGMLA_ENGINE_STOP_SEQUENCES_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace egmla {

class StopSequenceMatcher {
 public:
  struct Result {
    std::string text;         // emit now (valid UTF-8 when the input is)
    bool stopped = false;     // a stop sequence matched in this Feed
    std::string matched;      // the stop sequence that matched (when stopped)
    size_t match_offset = 0;  // byte offset of the match in the whole fed stream (when stopped)
  };

  // INVALID_ARGUMENT for an empty stop sequence or one that is not valid UTF-8 (naming its
  // index). No stop sequences is fine: everything passes through at once.
  static absl::StatusOr<StopSequenceMatcher> Create(std::vector<std::string> stop_sequences);

  // Consumes the next piece of text. `match`: false passes the text straight through without
  // matching and without keeping it as the start of a later match (DESIGN §4: stop sequences are
  // ignored until min_tokens is reached); held text is released first. After a stop, returns an
  // empty Result.
  Result Feed(std::string_view text, bool match = true);

  // The end of the stream without a stop: returns the held text. "" after a stop.
  std::string Finish();

  bool stopped() const { return stopped_; }
  size_t num_held_bytes() const { return held_.size(); }

 private:
  explicit StopSequenceMatcher(std::vector<std::string> stops);

  std::vector<std::string> stops_;
  std::vector<std::vector<size_t>> borders_;  // per stop: Knuth-Morris-Pratt failure table
  std::string held_;
  size_t num_released_bytes_ = 0;  // bytes of the stream before held_
  bool stopped_ = false;
};

}  // namespace egmla

#endif  // EGMLA_ENGINE_STOP_SEQUENCES_H_
