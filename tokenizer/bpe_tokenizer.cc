#include "tokenizer/bpe_tokenizer.h"

#include <array>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "tokenizer/bpe_json.h"
#include "tokenizer/tokenizer_utf8.h"

namespace egmla {
namespace {

using bpe_json::Json;

bool IsPrintableByte(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteTables {
  std::array<char32_t, 256> to_unicode;
  std::array<int16_t, 256 + 68> from_unicode;  // code points below 256 + 68 only
};

const ByteTables& Tables() {
  static const ByteTables* const tables = [] {
    auto* t = new ByteTables();
    t->from_unicode.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      t->to_unicode[b] = IsPrintableByte(b) ? b : 256 + n++;
      t->from_unicode[t->to_unicode[b]] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return *tables;
}

// A byte-level vocabulary string's raw bytes, or nullopt when a character is outside the table.
std::optional<std::string> ByteLevelToBytes(std::string_view token) {
  std::string bytes;
  size_t i = 0;
  while (i < token.size()) {
    const Utf8Unit unit = DecodeUtf8Unit(token, i);
    if (unit.kind != Utf8Unit::Kind::kChar) return std::nullopt;
    const int b = ByteFromUnicode(unit.code_point);
    if (b < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(b));
    i += unit.length;
  }
  return bytes;
}

// An id in [0, kMaxVocabSize), or nullopt.
std::optional<int32_t> TokenIdValue(const Json& value) {
  constexpr int64_t kMax = BpeTokenizer::kMaxVocabSize;
  if (!value.is_number_integer()) return std::nullopt;
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() >= static_cast<uint64_t>(kMax)) return std::nullopt;
  } else if (value.get<int64_t>() < 0 || value.get<int64_t>() >= kMax) {
    return std::nullopt;
  }
  return static_cast<int32_t>(value.get<int64_t>());
}

absl::Status BadId(const Json& value, std::string_view where) {
  return absl::InvalidArgumentError(absl::StrCat("tokenizer.json ", std::string(where), ": id ",
                                                 value.dump(), " is not an integer in [0, 2^24)"));
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseMerges(const Json& merges) {
  if (!merges.is_array()) return bpe_json::FieldError("model", "merges", "expected an array");
  std::vector<std::pair<std::string, std::string>> result;
  result.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const Json& merge = merges[i];
    std::string left, right;
    if (merge.is_string()) {  // "a b" (the parts never hold ' ': it is 'Ġ' byte-level)
      const std::string& text = merge.get_ref<const std::string&>();
      const size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        return bpe_json::FieldError("model", absl::StrCat("merges[", i, "]"),
                                    "expected two tokens separated by one space");
      }
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      return bpe_json::FieldError("model", absl::StrCat("merges[", i, "]"),
                                  "expected \"a b\" or [\"a\", \"b\"]");
    }
    auto left_bytes = ByteLevelToBytes(left);
    auto right_bytes = ByteLevelToBytes(right);
    if (!left_bytes || !right_bytes) {
      return bpe_json::FieldError("model", absl::StrCat("merges[", i, "]"),
                                  "a part is outside the byte-level alphabet");
    }
    result.emplace_back(*std::move(left_bytes), *std::move(right_bytes));
  }
  return result;
}

absl::StatusOr<std::vector<AddedToken>> ParseAddedTokens(const Json& root) {
  std::vector<AddedToken> tokens;
  const Json* list = bpe_json::Find(root, "added_tokens");
  if (list == nullptr) return tokens;
  if (!list->is_array()) return bpe_json::FieldError("", "added_tokens", "expected an array");
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& entry = (*list)[i];
    const std::string where = absl::StrCat("added_tokens[", i, "]");
    if (!entry.is_object() || bpe_json::Find(entry, "id") == nullptr) {
      return bpe_json::FieldError(where, "id", "expected an object with an id");
    }
    AddedToken token;
    const std::optional<int32_t> id = TokenIdValue(entry["id"]);
    if (!id) return BadId(entry["id"], where);
    token.id = *id;
    EGMLA_ASSIGN_OR_RETURN(token.content, bpe_json::RequiredString(entry, "content", where));
    EGMLA_ASSIGN_OR_RETURN(token.special, bpe_json::OptionalBool(entry, "special", false, where));
    EGMLA_ASSIGN_OR_RETURN(token.single_word,
                           bpe_json::OptionalBool(entry, "single_word", false, where));
    EGMLA_ASSIGN_OR_RETURN(token.lstrip, bpe_json::OptionalBool(entry, "lstrip", false, where));
    EGMLA_ASSIGN_OR_RETURN(token.rstrip, bpe_json::OptionalBool(entry, "rstrip", false, where));
    EGMLA_ASSIGN_OR_RETURN(token.normalized,
                           bpe_json::OptionalBool(entry, "normalized", !token.special, where));
    tokens.push_back(std::move(token));
  }
  return tokens;
}

