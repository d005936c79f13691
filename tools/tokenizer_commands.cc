// `egmla tokenize` and `egmla detokenize` (DESIGN §5.1).
#include <iostream>

#include "absl/strings/str_join.h"
#include "common/status.h"
#include "tokenizer/tokenizer.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/token_ids.h"

namespace egmla::cli {
namespace {

absl::StatusOr<std::unique_ptr<Tokenizer>> Open(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("--tokenizer is required");
  return LoadTokenizer(path);
}

absl::Status TokenizeImpl(const std::string& path, const std::string& text) {
  EGMLA_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, Open(path));
  EGMLA_ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer->Encode(text));
  std::cout << "[" << absl::StrJoin(ids, ", ") << "]\n";
  return absl::OkStatus();
}

absl::Status DetokenizeImpl(const std::string& path, const std::string& token_ids) {
  EGMLA_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, Open(path));
  EGMLA_ASSIGN_OR_RETURN(std::vector<int32_t> ids, ParseTokenIds(token_ids));
  EGMLA_ASSIGN_OR_RETURN(std::string text, tokenizer->Decode(ids));
  std::cout << text << "\n";
  return absl::OkStatus();
}

}  // namespace

int Tokenize(const std::string& tokenizer_path, const std::string& text) {
  return ExitCode("tokenize", TokenizeImpl(tokenizer_path, text));
}

int Detokenize(const std::string& tokenizer_path, const std::string& token_ids) {
  return ExitCode("detokenize", DetokenizeImpl(tokenizer_path, token_ids));
}

}  // namespace egmla::cli
