#include "tokenizer/bpe_pretokenizer.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "tokenizer/bpe_json.h"

namespace egmla {
namespace {

using bpe_json::Json;

struct Piece {
  size_t begin;
  size_t end;
  bool is_match;
};

absl::StatusOr<SplitBehavior> ParseBehavior(const std::string& name, std::string_view where) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  return bpe_json::FieldError(where, "behavior", absl::StrCat("unknown behavior '", name, "'"));
}

// Applies a delimiter behavior to the match/gap pieces of a string, as tokenizers'
// NormalizedString::split does.
std::vector<Piece> ApplyBehavior(SplitBehavior behavior, std::vector<Piece> pieces) {
  std::vector<Piece> out;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      return pieces;
    case SplitBehavior::kRemoved:
      for (const Piece& p : pieces) {
        if (!p.is_match) out.push_back(p);
      }
      return out;
    case SplitBehavior::kMergedWithPrevious:
      for (const Piece& p : pieces) {
        if (p.is_match && !previous_match && !out.empty()) {
          out.back().end = p.end;
        } else {
          out.push_back(p);
        }
        previous_match = p.is_match;
      }
      return out;
    case SplitBehavior::kMergedWithNext:
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back(*it);
        }
        previous_match = it->is_match;
      }
      return std::vector<Piece>(out.rbegin(), out.rend());
    case SplitBehavior::kContiguous:
      for (const Piece& p : pieces) {
        if (p.is_match == previous_match && !out.empty()) {
          out.back().end = p.end;
        } else {
          out.push_back(p);
        }
        previous_match = p.is_match;
      }
      return out;
  }
  return pieces;
}

}  // namespace

