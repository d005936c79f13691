// Byte-pair encoding of one pre-tokenized word over raw bytes, by merge rank (the tokenizer.json
// "BPE" model). The vocabulary and merges are given as raw byte strings (the byte-level table
// already undone), so a word's initial symbols are its bytes.
//
// Merging follows Hugging Face tokenizers (and so GPT-2's encoder.py): repeatedly merge the
// adjacent pair of lowest rank, the leftmost one on ties, until no adjacent pair has a rank.
// A priority queue keeps this O(n log n) in the word's length, so adversarial input (one huge
// "word") costs no more than ordinary text.
#ifndef EGMLA_TOKENIZER_BPE_MODEL_H_
#define EGMLA_TOKENIZER_BPE_MODEL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace egmla {

class BpeModel {
 public:
  struct Options {
    std::optional<int32_t> unk_id;  // for a byte the vocabulary lacks; none: the byte is dropped
    bool fuse_unk = false;          // consecutive unknown bytes give one unk id
    bool byte_fallback = false;     // a missing byte b becomes the token "<0xBB>" if present
    bool ignore_merges = false;     // a word that is itself in the vocabulary is one token
  };

  // `vocab`: token bytes -> id. `merges`: (left, right) byte strings in rank order (rank = index;
  // a repeated pair keeps its last rank). INVALID_ARGUMENT naming the merge (by index) when its
  // left, right or merged token is not in the vocabulary.
  static absl::StatusOr<std::unique_ptr<BpeModel>> Create(
      absl::flat_hash_map<std::string, int32_t> vocab,
      const std::vector<std::pair<std::string, std::string>>& merges, const Options& options);

  // Appends the ids of `word` (raw bytes, any content). Thread-safe.
  void EncodeWord(std::string_view word, std::vector<int32_t>* ids) const;

  // The id of a token's bytes, if in the vocabulary.
  std::optional<int32_t> Find(std::string_view bytes) const;

 private:
  struct MergeRule {
    int32_t rank;
    int32_t merged_id;
  };
  static uint64_t PairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  BpeModel() = default;
  void ApplyMerges(std::vector<int32_t>* symbols) const;

  absl::flat_hash_map<std::string, int32_t> vocab_;
  absl::flat_hash_map<uint64_t, MergeRule> merges_;
  int32_t byte_ids_[256];  // the id of each single byte, or -1
  Options options_;

  // Hugging Face's cache policy: words under 256 bytes, at most 10000 entries, no eviction.
  static constexpr size_t kMaxCachedWordBytes = 256;
  static constexpr size_t kMaxCacheEntries = 10000;
  mutable absl::Mutex cache_mutex_;
  mutable absl::flat_hash_map<std::string, std::vector<int32_t>> cache_
      ABSL_GUARDED_BY(cache_mutex_);
};

}  // namespace egmla

#endif  // EGMLA_TOKENIZER_BPE_MODEL_H_
