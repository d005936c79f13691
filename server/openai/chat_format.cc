#include "server/openai/chat_format.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace egmla {
namespace {

// OpenAI's "developer" role is the newer name of "system".
std::string TemplateRole(const std::string& role) { return role == "developer" ? "system" : role; }

bool KnownRole(std::string_view role) {
  return role == "system" || role == "developer" || role == "user" || role == "assistant";
}

}  // namespace

absl::StatusOr<ChatFormat> FindChatFormat(std::string_view name) {
  if (name == "chatml") return ChatFormat{.name = "chatml", .end_of_turn = "<|im_end|>"};
  if (name == "llama-3") return ChatFormat{.name = "llama-3", .end_of_turn = "<|eot_id|>"};
  return absl::NotFoundError(absl::StrCat("no built-in chat format '", std::string(name), "'"));
}

absl::StatusOr<std::string> RenderChat(const ChatFormat& format,
                                       const std::vector<ChatMessage>& messages) {
  std::string prompt;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (!KnownRole(m.role)) {
      return absl::InvalidArgumentError(
          absl::StrCat("messages[", i,
                       "].role: must be system, developer, user or assistant, got '", m.role, "'"));
    }
    const std::string role = TemplateRole(m.role);
    if (format.name == "chatml") {
      absl::StrAppend(&prompt, "<|im_start|>", role, "\n", m.content, "<|im_end|>\n");
    } else {
      absl::StrAppend(&prompt, "<|start_header_id|>", role, "<|end_header_id|>\n\n",
                      std::string(absl::StripAsciiWhitespace(m.content)), "<|eot_id|>");
    }
  }
  if (format.name == "chatml") {
    prompt += "<|im_start|>assistant\n";
  } else {
    prompt += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  }
  return prompt;
}

}  // namespace egmla
