#include "tokenizer/detokenizer.h"

#include <string_view>
#include <utility>

#include "tokenizer/tokenizer_utf8.h"

namespace egmla {

std::string StreamingDetokenizer::Add(int32_t token_id) {
  if (options_.skip_special_tokens && tokenizer_->IsSpecialToken(token_id)) return {};
  const std::string_view bytes = tokenizer_->TokenBytes(token_id);
  if (bytes.empty()) return {};
  held_.append(bytes);
  const size_t keep = IncompleteUtf8SuffixLength(held_);
  std::string text = ToValidUtf8(std::string_view(held_).substr(0, held_.size() - keep));
  held_.erase(0, held_.size() - keep);
  return text;
}

std::string StreamingDetokenizer::Finish() {
  std::string text = ToValidUtf8(held_);
  held_.clear();
  return text;
}

}  // namespace egmla
