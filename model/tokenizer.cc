#include "model/tokenizer.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/bpe_tokenizer.h"
#include "model/sentencepiece_tokenizer.h"

namespace egmla {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open tokenizer file ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  return std::move(contents).str();
}

// JSON starts with '{' (after whitespace or a UTF-8 byte order mark); a SentencePiece model is a
// binary protobuf.
bool LooksLikeJson(std::string_view head) {
  if (head.starts_with("\xEF\xBB\xBF")) head.remove_prefix(3);
  for (char c : head) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{';
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path) {
  if (!IsRegularFile(path)) {
    return absl::NotFoundError(absl::StrCat("tokenizer file ", path, " does not exist"));
  }
  bool json = path.ends_with(".json");
  if (!json && !path.ends_with(".model")) {
    std::ifstream in(path, std::ios::binary);
    char head[64] = {};
    in.read(head, sizeof(head));
    json = LooksLikeJson(std::string_view(head, static_cast<size_t>(in.gcount())));
  }
  if (!json) {
    auto sp = SentencePieceTokenizer::Load(path);
    if (!sp.ok()) return sp.status();
    return std::unique_ptr<Tokenizer>(*std::move(sp));
  }
  absl::StatusOr<std::string> contents = ReadFile(path);
  if (!contents.ok()) return contents.status();
  auto bpe = BpeTokenizer::FromJson(*contents, path);
  if (!bpe.ok()) return bpe.status();
  return std::unique_ptr<Tokenizer>(*std::move(bpe));
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadModelTokenizer(const std::string& model_dir) {
  for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
    const std::string path = absl::StrCat(model_dir, "/", name);
    if (IsRegularFile(path)) return LoadTokenizer(path);
  }
  return std::unique_ptr<Tokenizer>();
}

}  // namespace egmla
