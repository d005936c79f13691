// The workspace layout and the step-input layout of CudaModel (cuda_model_state.h).
#include <algorithm>
#include <type_traits>

#include "runner/cuda/cuda_model_state.h"

namespace egmla::cuda {

Dims DimsOf(const ModelConfig& c) {
  Dims d{};
  d.hidden = c.hidden_size;
  d.inter = c.intermediate_size;
  d.vocab = c.vocab_size;
  d.n_h = c.num_attention_heads;
  d.hd = c.head_dim;
  d.d_nope = c.qk_nope_head_dim;
  d.d_rope = c.qk_rope_head_dim;
  d.d_v = c.v_head_dim;
  d.d_c = c.kv_lora_rank;
  d.q_lora = c.q_lora_rank.value_or(0);
  d.qk = d.d_nope + d.d_rope;
  d.kv = d.d_nope + d.d_v;
  d.row = d.d_c + d.d_rope;
  d.gate = c.gate_dim();
  d.d_e = c.gate_embedding_dim;
  d.cache_row = c.is_latent() ? d.row : 2 * d.n_h * d.hd;
  d.max_context = c.max_position_embeddings;
  return d;
}

StepLayout LayoutFor(const StepCounts& n) {
  StepLayout s{};
  s.token_ids = 0;
  s.positions = s.token_ids + n.rows;
  s.slots = s.positions + n.rows;
  s.row_table = s.slots + n.rows;
  s.decode_rows = s.row_table + n.rows;
  s.decode_row_work = s.decode_rows + n.decode_rows;
  s.decode_work = s.decode_row_work + 3 * n.decode_rows;
  s.prefill_rows = s.decode_work + 3 * n.decode_work;
  s.logit_rows = s.prefill_rows + n.prefill_rows;
  s.updates = s.logit_rows + n.logit_rows;
  s.total = s.updates + 3 * n.updates;
  return s;
}

int64_t DecodeSplits(int64_t position) { return position / k::kDecodeSplitTokens + 1; }

int64_t MaxDecodeWork(const Dims& d, const CudaModelOptions& o) {
  return o.max_num_seqs * DecodeSplits(d.max_context - 1);
}

int64_t MaxBlocksPerSeq(const Dims& d, const CudaModelOptions& o) {
  return (d.max_context + o.block_size - 1) / o.block_size;
}
int64_t MaxStepInts(const Dims& d, const CudaModelOptions& o) {
  const int64_t t = o.max_batched_tokens;
  return LayoutFor({.rows = t,
                    .decode_rows = t,
                    .decode_work = t * DecodeSplits(d.max_context - 1),
                    .prefill_rows = t,
                    .logit_rows = t,
                    .updates = o.max_num_seqs * MaxBlocksPerSeq(d, o)})
      .total;
}

EgMlaCapacity EgMlaCapacityFor(const ModelConfig& c, const CudaModelOptions& o) {
  const int64_t tokens = o.max_num_seqs * c.max_position_embeddings;
  return {.tokens = tokens,
          .splits = tokens / k::kEgMlaSplitTokens + o.max_batched_tokens,
          .union_ids = std::min(tokens, c.vocab_size)};
}

bool DecodesGrouped(const ModelConfig& c, const CudaModelOptions& o) {
  return c.is_eg_mla_up_projected() && o.eg_mla_grouped &&
         k::EgMlaDecodeFits(c.num_attention_heads, c.qk_nope_head_dim, c.qk_rope_head_dim,
                            c.v_head_dim, c.kv_lora_rank);
}

// Lays the workspace out; with base == nullptr only sums the bytes.
Workspace LayOut(const Model& model, const CudaModelOptions& o, char* base) {
  const ModelConfig& c = model.config();
  const bool gate_table = model.gates() != nullptr && model.gates()->mode() == GateMode::kTable;
  const Dims d = DimsOf(c);
  const int64_t t = o.max_batched_tokens, ctx = d.max_context, l = o.max_logit_rows;
  const bool latent = c.is_latent(), eg = c.is_eg_mla(), up = c.is_eg_mla_up_projected();
  Workspace w;
  auto take = [&](auto*& p, int64_t n) {
    using T = std::remove_pointer_t<std::remove_reference_t<decltype(p)>>;
    const int64_t bytes = (n * static_cast<int64_t>(sizeof(T)) + 255) / 256 * 256;
    p = base != nullptr && n > 0 ? reinterpret_cast<T*>(base + w.bytes) : nullptr;
    w.bytes += n > 0 ? bytes : 0;
  };
  take(w.h, t * d.hidden);
  take(w.delta, t * d.hidden);
  take(w.normed, t * d.hidden);
  take(w.mlp, t * 2 * d.inter);
  take(w.act, t * d.inter);
  if (!latent) {
    const int64_t width = d.n_h * d.hd;
    take(w.q, t * width);
    take(w.k, t * width);
    take(w.v, t * width);
    take(w.attn, t * width);
  } else {
    take(w.q, t * d.n_h * d.qk);
    take(w.qa, t * d.q_lora);
    take(w.qa_bf16, t * d.q_lora);
    take(w.kv, t * d.row);
    take(w.q_abs, up ? 0 : t * d.n_h * d.d_c);
    take(w.attended, up ? 0 : t * d.n_h * d.d_c);
    take(w.attn, t * d.n_h * d.d_v);
    take(w.lat, ctx * d.d_c);
    take(w.f_bf16, ctx * d.n_h * d.kv);
    if (eg) {
      take(w.gates, std::max(t, ctx) * d.gate);
      take(w.gate_emb, std::max(t, ctx) * d.d_e);
    }
    if (up) {
      take(w.c_bf16, t * d.row);  // written with kv's row stride
      take(w.f_new, t * d.n_h * d.kv);
      take(w.ln_mean, t);
      take(w.ln_rstd, t);
      take(w.f, ctx * d.n_h * d.kv);
      take(w.ids, ctx);
    }
  }
  if (DecodesGrouped(c, o)) {
    const EgMlaCapacity cap = EgMlaCapacityFor(c, o);
    take(w.plan_tokens, cap.tokens);
    take(w.plan_segments, cap.tokens * 3);
    take(w.plan_splits, cap.splits * 4);
    take(w.plan_rows, t * 3);
    if (!gate_table) {
      take(w.union_ids, cap.union_ids);
      take(w.union_embeddings, cap.union_ids * d.d_e);
      take(w.union_gates, cap.union_ids * d.gate);
    }
    take(w.egmla_stats, cap.splits * d.n_h * 3);
    take(w.egmla_acc, cap.splits * d.n_h * d.d_v);
  }
  // Split-KV decode partials: mha's heads of head_dim, or absorbed mla's of d_c.
  if (!c.is_eg_mla_up_projected()) {
    const int64_t d_v = latent ? d.d_c : d.hd;
    take(w.partial_out, MaxDecodeWork(d, o) * d.n_h * d_v);
    take(w.partial_ml, MaxDecodeWork(d, o) * d.n_h * 2);
  }
  take(w.last, l * d.hidden);
  take(w.logits, l * d.vocab);
  take(w.step, MaxStepInts(d, o));
  take(w.block_tables, o.max_num_seqs * MaxBlocksPerSeq(d, o));
  return w;
}

}  // namespace egmla::cuda
