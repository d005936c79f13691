#include "tools/client_request.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/token_ids.h"

namespace egmla::cli {

std::vector<std::string> CollectFlagValues(const std::vector<std::string>& args,
                                           std::string_view name) {
  std::vector<std::string> values;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--") break;
    if (arg.starts_with("--")) {
      arg.remove_prefix(2);
    } else if (arg.starts_with("-")) {
      arg.remove_prefix(1);
    } else {
      continue;
    }
    if (!arg.starts_with(name)) continue;
    arg.remove_prefix(name.size());
    if (arg.starts_with("=")) {
      values.emplace_back(arg.substr(1));
    } else if (arg.empty() && i + 1 < args.size()) {
      values.push_back(args[++i]);
    }
  }
  return values;
}

std::vector<std::string> ParseStopSequences(const std::vector<std::string>& values) {
  std::vector<std::string> sequences;
  for (const std::string& value : values) {
    std::string current;
    for (size_t i = 0; i < value.size(); ++i) {
      const char ch = value[i];
      if (ch == ',') {
        if (!current.empty()) sequences.push_back(std::move(current));
        current.clear();
      } else if (ch == '\\' && i + 1 < value.size()) {
        switch (value[i + 1]) {
          case ',':
            current += ',';
            ++i;
            break;
          case 'n':
            current += '\n';
            ++i;
            break;
          case 't':
            current += '\t';
            ++i;
            break;
          case '\\':
            current += '\\';
            ++i;
            break;
          default:
            current += ch;
        }
      } else {
        current += ch;
      }
    }
    if (!current.empty()) sequences.push_back(std::move(current));
  }
  return sequences;
}

absl::StatusOr<egmla::v1::GenerateRequest> BuildGenerateRequest(const GenerateOptions& o) {
  const bool has_ids = !o.token_ids.empty();
  if (has_ids == o.text.has_value()) {
    return absl::InvalidArgumentError(
        has_ids ? "give either --token-ids or a TEXT argument, not both"
                : "give the prompt as --token-ids 1,2,3 or as a TEXT argument");
  }
  egmla::v1::GenerateRequest request;
  request.set_request_id(o.request_id);
  if (has_ids) {
    absl::StatusOr<std::vector<int32_t>> ids = ParseTokenIds(o.token_ids);
    if (!ids.ok()) return ids.status();
    for (int32_t id : *ids) request.mutable_token_ids()->add_ids(static_cast<uint32_t>(id));
  } else {
    request.set_text(*o.text);
  }

  egmla::v1::SamplingParams& sampling = *request.mutable_sampling();
  sampling.set_temperature(o.temperature);
  if (o.top_p) sampling.set_top_p(*o.top_p);
  if (o.top_k) sampling.set_top_k(*o.top_k);
  if (o.min_p) sampling.set_min_p(*o.min_p);
  if (o.seed) sampling.set_seed(*o.seed);

  egmla::v1::StoppingCriteria& stopping = *request.mutable_stopping();
  stopping.set_max_tokens(o.max_tokens);
  stopping.set_ignore_eos(o.ignore_eos);
  for (const std::string& stop : o.stop) stopping.add_stop_sequences(stop);

  request.set_return_logprobs(o.logprobs);
  return request;
}

std::string FormatChunk(const egmla::v1::Chunk& chunk, ChunkStyle style, bool first) {
  if (style == ChunkStyle::kText) return chunk.text();
  std::string out;
  for (int i = 0; i < chunk.token_ids_size(); ++i) {
    if (!first || i > 0) out += ' ';
    absl::StrAppend(&out, chunk.token_ids(i));
    if (style == ChunkStyle::kLogprobs && i < chunk.logprobs_size()) {
      absl::StrAppendFormat(&out, "(%.4f)", chunk.logprobs(i));
    }
  }
  return out;
}

std::string ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    // Only a message with unknown Any types fails to print; ours have none.
    return "{}";
  }
  return json;
}

}  // namespace egmla::cli