absl::Status BpePreTokenizer::AddSteps(const Json& node, int depth, BpePreTokenizer* out) {
  if (node.is_null()) return absl::OkStatus();
  constexpr std::string_view kWhere = "pre_tokenizer";
  // Real files nest one Sequence; a deep nest would overflow the stack (the recursion below).
  if (depth > kMaxSequenceDepth) {
    return bpe_json::FieldError(
        kWhere, "pretokenizers",
        absl::StrCat("Sequence nested more than ", kMaxSequenceDepth, " levels deep"));
  }
  if (!node.is_object()) return bpe_json::FieldError(kWhere, "type", "expected an object");
  const Json* type_json = bpe_json::Find(node, "type");
  if (type_json == nullptr || !type_json->is_string()) {
    return bpe_json::FieldError(kWhere, "type", "expected a string");
  }
  const std::string& type = type_json->get_ref<const std::string&>();
  if (type == "Sequence") {
    const Json* steps = bpe_json::Find(node, "pretokenizers");
    if (steps == nullptr || !steps->is_array()) {
      return bpe_json::FieldError(kWhere, "pretokenizers", "expected an array");
    }
    for (const Json& step : *steps) EGMLA_RETURN_IF_ERROR(AddSteps(step, depth + 1, out));
    return absl::OkStatus();
  }
  Step step;
  if (type == "ByteLevel") {
    out->has_byte_level_ = true;
    EGMLA_ASSIGN_OR_RETURN(step.add_prefix_space,
                           bpe_json::OptionalBool(node, "add_prefix_space", false, kWhere));
    EGMLA_ASSIGN_OR_RETURN(bool use_regex, bpe_json::OptionalBool(node, "use_regex", true, kWhere));
    if (use_regex) {
      EGMLA_ASSIGN_OR_RETURN(step.regex, BpeRegex::Compile(kGpt2SplitPattern));
    }
  } else if (type == "Split") {
    const Json* pattern = bpe_json::Find(node, "pattern");
    if (pattern == nullptr || !pattern->is_object()) {
      return bpe_json::FieldError("pre_tokenizer(Split)", "pattern", "expected an object");
    }
    EGMLA_ASSIGN_OR_RETURN(auto regex, bpe_json::OptionalString(*pattern, "Regex", "Split"));
    EGMLA_ASSIGN_OR_RETURN(auto literal, bpe_json::OptionalString(*pattern, "String", "Split"));
    if (regex.has_value() == literal.has_value()) {
      return bpe_json::FieldError("pre_tokenizer(Split)", "pattern",
                                  "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    auto compiled = regex ? BpeRegex::Compile(*regex) : BpeRegex::Compile(*literal, true);
    if (!compiled.ok()) {
      return bpe_json::FieldError("pre_tokenizer(Split)", "pattern",
                                  std::string(compiled.status().message()));
    }
    step.regex = *std::move(compiled);
    EGMLA_ASSIGN_OR_RETURN(std::string behavior,
                           bpe_json::RequiredString(node, "behavior", "pre_tokenizer(Split)"));
    EGMLA_ASSIGN_OR_RETURN(step.behavior, ParseBehavior(behavior, "pre_tokenizer(Split)"));
    EGMLA_ASSIGN_OR_RETURN(step.invert,
                           bpe_json::OptionalBool(node, "invert", false, "pre_tokenizer(Split)"));
  } else if (type == "Digits") {
    EGMLA_ASSIGN_OR_RETURN(bool individual, bpe_json::OptionalBool(node, "individual_digits", false,
                                                                   "pre_tokenizer(Digits)"));
    EGMLA_ASSIGN_OR_RETURN(step.regex, BpeRegex::Compile(individual ? R"(\p{N})" : R"(\p{N}+)"));
  } else {
    return absl::UnimplementedError(
        absl::StrCat("tokenizer.json pre_tokenizer type '", type,
                     "' is not supported (supported: ByteLevel, Split, Digits, Sequence)"));
  }
  out->steps_.push_back(std::move(step));
  return absl::OkStatus();
}

absl::StatusOr<BpePreTokenizer> BpePreTokenizer::FromJson(const Json& pre_tokenizer) {
  BpePreTokenizer result;
  EGMLA_RETURN_IF_ERROR(AddSteps(pre_tokenizer, /*depth=*/0, &result));
  return result;
}

absl::Status BpePreTokenizer::ApplyStep(const Step& step, std::string_view piece,
                                        std::vector<std::string>* out) {
  std::string prefixed;
  if (step.add_prefix_space && (piece.empty() || piece.front() != ' ')) {
    prefixed.reserve(piece.size() + 1);
    prefixed.push_back(' ');
    prefixed.append(piece);
    piece = prefixed;
  }
  if (step.regex == nullptr) {
    if (!piece.empty()) out->emplace_back(piece);
    return absl::OkStatus();
  }
  std::vector<std::pair<size_t, size_t>> matches;
  EGMLA_RETURN_IF_ERROR(step.regex->FindAll(piece, &matches));
  std::vector<Piece> pieces;
  size_t previous = 0;
  for (const auto& [begin, end] : matches) {
    if (begin > previous) pieces.push_back({previous, begin, step.invert});
    pieces.push_back({begin, end, !step.invert});
    previous = end;
  }
  if (previous < piece.size()) pieces.push_back({previous, piece.size(), step.invert});
  for (const Piece& p : ApplyBehavior(step.behavior, std::move(pieces))) {
    if (p.end > p.begin) out->emplace_back(piece.substr(p.begin, p.end - p.begin));
  }
  return absl::OkStatus();
}

absl::Status BpePreTokenizer::Split(std::string_view text, std::vector<std::string>* words) const {
  std::vector<std::string> current;
  current.emplace_back(text);
  std::vector<std::string> next;
  for (const Step& step : steps_) {
    next.clear();
    for (const std::string& piece : current) EGMLA_RETURN_IF_ERROR(ApplyStep(step, piece, &next));
    current.swap(next);
  }
  for (std::string& word : current) {
    if (!word.empty()) words->push_back(std::move(word));
  }
  return absl::OkStatus();
}

}  // namespace egmla
