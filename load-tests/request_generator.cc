#include "load-tests/request_generator.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/regular_file.h"
#include "tools/token_ids.h"

namespace egmla::loadgen {

absl::StatusOr<std::vector<Prompt>> ReadDataset(const std::string& path) {
  absl::StatusOr<std::string> text = ReadRegularFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat("--dataset: ", text.status().message()));
  }
  std::vector<Prompt> prompts;
  int64_t line_number = 0;
  for (absl::string_view piece : absl::StrSplit(*text, '\n')) {
    ++line_number;
    std::string line(piece);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    Prompt prompt;
    if (cli::IsTokenIdLine(line)) {
      absl::StatusOr<std::vector<int32_t>> ids = cli::ParseTokenIds(line);
      if (!ids.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--dataset: ", path, ":", line_number, ": ", ids.status().message()));
      }
      prompt.token_ids = *std::move(ids);
    } else {
      prompt.text = line;
    }
    prompts.push_back(std::move(prompt));
  }
  if (prompts.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--dataset: ", path, " has no prompts"));
  }
  return prompts;
}

LengthRange RangeAround(int64_t len, double ratio) {
  const auto low = static_cast<int64_t>(std::floor(static_cast<double>(len) * (1 - ratio)));
  const auto high = static_cast<int64_t>(std::floor(static_cast<double>(len) * (1 + ratio)));
  return {.min = std::max<int64_t>(1, low), .max = std::max<int64_t>(1, high)};
}

RequestGenerator::RequestGenerator(GeneratorOptions options)
    : options_(std::move(options)),
      input_range_(RangeAround(options_.input_len, options_.range_ratio)),
      output_range_(RangeAround(options_.output_len, options_.range_ratio)),
      rng_(options_.seed) {}

RequestSpec RequestGenerator::Next() {
  RequestSpec spec{.index = next_index_++};
  if (options_.dataset.empty()) {
    const int64_t len =
        std::uniform_int_distribution<int64_t>(input_range_.min, input_range_.max)(rng_);
    std::uniform_int_distribution<int32_t> token(0, options_.vocab_size - 1);
    spec.prompt.token_ids.resize(static_cast<size_t>(len));
    for (int32_t& id : spec.prompt.token_ids) id = token(rng_);
  } else {
    spec.prompt = options_.dataset[static_cast<size_t>(spec.index) % options_.dataset.size()];
  }
  spec.max_tokens =
      std::uniform_int_distribution<int64_t>(output_range_.min, output_range_.max)(rng_);
  return spec;
}

egmla::v1::GenerateRequest ToGenerateRequest(const RequestSpec& spec, const RequestParams& params) {
  egmla::v1::GenerateRequest request;
  request.set_request_id(absl::StrCat(params.request_id_prefix, "-", spec.index));
  if (spec.prompt.token_ids.empty()) {
    request.set_text(spec.prompt.text);
  } else {
    request.mutable_token_ids()->mutable_ids()->Add(spec.prompt.token_ids.begin(),
                                                    spec.prompt.token_ids.end());
  }
  egmla::v1::SamplingParams* sampling = request.mutable_sampling();
  sampling->set_temperature(params.temperature);
  sampling->set_seed(params.seed + static_cast<uint64_t>(spec.index));
  egmla::v1::StoppingCriteria* stopping = request.mutable_stopping();
  stopping->set_max_tokens(static_cast<uint32_t>(spec.max_tokens));
  stopping->set_ignore_eos(params.ignore_eos);
  return request;
}

}  // namespace egmla::loadgen
