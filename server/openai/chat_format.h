// Built-in chat formats for /v1/chat/completions (DESIGN §4): a conversation rendered into the
// prompt text the model was trained on, in C++ (Debian has no C++ Jinja engine, and we do not
// write one). A model names its format in config.json (`chat_format`).
//
//   chatml   (Qwen, many fine-tunes): "<|im_start|>ROLE\nCONTENT<|im_end|>\n" per message, then
//            "<|im_start|>assistant\n"; the reply ends at "<|im_end|>".
//   llama-3  (Llama 3 Instruct): "<|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|>"
//            per message (content trimmed, as the official template does), then the assistant's
//            header; the reply ends at "<|eot_id|>". The leading <|begin_of_text|> is the model's
//            bos, which the server puts before every text prompt (config.json bos_token_id).
#ifndef EGMLA_SERVER_OPENAI_CHAT_FORMAT_H_
#define EGMLA_SERVER_OPENAI_CHAT_FORMAT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace egmla {

struct ChatMessage {
  std::string role;  // "system" | "developer" | "user" | "assistant"
  std::string content;
};

struct ChatFormat {
  std::string name;         // "chatml" | "llama-3"
  std::string end_of_turn;  // what ends the assistant's reply: a stop token or stop sequence
};

// The format named `name` (a kChatFormatNames value); NOT_FOUND otherwise.
absl::StatusOr<ChatFormat> FindChatFormat(std::string_view name);

// The prompt for `messages` ending with the assistant's header, ready for its reply.
// INVALID_ARGUMENT naming "messages[i].role" for a role the format has no place for.
absl::StatusOr<std::string> RenderChat(const ChatFormat& format,
                                       const std::vector<ChatMessage>& messages);

}  // namespace egmla

#endif  // EGMLA_SERVER_OPENAI_CHAT_FORMAT_H_
