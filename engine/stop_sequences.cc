#include "engine/stop_sequences.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tokenizer/tokenizer_utf8.h"

namespace egmla {
namespace {

// Knuth-Morris-Pratt over one stop sequence: `border[i]` is the length of the longest proper
// border of stop[0, i].
std::vector<size_t> Borders(std::string_view stop) {
  std::vector<size_t> border(stop.size(), 0);
  size_t k = 0;
  for (size_t i = 1; i < stop.size(); ++i) {
    while (k > 0 && stop[i] != stop[k]) k = border[k - 1];
    if (stop[i] == stop[k]) ++k;
    border[i] = k;
  }
  return border;
}

struct Scan {
  size_t match_end = std::string_view::npos;  // end of the first full match, if any
  size_t partial = 0;  // without a match: longest suffix of the text that is a prefix of stop
};

Scan ScanFor(std::string_view stop, const std::vector<size_t>& border, std::string_view text) {
  Scan scan;
  size_t state = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    while (state > 0 && text[i] != stop[state]) state = border[state - 1];
    if (text[i] == stop[state]) ++state;
    if (state == stop.size()) {
      scan.match_end = i + 1;
      return scan;
    }
  }
  scan.partial = state;
  return scan;
}

}  // namespace

absl::StatusOr<StopSequenceMatcher> StopSequenceMatcher::Create(
    std::vector<std::string> stop_sequences) {
  for (size_t i = 0; i < stop_sequences.size(); ++i) {
    if (stop_sequences[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("stop_sequences[", i, "] is empty"));
    }
    if (std::optional<size_t> bad = FirstInvalidUtf8Offset(stop_sequences[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("stop_sequences[", i, "] is not valid UTF-8 at byte offset ", *bad));
    }
  }
  return StopSequenceMatcher(std::move(stop_sequences));
}

StopSequenceMatcher::StopSequenceMatcher(std::vector<std::string> stops)
    : stops_(std::move(stops)) {
  for (const std::string& stop : stops_) borders_.push_back(Borders(stop));
}

StopSequenceMatcher::Result StopSequenceMatcher::Feed(std::string_view text, bool match) {
  Result result;
  if (stopped_) return result;
  std::string buffer = std::move(held_);
  held_.clear();
  buffer.append(text);
  if (!match || stops_.empty()) {
    num_released_bytes_ += buffer.size();
    result.text = std::move(buffer);
    return result;
  }
  // The stop that completes first; on equal ends the longer one (it started earlier).
  const std::string* best = nullptr;
  size_t best_end = 0;
  size_t partial = 0;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const std::string& stop = stops_[i];
    const Scan scan = ScanFor(stop, borders_[i], buffer);
    if (scan.match_end == std::string_view::npos) {
      partial = std::max(partial, scan.partial);
    } else if (best == nullptr || scan.match_end < best_end ||
               (scan.match_end == best_end && stop.size() > best->size())) {
      best = &stop;
      best_end = scan.match_end;
    }
  }
  if (best != nullptr) {
    const size_t begin = best_end - best->size();
    result.text = buffer.substr(0, begin);
    result.stopped = true;
    result.matched = *best;
    result.match_offset = num_released_bytes_ + begin;
    num_released_bytes_ += begin;
    stopped_ = true;
    return result;
  }
  const size_t release = buffer.size() - partial;
  held_ = buffer.substr(release);
  buffer.resize(release);
  num_released_bytes_ += release;
  result.text = std::move(buffer);
  return result;
}

std::string StopSequenceMatcher::Finish() {
  std::string text = std::move(held_);
  held_.clear();
  num_released_bytes_ += text.size();
  return text;
}

}  // namespace egmla
