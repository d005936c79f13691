#include "tokenizer/sentencepiece_tokenizer.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/regular_file.h"
#include "common/status.h"
#include "tokenizer/tokenizer_utf8.h"

namespace egmla {
namespace {

// "<0xAB>" -> 0xAB, or -1.
int ParseBytePiece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  int value = 0;
  for (char c : piece.substr(3, 2)) {
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= c - '0';
    } else if (c >= 'A' && c <= 'F') {
      value |= c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      value |= c - 'a' + 10;
    } else {
      return -1;
    }
  }
  return value;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::Load(
    const std::string& path) {
  EGMLA_ASSIGN_OR_RETURN(std::string bytes, ReadRegularFile(path));
  return FromSerialized(bytes, path);
}

absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::FromSerialized(
    std::string_view model_bytes, std::string_view name) {
  std::string error;
  auto processor = sentencepiece_backend::LoadSerialized(model_bytes, &error);
  if (processor == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(name), ": cannot load as a SentencePiece model (", error, ")"));
  }
  std::unique_ptr<SentencePieceTokenizer> tokenizer(
      new SentencePieceTokenizer(std::move(processor)));
  const sentencepiece_backend::Processor& sp = *tokenizer->processor_;
  const int size = sp.piece_size();
  tokenizer->token_bytes_.resize(size);
  tokenizer->special_.resize(size);
  for (int id = 0; id < size; ++id) {
    std::string& bytes = tokenizer->token_bytes_[id];
    const std::string& piece = sp.IdToPiece(id);
    if (sp.IsControl(id)) {
      tokenizer->special_[id] = true;
    } else if (sp.IsUnknown(id)) {
      tokenizer->special_[id] = true;
      if (!sp.Decode({id}, &bytes, &error)) bytes = " \xE2\x81\x87 ";  // " ⁇ ", the default
    } else if (const int byte = sp.IsByte(id) ? ParseBytePiece(piece) : -1; byte >= 0) {
      bytes.push_back(static_cast<char>(byte));
    } else {
      bytes = absl::StrReplaceAll(piece, {{"\xE2\x96\x81", " "}});  // U+2581 '▁' -> ' '
    }
  }
  tokenizer->max_token_bytes_ = MaxTokenBytes(tokenizer->token_bytes_);
  return tokenizer;
}

absl::StatusOr<std::vector<int32_t>> SentencePieceTokenizer::Encode(std::string_view text) const {
  if (std::optional<size_t> bad = FirstInvalidUtf8Offset(text)) {
    return absl::InvalidArgumentError(
        absl::StrCat("text is not valid UTF-8 at byte offset ", *bad));
  }
  std::vector<int> ids;
  std::string error;
  if (!processor_->Encode(text, &ids, &error)) {
    return absl::InternalError(absl::StrCat("SentencePiece encode failed: ", error));
  }
  return std::vector<int32_t>(ids.begin(), ids.end());
}

absl::StatusOr<std::string> SentencePieceTokenizer::Decode(absl::Span<const int32_t> ids) const {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", ids[i], " at index ", i, " is not in [0, ", vocab_size(), ")"));
    }
  }
  std::string text;
  std::string error;
  if (!processor_->Decode(std::vector<int>(ids.begin(), ids.end()), &text, &error)) {
    return absl::InternalError(absl::StrCat("SentencePiece decode failed: ", error));
  }
  return ToValidUtf8(text);  // the library already replaces bad bytes; this is a guarantee
}

std::string_view SentencePieceTokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return token_bytes_[id];
}

bool SentencePieceTokenizer::IsSpecialToken(int32_t id) const {
  return id >= 0 && id < vocab_size() && special_[id];
}

std::optional<int32_t> SentencePieceTokenizer::TokenId(std::string_view token) const {
  const int id = processor_->PieceToId(token);
  if (id < 0 || id >= vocab_size()) return std::nullopt;
  // PieceToId answers unk_id for unknown pieces: only the unknown piece itself maps to it.
  if (id == processor_->unk_id() && processor_->IdToPiece(id) != token) return std::nullopt;
  return id;
}

}  // namespace egmla
