#include "tokenizer/bpe_added_tokens.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "tokenizer/tokenizer_utf8.h"

namespace egmla {

void AddedTokenSplitter::Trie::Add(std::string_view content, int32_t token_index) {
  if (token_at.empty()) token_at.push_back(-1);  // the root
  int32_t node = 0;
  for (char c : content) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(c);
    auto [it, inserted] = children.try_emplace(key, static_cast<int32_t>(token_at.size()));
    if (inserted) token_at.push_back(-1);
    node = it->second;
  }
  token_at[node] = token_index;  // a later duplicate content wins, as in a hash map
}

std::pair<int32_t, size_t> AddedTokenSplitter::Trie::LongestAt(std::string_view text,
                                                               size_t offset) const {
  std::pair<int32_t, size_t> best = {-1, 0};
  if (token_at.empty()) return best;
  int32_t node = 0;
  for (size_t i = offset; i < text.size(); ++i) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(text[i]);
    auto it = children.find(key);
    if (it == children.end()) break;
    node = it->second;
    if (token_at[node] >= 0) best = {token_at[node], i + 1 - offset};
  }
  return best;
}

absl::StatusOr<AddedTokenSplitter> AddedTokenSplitter::Create(
    const std::vector<AddedToken>& tokens) {
  AddedTokenSplitter splitter;
  splitter.tokens_ = tokens;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const AddedToken& token = tokens[i];
    if (token.content.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.json added_tokens: token ", token.id, " has empty content"));
    }
    (token.normalized ? splitter.normalized_ : splitter.raw_)
        .Add(token.content, static_cast<int32_t>(i));
  }
  // Rust regex's \w and \s (Unicode), which tokenizers uses for these checks.
  EGMLA_ASSIGN_OR_RETURN(std::unique_ptr<BpeRegex> word, BpeRegex::Compile(R"(\w)"));
  EGMLA_ASSIGN_OR_RETURN(std::unique_ptr<BpeRegex> space, BpeRegex::Compile(R"(\s)"));
  splitter.word_char_ = std::move(word);
  splitter.space_char_ = std::move(space);
  return splitter;
}

namespace {

// The last character of `text` (empty view when `text` is empty). REQUIRES: valid UTF-8.
std::string_view LastChar(std::string_view text) {
  size_t i = text.size();
  while (i > 0 && (static_cast<uint8_t>(text[i - 1]) & 0xC0) == 0x80) --i;
  return text.substr(i > 0 ? i - 1 : 0);
}

std::string_view FirstChar(std::string_view text) {
  if (text.empty()) return text;
  const Utf8Unit unit = DecodeUtf8Unit(text, 0);
  return text.substr(0, unit.length);
}

}  // namespace

bool AddedTokenSplitter::EndsWithWordChar(std::string_view text) const {
  return !text.empty() && word_char_->FullMatch(LastChar(text));
}

bool AddedTokenSplitter::StartsWithWordChar(std::string_view text) const {
  return !text.empty() && word_char_->FullMatch(FirstChar(text));
}

size_t AddedTokenSplitter::TrailingSpaceBegin(std::string_view text) const {
  size_t end = text.size();
  while (end > 0) {
    const std::string_view last = LastChar(text.substr(0, end));
    if (!space_char_->FullMatch(last)) break;
    end -= last.size();
  }
  return end;
}

size_t AddedTokenSplitter::LeadingSpaceEnd(std::string_view text) const {
  size_t begin = 0;
  while (begin < text.size()) {
    const std::string_view first = FirstChar(text.substr(begin));
    if (!space_char_->FullMatch(first)) break;
    begin += first.size();
  }
  return begin;
}

void AddedTokenSplitter::SplitPass(const Trie& trie, std::string_view text,
                                   std::vector<Segment>* out) const {
  size_t start_offset = 0;  // end of the last token taken
  size_t i = 0;
  while (i < text.size()) {
    const auto [index, length] = trie.LongestAt(text, i);
    if (index < 0) {
      ++i;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t start = i;
    size_t stop = i + length;
    i = stop;
    if (token.single_word && ((start > 0 && EndsWithWordChar(text.substr(0, start))) ||
                              StartsWithWordChar(text.substr(stop)))) {
      continue;  // inside a word: not this token (the matched text stays plain text)
    }
    if (token.lstrip) start = std::max(TrailingSpaceBegin(text.substr(0, start)), start_offset);
    if (token.rstrip) stop += LeadingSpaceEnd(text.substr(stop));
    if (start > start_offset) out->push_back({text.substr(start_offset, start - start_offset), -1});
    out->push_back({text.substr(start, stop - start), token.id});
    start_offset = stop;
    i = stop;
  }
  if (start_offset < text.size()) out->push_back({text.substr(start_offset), -1});
}

std::vector<AddedTokenSplitter::Segment> AddedTokenSplitter::Split(std::string_view text) const {
  std::vector<Segment> first;
  SplitPass(raw_, text, &first);
  if (normalized_.token_at.empty()) return first;
  std::vector<Segment> result;
  for (const Segment& segment : first) {
    if (segment.id >= 0) {
      result.push_back(segment);
    } else {
      SplitPass(normalized_, segment.text, &result);
    }
  }
  return result;
}

}  // namespace egmla
