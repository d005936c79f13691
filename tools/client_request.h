// The pure parts of `egmla generate`: flag values to a GenerateRequest, and responses to text.
// No I/O and no channel, so they are unit-tested without a server.
#ifndef EGMLA_TOOLS_CLIENT_REQUEST_H_
#define EGMLA_TOOLS_CLIENT_REQUEST_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "egmla/v1/generation.pb.h"
#include "tools/commands.h"

namespace egmla::cli {

// Every value of flag `name` in `args` (argv after NormalizeFlagNames), in order: "--name=V",
// "--name V", "-name=V" and "-name V"; nothing after a bare "--". absl keeps only the last
// occurrence of a repeated flag; this lets `--stop a --stop b` mean both.
std::vector<std::string> CollectFlagValues(const std::vector<std::string>& args,
                                           std::string_view name);

// Splits each --stop value at commas into stop sequences, in order, dropping empty ones.
// Escapes: "\," is a comma inside a sequence, "\n" a newline, "\t" a tab, "\\" a backslash; any
// other backslash stays as it is.
std::vector<std::string> ParseStopSequences(const std::vector<std::string>& values);

// The request the flags describe. Exactly one of --token-ids and TEXT must be given. Sampling
// fields are set only when their flag was given, except temperature (always set). Range checks
// are left to the server, which names the field in INVALID_ARGUMENT.
absl::StatusOr<egmla::v1::GenerateRequest> BuildGenerateRequest(const GenerateOptions& options);

// How streamed chunks print without --json.
enum class ChunkStyle {
  kText,      // Chunk.text as it is
  kIds,       // token ids, separated by spaces
  kLogprobs,  // "id(logprob)" per token, separated by spaces, logprob with 4 decimals
};

// The text one chunk adds to the output; `first` is whether nothing was printed before it (no
// leading space then).
std::string FormatChunk(const egmla::v1::Chunk& chunk, ChunkStyle style, bool first);

// One line of JSON (proto field names, zero-valued fields included), without the newline.
std::string ToJsonLine(const google::protobuf::Message& message);

}  // namespace egmla::cli

#endif  // EGMLA_TOOLS_CLIENT_REQUEST_H_
