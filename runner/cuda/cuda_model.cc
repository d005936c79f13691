#include "runner/cuda/cuda_model.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/dtype.h"
#include "kernels/cuda/block_table_update/block_table_update.h"
#include "kernels/cuda/swiglu/swiglu.h"
#include "model/kv_size.h"
#include "runner/cuda/cuda_model_state.h"

namespace egmla::cuda {

CudaModel::CudaModel(std::unique_ptr<State> state) : state_(std::move(state)) {}
CudaModel::~CudaModel() = default;

const ModelConfig& CudaModel::config() const { return state_->config; }
bool CudaModel::decodes_grouped() const { return state_->grouped; }

DeviceMemoryUse CudaModel::memory() const {
  return {.weights = state_->weights.num_bytes(),
          .kv_cache = state_->cache_bytes,
          .workspace = state_->ws.bytes};
}

CacheSpec CudaModel::DeviceCacheSpec(const ModelConfig& config) {
  return MakeCacheSpec(config, DType::kBF16);
}

DeviceMemoryUse CudaModel::BytesWithoutCache(const Model& model, const CudaModelOptions& options) {
  return {.weights = DeviceWeights::BytesFor(model),
          .workspace = LayOut(model, options, nullptr).bytes};
}

absl::StatusOr<std::unique_ptr<CudaModel>> CudaModel::Create(const Model& model,
                                                             const CudaModelOptions& o) {
  const ModelConfig& c = model.config();
  if (o.num_blocks < 1 || o.block_size < 1 || o.max_num_seqs < 1 || o.max_batched_tokens < 1 ||
      o.max_logit_rows < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CUDA model: num_blocks ", o.num_blocks, ", block_size ", o.block_size, ", max_num_seqs ",
        o.max_num_seqs, ", max_batched_tokens ", o.max_batched_tokens, " must all be >= 1"));
  }
  const int64_t widest = c.is_latent() ? std::max(c.kv_lora_rank, c.v_head_dim) : c.head_dim;
  if (widest > k::kAttentionMaxValueDim) {
    return absl::InvalidArgumentError(absl::StrCat("CUDA model: an attention value of ", widest,
                                                   " elements is wider than the kernel's ",
                                                   k::kAttentionMaxValueDim));
  }
  if (o.num_blocks * o.block_size > (int64_t{1} << 31) - 1) {
    return absl::InvalidArgumentError(absl::StrCat("CUDA model: ", o.num_blocks, " blocks of ",
                                                   o.block_size,
                                                   " slots exceed the int32 slot mapping"));
  }
  auto st = std::make_unique<State>();
  st->model = &model;
  st->config = c;
  st->d = DimsOf(c);
  st->options = o;
  EGMLA_ASSIGN_OR_RETURN(st->stream, Stream::Create());
  EGMLA_ASSIGN_OR_RETURN(st->weights, DeviceWeights::Upload(model));
  const int64_t slots = o.num_blocks * o.block_size;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    EGMLA_ASSIGN_OR_RETURN(DeviceBuffer layer,
                           DeviceBuffer::Allocate(slots * st->d.cache_row * int64_t{sizeof(bf16)}));
    st->cache_bytes += layer.size_bytes();
    st->cache_layers.push_back(std::move(layer));
    if (c.is_eg_mla_up_projected()) {
      EGMLA_ASSIGN_OR_RETURN(DeviceBuffer stats,
                             DeviceBuffer::Allocate(slots * 2 * int64_t{sizeof(float)}));
      st->cache_bytes += stats.size_bytes();
      st->cache_stats.push_back(std::move(stats));
    }
  }
  if (c.is_eg_mla_up_projected()) {
    EGMLA_ASSIGN_OR_RETURN(st->cache_ids, DeviceBuffer::Allocate(slots * int64_t{sizeof(int32_t)}));
    st->cache_bytes += st->cache_ids.size_bytes();
  }
  // The decode rows take the split-KV kernels where their shapes fit them, else the reference
  // kernel: fixed per model, so a row's arithmetic never depends on the batch.
  st->split_kv = c.is_latent()
                     ? k::DecodeAttentionFits(c.num_attention_heads, c.kv_lora_rank,
                                              c.qk_rope_head_dim, c.kv_lora_rank)
                     : k::DecodeAttentionFits(c.num_attention_heads, c.head_dim, 0, c.head_dim);
  st->grouped = DecodesGrouped(c, o);
  const int64_t ws_bytes = LayOut(model, o, nullptr).bytes;
  EGMLA_ASSIGN_OR_RETURN(st->workspace_buffer, DeviceBuffer::Allocate(ws_bytes));
  st->ws = LayOut(model, o, static_cast<char*>(st->workspace_buffer.data()));
  EGMLA_ASSIGN_OR_RETURN(st->staging,
                         PinnedBuffer::Allocate(MaxStepInts(st->d, o) * int64_t{sizeof(int32_t)}));
  return std::unique_ptr<CudaModel>(new CudaModel(std::move(st)));
}