absl::Status CheckSupported(const Json& root, const Json& model) {
  if (const Json* normalizer = bpe_json::Find(root, "normalizer")) {
    const Json* steps =
        normalizer->is_object() ? bpe_json::Find(*normalizer, "normalizers") : nullptr;
    const Json* type = normalizer->is_object() ? bpe_json::Find(*normalizer, "type") : nullptr;
    const std::string type_name =
        type != nullptr && type->is_string() ? type->get<std::string>() : std::string("?");
    if (!(type_name == "Sequence" && steps != nullptr && steps->is_array() && steps->empty())) {
      return absl::UnimplementedError(absl::StrCat("tokenizer.json normalizer '", type_name,
                                                   "' is not supported (only null or an empty "
                                                   "Sequence)"));
    }
  }
  EGMLA_ASSIGN_OR_RETURN(std::optional<std::string> type,
                         bpe_json::OptionalString(model, "type", "model"));
  if (type.value_or("BPE") != "BPE") {
    return absl::UnimplementedError(absl::StrCat("tokenizer.json model type '", *type,
                                                 "' is not supported (only byte-level BPE)"));
  }
  if (const Json* dropout = bpe_json::Find(model, "dropout");
      dropout != nullptr && !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    return absl::UnimplementedError("tokenizer.json BPE dropout is not supported");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const Json* value = bpe_json::Find(model, key);
    if (value != nullptr && !(value->is_string() && value->get_ref<const std::string&>().empty())) {
      return absl::UnimplementedError(
          absl::StrCat("tokenizer.json model.", key, " is not supported"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

char32_t ByteToUnicode(uint8_t byte) { return Tables().to_unicode[byte]; }

int ByteFromUnicode(char32_t code_point) {
  if (code_point >= Tables().from_unicode.size()) return -1;
  return Tables().from_unicode[code_point];
}

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::FromJson(std::string_view json,
                                                                     std::string_view name) {
  const auto prefixed = [&](const absl::Status& status) {
    return absl::Status(status.code(), absl::StrCat(std::string(name), ": ", status.message()));
  };
  const Json root = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(name), ": not a JSON object"));
  }
  const Json* model = bpe_json::Find(root, "model");
  if (model == nullptr || !model->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(name), ": tokenizer.json has no model object"));
  }
  if (absl::Status s = CheckSupported(root, *model); !s.ok()) return prefixed(s);
  // By reference: `p ? *p : Json()` would copy the field, recursively (a pre_tokenizer nested
  // 200,000 deep overflowed the stack: a hand-made input replayed by fuzz/tokenizer_json_fuzz),
  // and GPT-2's 50,000 merges for nothing.
  static const Json kNull;
  static const Json kEmptyArray = Json::array();
  const Json* pre_tokenizer_json = bpe_json::Find(root, "pre_tokenizer");
  auto pre_tokenizer =
      BpePreTokenizer::FromJson(pre_tokenizer_json != nullptr ? *pre_tokenizer_json : kNull);
  if (!pre_tokenizer.ok()) return prefixed(pre_tokenizer.status());
  if (!pre_tokenizer->has_byte_level()) {
    return absl::UnimplementedError(
        absl::StrCat(std::string(name),
                     ": tokenizer.json without a ByteLevel pre-tokenizer is not supported "
                     "(only byte-level BPE; for SentencePiece use tokenizer.model)"));
  }
  const Json* vocab = bpe_json::Find(*model, "vocab");
  if (vocab == nullptr || !vocab->is_object()) {
    return prefixed(bpe_json::FieldError("model", "vocab", "expected an object"));
  }
  // Raw-bytes vocabulary for the BPE model; everything else by id for decoding.
  absl::flat_hash_map<std::string, int32_t> byte_vocab;
  std::vector<std::pair<int32_t, std::string>> id_bytes;
  absl::flat_hash_map<std::string, int32_t> extra;
  int64_t size = 0;
  for (const auto& [token, value] : vocab->items()) {
    const std::optional<int32_t> id = TokenIdValue(value);
    if (!id) return prefixed(BadId(value, absl::StrCat("model.vocab[\"", token, "\"]")));
    size = std::max<int64_t>(size, *id + 1);
    std::optional<std::string> bytes = ByteLevelToBytes(token);
    if (bytes) {
      id_bytes.emplace_back(*id, *bytes);
      byte_vocab.insert_or_assign(*std::move(bytes), *id);
    } else {  // outside the alphabet: unreachable by merges; decoded as its UTF-8, as HF does
      id_bytes.emplace_back(*id, token);
      extra.insert_or_assign(token, *id);
    }
  }
  const Json* merges_json = bpe_json::Find(*model, "merges");
  auto merges = ParseMerges(merges_json != nullptr ? *merges_json : kEmptyArray);
  if (!merges.ok()) return prefixed(merges.status());
  BpeModel::Options options;
  auto unk = bpe_json::OptionalString(*model, "unk_token", "model");
  auto fuse_unk = bpe_json::OptionalBool(*model, "fuse_unk", false, "model");
  auto byte_fallback = bpe_json::OptionalBool(*model, "byte_fallback", false, "model");
  auto ignore_merges = bpe_json::OptionalBool(*model, "ignore_merges", false, "model");
  for (const absl::Status& s :
       {unk.status(), fuse_unk.status(), byte_fallback.status(), ignore_merges.status()}) {
    if (!s.ok()) return prefixed(s);
  }
  if (*unk) {
    auto bytes = ByteLevelToBytes(**unk);
    auto it = bytes ? byte_vocab.find(*bytes) : extra.find(**unk);
    if (it == (bytes ? byte_vocab.end() : extra.end())) {
      return prefixed(bpe_json::FieldError("model", "unk_token", "not in model.vocab"));
    }
    options.unk_id = it->second;
  }
  options.fuse_unk = *fuse_unk;
  options.byte_fallback = *byte_fallback;
  options.ignore_merges = *ignore_merges;
  auto bpe = BpeModel::Create(std::move(byte_vocab), *merges, options);
  if (!bpe.ok()) return prefixed(bpe.status());
  auto added_tokens = ParseAddedTokens(root);
  if (!added_tokens.ok()) return prefixed(added_tokens.status());
  auto splitter = AddedTokenSplitter::Create(*added_tokens);
  if (!splitter.ok()) return prefixed(splitter.status());

  std::unique_ptr<BpeTokenizer> tokenizer(
      new BpeTokenizer(*std::move(bpe), *std::move(pre_tokenizer), *std::move(splitter)));
  for (const AddedToken& token : *added_tokens) size = std::max<int64_t>(size, token.id + 1);
  tokenizer->token_bytes_.resize(size);
  tokenizer->special_.resize(size);
  for (auto& [id, bytes] : id_bytes) tokenizer->token_bytes_[id] = std::move(bytes);
  for (const AddedToken& token : *added_tokens) {
    tokenizer->token_bytes_[token.id] = token.content;
    tokenizer->special_[token.id] = token.special;
    extra.insert_or_assign(token.content, token.id);
  }
  tokenizer->extra_tokens_ = std::move(extra);
  tokenizer->max_token_bytes_ = MaxTokenBytes(tokenizer->token_bytes_);
  return tokenizer;
}

