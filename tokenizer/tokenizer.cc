#include "tokenizer/tokenizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/regular_file.h"
#include "common/status.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"

namespace egmla {
namespace {

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

int64_t MaxTokenBytes(const std::vector<std::string>& token_bytes) {
  size_t longest = kMinMaxTokenBytes;
  for (const std::string& bytes : token_bytes) longest = std::max(longest, bytes.size());
  return static_cast<int64_t>(longest);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path) {
  // Read once, through the regular-file check, for both kinds: the SentencePiece library would
  // otherwise open the path itself and block on a FIFO.
  EGMLA_ASSIGN_OR_RETURN(std::string contents, ReadRegularFile(path));
  const bool json =
      path.ends_with(".json") || (!path.ends_with(".model") && LooksLikeJson(contents));
  if (!json) {
    auto sp = SentencePieceTokenizer::FromSerialized(contents, path);
    if (!sp.ok()) return sp.status();
    return std::unique_ptr<Tokenizer>(*std::move(sp));
  }
  auto bpe = BpeTokenizer::FromJson(contents, path);
  if (!bpe.ok()) return bpe.status();
  return std::unique_ptr<Tokenizer>(*std::move(bpe));
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadModelTokenizer(const std::string& model_dir) {
  for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
    const std::string path = absl::StrCat(model_dir, "/", name);
    // lstat, not stat: a dangling symbolic link exists (and is refused when loaded); only a name
    // that is not there at all means "no tokenizer".
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 || errno != ENOENT) return LoadTokenizer(path);
  }
  return std::unique_ptr<Tokenizer>();
}

}  // namespace egmla