absl::Status CudaModel::State::Mlp(int64_t layer, int64_t rows) {
  const DeviceLayerWeights& w = weights.layer(layer);
  EGMLA_RETURN_IF_ERROR(Linear(ws.normed, d.hidden, w.mlp_gate_up, rows, d.hidden, 2 * d.inter,
                               ws.mlp, nullptr, 2 * d.inter));
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchSwiGlu({.gate_up = ws.mlp,
                                              .out = ws.act,
                                              .rows = rows,
                                              .width = d.inter,
                                              .in_row_stride = 2 * d.inter,
                                              .out_row_stride = d.inter},
                                             s()));
  return Linear(ws.act, d.inter, w.mlp_down, rows, d.inter, d.hidden, ws.delta, nullptr, d.hidden);
}

// The last residual add and the final norm of the logit rows only, then lm_head, in passes of
// max_logit_rows; each pass's logits are copied to `out`.
absl::Status CudaModel::State::Logits(const std::vector<int64_t>& logit_rows,
                                      const int32_t* device_rows, std::vector<float>& out) {
  const int64_t n = static_cast<int64_t>(logit_rows.size());
  out.resize(n * d.vocab);
  for (int64_t first = 0; first < n; first += options.max_logit_rows) {
    const int64_t m = std::min(options.max_logit_rows, n - first);
    EGMLA_RETURN_IF_ERROR(
        ResidualNorm(weights.final_norm(), /*add_delta=*/true, m, device_rows + first));
    EGMLA_RETURN_IF_ERROR(Linear(ws.last, d.hidden, weights.lm_head(), m, d.hidden, d.vocab,
                                 ws.logits, nullptr, d.vocab));
    EGMLA_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(out.data() + first * d.vocab, ws.logits,
                                               m * d.vocab * sizeof(float), cudaMemcpyDeviceToHost,
                                               s()));
    // The next pass overwrites ws.logits: wait for this copy (pageable memory may return early).
    EGMLA_RETURN_IF_ERROR(stream->Synchronize());
  }
  return absl::OkStatus();
}