absl::StatusOr<std::vector<int32_t>> BpeTokenizer::Encode(std::string_view text) const {
  if (std::optional<size_t> bad = FirstInvalidUtf8Offset(text)) {
    return absl::InvalidArgumentError(
        absl::StrCat("text is not valid UTF-8 at byte offset ", *bad));
  }
  std::vector<int32_t> ids;
  std::vector<std::string> words;
  for (const AddedTokenSplitter::Segment& segment : added_.Split(text)) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    words.clear();
    EGMLA_RETURN_IF_ERROR(pre_tokenizer_.Split(segment.text, &words));
    for (const std::string& word : words) model_->EncodeWord(word, &ids);
  }
  return ids;
}

absl::StatusOr<std::string> BpeTokenizer::Decode(absl::Span<const int32_t> ids) const {
  std::string bytes;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", ids[i], " at index ", i, " is not in [0, ", vocab_size(), ")"));
    }
    bytes.append(token_bytes_[ids[i]]);
  }
  return ToValidUtf8(bytes);
}

std::string_view BpeTokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return token_bytes_[id];
}

bool BpeTokenizer::IsSpecialToken(int32_t id) const {
  return id >= 0 && id < vocab_size() && special_[id];
}

std::optional<int32_t> BpeTokenizer::TokenId(std::string_view token) const {
  if (auto it = extra_tokens_.find(absl::string_view(token.data(), token.size()));
      it != extra_tokens_.end()) {
    return it->second;
  }
  std::optional<std::string> bytes = ByteLevelToBytes(token);
  if (!bytes) return std::nullopt;
  return model_->Find(*bytes);
}

}  // namespace egmla