absl::Status CudaModel::FillCacheForBenchmark(std::span<const int32_t> ids, uint64_t seed) {
  State& st = *state_;
  const int64_t slots = st.options.num_blocks * st.options.block_size;
  const int64_t pattern = std::min<int64_t>(slots, 1 << 16);  // rows generated, then tiled
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint16_t> rows(pattern * st.d.cache_row);
  std::vector<float> stats(pattern * 2);
  for (uint16_t& v : rows) v = F32ToBf16(normal(rng));
  for (int64_t i = 0; i < pattern; ++i) {
    stats[2 * i] = 0.1f * normal(rng);
    stats[2 * i + 1] = 1.0f + 0.1f * std::abs(normal(rng));
  }
  auto tile = [&](void* device, const void* host, int64_t row_bytes) -> absl::Status {
    for (int64_t at = 0; at < slots; at += pattern) {
      const int64_t n = std::min(pattern, slots - at);
      EGMLA_CUDA_RETURN_IF_ERROR(cudaMemcpy(static_cast<char*>(device) + at * row_bytes, host,
                                            n * row_bytes, cudaMemcpyHostToDevice));
    }
    return absl::OkStatus();
  };
  for (DeviceBuffer& layer : st.cache_layers) {
    EGMLA_RETURN_IF_ERROR(tile(layer.data(), rows.data(), st.d.cache_row * 2));
  }
  for (DeviceBuffer& layer : st.cache_stats) {
    EGMLA_RETURN_IF_ERROR(tile(layer.data(), stats.data(), 2 * sizeof(float)));
  }
  if (st.cache_ids.size_bytes() > 0) {
    std::vector<int32_t> slot_ids(slots);
    for (int64_t i = 0; i < slots; ++i) slot_ids[i] = ids[i % ids.size()];
    EGMLA_RETURN_IF_ERROR(st.cache_ids.CopyFromHost(slot_ids.data(), slots * sizeof(int32_t)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> CudaModel::Forward(const CudaBatch& batch) {
  State& st = *state_;
  const Dims& d = st.d;
  const CudaModelOptions& o = st.options;
  const int64_t rows = static_cast<int64_t>(batch.token_ids.size());

  // Validate and lay the step's inputs out on the host.
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t id = batch.token_ids[r];
    if (id < 0 || id >= d.vocab) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token id ", id, " at index ", r, " is outside the vocabulary [0, ", d.vocab, ")"));
    }
  }
  if (rows > o.max_batched_tokens ||
      static_cast<int64_t>(batch.sequences.size()) > o.max_num_seqs) {
    return absl::InternalError(absl::StrCat("CUDA model: a step of ", rows, " rows and ",
                                            batch.sequences.size(),
                                            " sequences exceeds the sizes it was created for (",
                                            o.max_batched_tokens, ", ", o.max_num_seqs, ")"));
  }
  const int64_t max_blocks = MaxBlocksPerSeq(d, o);
  // eg_mla up_projected decodes past the prompt by id (or recomputes), not by split-KV.
  const bool up_projected = st.config.is_eg_mla_up_projected(), latent = st.config.is_latent();
  StepCounts counts{.rows = rows, .logit_rows = static_cast<int64_t>(batch.logit_rows.size())};
  int64_t next_row = 0;
  for (const CudaSequence& s : batch.sequences) {
    if (s.first_row != next_row || s.num_new < 0 || s.num_past < 0) {
      return absl::InternalError("CUDA model: batch sequences do not partition the rows");
    }
    next_row += s.num_new;
    const int64_t total = s.num_past + s.num_new;
    if (total > d.max_context) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence of ", total, " tokens exceeds the context limit ",
                       "(max_position_embeddings ", d.max_context, ")"));
    }
    const int64_t table_size = static_cast<int64_t>(s.block_table.size());
    if (table_size * o.block_size < total || table_size > max_blocks || s.table_row < 0 ||
        s.table_row >= o.max_num_seqs || s.num_blocks_on_device > table_size) {
      return absl::InternalError(absl::StrCat("CUDA model: sequence at row ", s.first_row,
                                              " has a block table of ", table_size, " blocks for ",
                                              total, " tokens (table row ", s.table_row, ")"));
    }
    for (BlockId b : s.block_table) {
      if (b < 0 || b >= o.num_blocks) {
        return absl::InternalError(
            absl::StrCat("CUDA model: block id ", b, " outside [0, ", o.num_blocks, ")"));
      }
    }
    // Positions past the prompt decode by split-KV (mha, absorbed mla).
    const int64_t prompt_rows = std::clamp<int64_t>(s.num_prompt - s.num_past, 0, s.num_new);
    if (!up_projected) {
      counts.decode_rows += s.num_new - prompt_rows;
      for (int64_t i = prompt_rows; i < s.num_new; ++i) {
        counts.decode_work += DecodeSplits(s.num_past + i);
      }
      if (!latent) counts.prefill_rows += prompt_rows;
    }
    counts.updates += table_size - s.num_blocks_on_device;
  }
  if (next_row != rows) return absl::InternalError("CUDA model: sequences do not cover the rows");
  for (size_t i = 0; i < batch.logit_rows.size(); ++i) {
    const int64_t r = batch.logit_rows[i];
    if (r < 0 || r >= rows || (i > 0 && r <= batch.logit_rows[i - 1])) {
      return absl::InternalError("CUDA model: logit rows outside the batch or not ascending");
    }
  }
  const int64_t num_logits = counts.logit_rows;
  const StepLayout layout = LayoutFor(counts);
  int32_t* host = st.staging.as<int32_t>();
  std::copy(batch.token_ids.begin(), batch.token_ids.end(), host + layout.token_ids);
  int64_t a = 0, u = 0, items = 0, prefill = 0;
  const int64_t max_work = MaxDecodeWork(d, o);
  st.decode_passes.clear();
  for (const CudaSequence& s : batch.sequences) {
    const int64_t prompt_rows = std::clamp<int64_t>(s.num_prompt - s.num_past, 0, s.num_new);
    for (int64_t i = 0; i < s.num_new; ++i) {
      const int64_t r = s.first_row + i, pos = s.num_past + i;
      host[layout.positions + r] = static_cast<int32_t>(pos);
      host[layout.slots + r] = static_cast<int32_t>(
          s.block_table[pos / o.block_size] * o.block_size + pos % o.block_size);
      host[layout.row_table + r] = s.table_row;
      if (up_projected) continue;
      if (i < prompt_rows) {
        if (!latent) host[layout.prefill_rows + prefill++] = static_cast<int32_t>(r);
        continue;
      }
      // A decode row: its splits, in a pass of the split-KV workspace.
      const int64_t splits = DecodeSplits(pos);
      if (st.decode_passes.empty() ||
          items + splits - st.decode_passes.back().work_begin > max_work) {
        st.decode_passes.push_back(
            {.row_begin = a, .row_end = a, .work_begin = items, .work_end = items});
      }
      host[layout.decode_rows + a] = static_cast<int32_t>(r);
      int32_t* row_work = host + layout.decode_row_work + 3 * a;
      row_work[0] = static_cast<int32_t>(r);
      row_work[1] = static_cast<int32_t>(items);
      row_work[2] = static_cast<int32_t>(splits);
      for (int64_t b = 0; b <= pos; b += k::kDecodeSplitTokens) {
        int32_t* item = host + layout.decode_work + 3 * items++;
        item[0] = static_cast<int32_t>(r);
        item[1] = static_cast<int32_t>(b);
        item[2] = static_cast<int32_t>(std::min<int64_t>(b + k::kDecodeSplitTokens, pos + 1));
      }
      ++a;
      st.decode_passes.back().row_end = a;
      st.decode_passes.back().work_end = items;
    }
    for (int64_t b = s.num_blocks_on_device; b < static_cast<int64_t>(s.block_table.size()); ++b) {
      int32_t* t = host + layout.updates + 3 * u++;
      t[0] = s.table_row;
      t[1] = static_cast<int32_t>(b);
      t[2] = s.block_table[b];
    }
  }
  for (int64_t i = 0; i < num_logits; ++i) {
    host[layout.logit_rows + i] = static_cast<int32_t>(batch.logit_rows[i]);
  }

  EGMLA_RETURN_IF_ERROR(st.PlanGroupedDecode(batch));

  // One copy of every input; then the tables' new ids.
  EGMLA_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(st.ws.step, host, layout.total * sizeof(int32_t),
                                             cudaMemcpyHostToDevice, st.s()));
  st.token_ids = st.ws.step + layout.token_ids;
  st.positions = st.ws.step + layout.positions;
  st.slots = st.ws.step + layout.slots;
  st.row_table = st.ws.step + layout.row_table;
  st.decode_rows = st.ws.step + layout.decode_rows;
  st.num_decode = counts.decode_rows;
  st.decode_row_work = st.ws.step + layout.decode_row_work;
  st.decode_work = st.ws.step + layout.decode_work;
  st.prefill_rows = st.ws.step + layout.prefill_rows;
  st.num_prefill = counts.prefill_rows;
  EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchBlockTableUpdate({.updates = st.ws.step + layout.updates,
                                                        .num_updates = counts.updates,
                                                        .block_tables = st.ws.block_tables,
                                                        .block_table_stride = max_blocks},
                                                       st.s()));

  std::vector<float> logits;
  if (rows > 0) {
    EGMLA_CUDA_RETURN_IF_ERROR(k::LaunchGatherRows({.source_bf16 = st.weights.embed(),
                                                    .source_row_stride = d.hidden,
                                                    .index = st.token_ids,
                                                    .out_f32 = st.ws.h,
                                                    .out_row_stride = d.hidden,
                                                    .rows = rows,
                                                    .cols = d.hidden},
                                                   st.s()));
    for (int64_t l = 0; l < st.config.num_hidden_layers; ++l) {
      const DeviceLayerWeights& w = st.weights.layer(l);
      EGMLA_RETURN_IF_ERROR(st.ResidualNorm(w.input_norm, /*add_delta=*/l > 0, rows));
      if (st.config.is_latent()) {
        EGMLA_RETURN_IF_ERROR(st.LatentAttention(l, batch));
      } else {
        EGMLA_RETURN_IF_ERROR(st.MhaAttention(l, rows));
      }
      EGMLA_RETURN_IF_ERROR(st.ResidualNorm(w.post_attn_norm, /*add_delta=*/true, rows));
      EGMLA_RETURN_IF_ERROR(st.Mlp(l, rows));
    }
    EGMLA_RETURN_IF_ERROR(st.Logits(batch.logit_rows, st.ws.step + layout.logit_rows, logits));
  }
  EGMLA_RETURN_IF_ERROR(st.stream->Synchronize());
  return logits;
}

}  // namespace egmla::cuda
