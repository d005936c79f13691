// The CUDA decode kernels and the whole decode step (issue 18). Three Markdown tables:
//
//  1. analytic (no device needed): per decode step of the paper's Base configs (all 12 layers),
//     the bytes read and FLOPs, and the times they imply at an H100 SXM's 3.35 TB/s and
//     989 dense bf16 TFLOP/s (DESIGN §6). The EG-MLA rows count the distinct ids of English text
//     (U/T measured on the GPT-2 ids of /usr/share/common-licenses) or of uniformly random ids.
//  2. kernels: the split-KV MLA-kv256 and MHA decode attention and the id-grouped EG-MLA decode
//     (kv64, kv16) of one layer, batch 1 / 32 / 128 × context 1K / 4K: bytes, FLOPs, time, GB/s,
//     TFLOP/s and the fraction of the device's peak (H100 and H200 by name, else --peak-gbps
//     and --peak-tflops).
//  3. whole decode step: CudaModel::Forward of one new token per sequence over caches holding
//     `context` tokens, every layer and the lm_head, for MHA, MLA-kv256, EG-MLA-kv64, EG-MLA-kv16.
//
//   decode_attention_bench [--repo DIR] [--iters N] [--analytic-only] [--smoke]
//                          [--peak-gbps X --peak-tflops Y]
//
// --smoke: tiny sizes (batch 1-2, context 64, 2 layers, a 512-id vocabulary) as CI's check that
// the program runs; on the SIMT emulator (its build runs only that) the timings mean nothing and
// it says so.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_models.h"
#include "common/dtype.h"
#include "kernels/cuda/decode_attention/decode_attention.h"
#include "kernels/cuda/egmla_decode/egmla_decode.h"
#include "kernels/cuda/egmla_decode/egmla_plan.h"
#include "kernels/cuda/runtime/device.h"
#include "kernels/cuda/runtime/device_buffer.h"
#include "model/token_groups.h"
#include "runner/cuda/cuda_model.h"

namespace egmla {
namespace {

namespace k = ::egmla::ops::cuda;
using cuda::DeviceBuffer;

struct Flags {
  // The repository (configs/paper-base, the GPT-2 tokenizer): --repo, else $EGMLA_BENCH_REPO (the
  // GPU runbook's packed copy), else the source tree this was built from.
  std::string repo = std::getenv("EGMLA_BENCH_REPO") != nullptr ? std::getenv("EGMLA_BENCH_REPO")
                                                                : EGMLA_SOURCE_DIR;
  int iters = 20;
  bool smoke = false;
  bool analytic_only = false;
  double peak_gbps = 0, peak_tflops = 0;
};

struct Peaks {
  double gbps = 0, tflops = 0;
  std::string source;
};

Peaks PeaksFor(const std::string& device, const Flags& f) {
  if (f.peak_gbps > 0 && f.peak_tflops > 0) return {f.peak_gbps, f.peak_tflops, "flags"};
  if (device.find("H200") != std::string::npos) return {4800, 989, "H200 datasheet"};
  if (device.find("H100") != std::string::npos) return {3350, 989, "H100 SXM datasheet"};
  return {0, 0, "unknown device (give --peak-gbps and --peak-tflops)"};
}

void Die(const absl::Status& s) {
  if (s.ok()) return;
  std::fprintf(stderr, "decode_attention_bench: %s\n", std::string(s.message()).c_str());
  std::exit(1);
}

template <typename T>
DeviceBuffer Upload(const std::vector<T>& host) {
  absl::StatusOr<DeviceBuffer> b = DeviceBuffer::Allocate(host.size() * sizeof(T));
  Die(b.status());
  if (!host.empty()) Die(b->CopyFromHost(host.data(), b->size_bytes()));
  return *std::move(b);
}

std::vector<uint16_t> RandomBf16(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint16_t> v(n);
  for (uint16_t& x : v) x = F32ToBf16(normal(rng));
  return v;
}

// Milliseconds per call of `fn`, between CUDA events, after 2 warm-up calls.
double TimeMs(const std::function<void()>& fn, int iters) {
  fn();
  fn();
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  cudaEventRecord(start, nullptr);
  for (int i = 0; i < iters; ++i) fn();
  cudaEventRecord(stop, nullptr);
  cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms / iters;
}

// Sequence b's `context` ids: a window of `text` from offset b·|text|/batch, or random ids.
std::vector<int32_t> WindowIds(const std::vector<int32_t>& text, int64_t b, int64_t batch,
                               int64_t context, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> ids(context);
  std::mt19937_64 rng(seed + b);
  for (int64_t j = 0; j < context; ++j) {
    ids[j] = text.empty() ? static_cast<int32_t>(rng() % vocab)
                          : text[(b * text.size() / batch + j) % text.size()] % vocab;
  }
  return ids;
}

std::string Fixed(double v, int digits) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, v);
  return buffer;
}

double DistinctFraction(const std::vector<int32_t>& ids) {
  std::vector<int32_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  return static_cast<double>(std::unique(sorted.begin(), sorted.end()) - sorted.begin()) /
         ids.size();
}

// ---- 1. The analytic model ---------------------------------------------------------------

struct Arch {
  std::string name, config;
  int64_t n_h, hd, d_c, d_nope, d_rope, d_v, hidden, inter, layers, vocab;
  bool mha, egmla;
};

std::vector<Arch> BaseArchs() {
  // configs/paper-base: 12 layers, hidden 768, 12 heads, MLP 2048, GPT-2's 50,257 ids.
  return {
      {"MHA", "mha.json", 12, 64, 0, 0, 0, 0, 768, 2048, 12, 50257, true, false},
      {"MLA-kv256", "mla-kv256.json", 12, 0, 256, 64, 64, 64, 768, 2048, 12, 50257, false, false},
      {"EG-MLA-kv64", "egmla-kv64.json", 12, 0, 64, 64, 64, 64, 768, 2048, 12, 50257, false, true},
      {"EG-MLA-kv16", "egmla-kv16.json", 12, 0, 16, 64, 64, 64, 768, 2048, 12, 50257, false, true}};
}

// Bytes and FLOPs of one decode step (one new token for each of `batch` sequences of `context`
// tokens), all layers: bf16 weights read once, the cache read once, the lm_head; for EG-MLA the
// table rows of the batch's distinct ids per layer (u_batch ids) and the per-id products of
// each sequence's distinct ids (u_seq per sequence, its average).
struct StepCost {
  double bytes, flops;
};
StepCost DecodeStepCost(const Arch& a, int64_t batch, int64_t context, double u_seq,
                        double u_batch) {
  const double b = static_cast<double>(batch), t = static_cast<double>(context);
  const double qk = a.mha ? a.hd : a.d_nope + a.d_rope;
  const double attn_weights = a.mha ? 4.0 * a.hidden * a.n_h * a.hd
                                    : a.hidden * a.n_h * qk + a.hidden * (a.d_c + a.d_rope) +
                                          a.n_h * (a.d_nope + a.d_v) * a.d_c +
                                          a.hidden * a.n_h * a.d_v;
  const double layer_weights = attn_weights + 3.0 * a.hidden * a.inter;
  double bytes = 2.0 * (a.layers * layer_weights + a.vocab * a.hidden);
  double flops = 2.0 * b * (a.layers * layer_weights + a.vocab * a.hidden);
  const double width = a.n_h * (a.d_nope + a.d_v);
  for (int64_t l = 0; l < a.layers; ++l) {
    if (a.mha) {
      bytes += b * t * 2 * a.n_h * a.hd * 2;
      flops += b * t * a.n_h * 4.0 * a.hd;
    } else if (!a.egmla) {  // absorbed: score over [c ; k_R], accumulate c
      bytes += b * t * (a.d_c + a.d_rope) * 2;
      flops += b * t * a.n_h * 2.0 * (2 * a.d_c + a.d_rope);
    } else {  // grouped: the latent, k_R and (μ, rstd) per token; per id q̃ and W_UV C
      bytes += b * t * (2.0 * (a.d_c + a.d_rope) + 8) + u_batch * width * 2;
      flops += b * t * a.n_h * 2.0 * (2 * a.d_c + a.d_rope) +
               b * u_seq * a.n_h * 2.0 * (a.d_nope * a.d_c + a.d_v * a.d_c);
    }
  }
  return {bytes, flops};
}

void AnalyticTable(const std::vector<int32_t>& text) {
  std::printf(
      "\n### Analytic decode step (all 12 layers, bf16), H100 SXM: 3.35 TB/s, 989 TFLOP/s\n\n");
  std::printf(
      "| config | ids | batch | context | U/T | GB read | GFLOP | ms (bytes) | ms (FLOPs) |"
      " bound ms | ratio to MLA-kv256 |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const int64_t batch : {32, 128}) {
    for (const int64_t context : {1024, 4096}) {
      const std::vector<Arch> archs = BaseArchs();
      const StepCost mla = DecodeStepCost(archs[1], batch, context, 0, 0);
      const double mla_ms = std::max(mla.bytes / 3.35e12, mla.flops / 989e12) * 1e3;
      for (const bool random : {false, true}) {
        for (const Arch& a : archs) {
          if (random && !a.egmla) continue;
          double u_seq = 0, u_batch_ids = 0;
          if (a.egmla) {
            std::vector<int32_t> all;
            for (int64_t b = 0; b < batch; ++b) {
              const std::vector<int32_t> ids =
                  WindowIds(random ? std::vector<int32_t>{} : text, b, batch, context, a.vocab, 7);
              u_seq += DistinctFraction(ids) * context;
              all.insert(all.end(), ids.begin(), ids.end());
            }
            u_seq /= batch;
            u_batch_ids = DistinctFraction(all) * all.size();
          }
          const StepCost c = DecodeStepCost(a, batch, context, u_seq, u_batch_ids);
          const double ms_bytes = c.bytes / 3.35e12 * 1e3, ms_flops = c.flops / 989e12 * 1e3;
          const double ms = std::max(ms_bytes, ms_flops);
          std::printf("| %s | %s | %ld | %ld | %s | %.3f | %.1f | %.3f | %.3f | %.3f | %.2f |\n",
                      a.name.c_str(), a.egmla ? (random ? "random" : "text") : "-",
                      static_cast<long>(batch), static_cast<long>(context),
                      a.egmla ? Fixed(u_seq / context, 2).c_str() : "-", c.bytes / 1e9,
                      c.flops / 1e9, ms_bytes, ms_flops, ms, ms / mla_ms);
        }
      }
    }
  }
}

// ---- 2. The kernels ---------------------------------------------------------------------

struct KernelResult {
  double bytes, flops, ms;
};

void PrintKernelRow(const std::string& kernel, const std::string& ids, int64_t batch,
                    int64_t context, const KernelResult& r, const Peaks& peaks) {
  const double gbps = r.bytes / (r.ms * 1e-3) / 1e9, tflops = r.flops / (r.ms * 1e-3) / 1e12;
  std::printf("| %s | %s | %ld | %ld | %.1f | %.3f | %.4f | %.0f | %.2f | %s | %s |\n",
              kernel.c_str(), ids.c_str(), static_cast<long>(batch), static_cast<long>(context),
              r.bytes / 1e6, r.flops / 1e9, r.ms, gbps, tflops,
              peaks.gbps > 0 ? (Fixed(100 * gbps / peaks.gbps, 1) + "%").c_str() : "-",
              peaks.tflops > 0 ? (Fixed(100 * tflops / peaks.tflops, 1) + "%").c_str() : "-");
}

// The paged cache of `batch` sequences of `context` tokens, contiguous blocks of 64 slots.
struct PagedCache {
  int64_t block_size = 64, blocks_per_seq = 0;
  DeviceBuffer tables, row_table;
};
PagedCache MakeTables(int64_t batch, int64_t context) {
  PagedCache c;
  c.blocks_per_seq = (context + c.block_size - 1) / c.block_size;
  std::vector<int32_t> tables(batch * c.blocks_per_seq), rows(batch);
  std::iota(tables.begin(), tables.end(), 0);
  std::iota(rows.begin(), rows.end(), 0);
  c.tables = Upload(tables);
  c.row_table = Upload(rows);
  return c;
}

// Split-KV decode of one layer: MLA-kv256 absorbed (mha = false) or MHA.
KernelResult SplitKv(bool mha, int64_t batch, int64_t context, int iters) {
  const int64_t n_h = 12, d_a = mha ? 64 : 256, d_b = mha ? 0 : 64, d_v = d_a;
  const int64_t row = mha ? 2 * n_h * 64 : d_a + d_b;
  const PagedCache pc = MakeTables(batch, context);
  DeviceBuffer cache = Upload(RandomBf16(batch * pc.blocks_per_seq * pc.block_size * row, 1));
  std::vector<float> q(batch * n_h * (d_a + d_b), 0.05f);
  DeviceBuffer d_q = Upload(q);
  std::vector<int32_t> work, rows;
  for (int64_t r = 0; r < batch; ++r) {
    rows.insert(rows.end(), {static_cast<int32_t>(r), static_cast<int32_t>(work.size() / 3), 0});
    for (int64_t b = 0; b < context; b += k::kDecodeSplitTokens) {
      work.insert(work.end(), {static_cast<int32_t>(r), static_cast<int32_t>(b),
                               static_cast<int32_t>(std::min(b + k::kDecodeSplitTokens, context))});
      ++rows.back();
    }
  }
  const int64_t items = static_cast<int64_t>(work.size() / 3);
  DeviceBuffer d_work = Upload(work), d_rows = Upload(rows);
  DeviceBuffer partial = Upload(std::vector<float>(items * n_h * d_v));
  DeviceBuffer ml = Upload(std::vector<float>(items * n_h * 2));
  DeviceBuffer out = Upload(std::vector<float>(batch * n_h * d_v));
  const k::bf16* base = cache.as<k::bf16>();
  k::DecodeAttentionParams p{
      .q_a = d_q.as<float>(),
      .q_a_row_stride = n_h * (d_a + d_b),
      .q_a_head_stride = d_a + d_b,
      .q_b = d_q.as<float>() + d_a,
      .q_b_row_stride = n_h * (d_a + d_b),
      .q_b_head_stride = d_a + d_b,
      .key_a = {.base = base, .row_stride = row, .head_stride = mha ? 64 : 0, .offset = 0},
      .key_b = {.base = base, .row_stride = row, .head_stride = 0, .offset = d_a},
      .value = {.base = base,
                .row_stride = row,
                .head_stride = mha ? 64 : 0,
                .offset = mha ? n_h * 64 : 0},
      .d_a = d_a,
      .d_b = d_b,
      .d_v = d_v,
      .num_heads = n_h,
      .scale = 0.1f,
      .row_table = pc.row_table.as<int32_t>(),
      .block_tables = pc.tables.as<int32_t>(),
      .block_table_stride = pc.blocks_per_seq,
      .block_size = pc.block_size,
      .work = d_work.as<int32_t>(),
      .num_work = items,
      .partial_out = partial.as<float>(),
      .partial_ml = ml.as<float>()};
  const k::DecodeCombineParams combine{.partial_out = partial.as<float>(),
                                       .partial_ml = ml.as<float>(),
                                       .rows = d_rows.as<int32_t>(),
                                       .num_rows = batch,
                                       .num_heads = n_h,
                                       .d_v = d_v,
                                       .out_f32 = out.as<float>(),
                                       .out_row_stride = n_h * d_v,
                                       .out_head_stride = d_v};
  const double ms = TimeMs(
      [&] {
        (void)k::LaunchDecodeAttention(p, nullptr);
        (void)k::LaunchDecodeCombine(combine, nullptr);
      },
      iters);
  const double b = static_cast<double>(batch), t = static_cast<double>(context);
  return mha ? KernelResult{b * t * row * 2, b * t * n_h * 4.0 * 64, ms}
             : KernelResult{b * t * row * 2, b * t * n_h * 2.0 * (2 * d_a + d_b), ms};
}

// The grouped EG-MLA decode of one layer (gate table rows), for kv_lora_rank d_c.
KernelResult EgMla(int64_t d_c, int64_t batch, int64_t context, const std::vector<int32_t>& text,
                   int64_t vocab, int iters, double* u_over_t) {
  const int64_t n_h = 12, d_nope = 64, d_rope = 64, d_v = 64, kv = d_nope + d_v;
  const int64_t width = n_h * kv, row = d_c + d_rope;
  const PagedCache pc = MakeTables(batch, context);
  const int64_t slots = batch * pc.blocks_per_seq * pc.block_size;
  DeviceBuffer cache = Upload(RandomBf16(slots * row, 2));
  std::vector<float> stats(slots * 2);
  for (int64_t i = 0; i < slots; ++i) {
    stats[2 * i] = 0.01f;
    stats[2 * i + 1] = 1.0f;
  }
  DeviceBuffer d_stats = Upload(stats);
  DeviceBuffer kv_b = Upload(RandomBf16(width * d_c, 3)), gamma = Upload(RandomBf16(width, 4));
  DeviceBuffer beta = Upload(RandomBf16(width, 5)), gates = Upload(RandomBf16(vocab * width, 6));
  DeviceBuffer d_q = Upload(std::vector<float>(batch * n_h * (d_nope + d_rope), 0.05f));
  k::EgMlaPlan plan;
  double distinct = 0;
  int64_t ids_per_id_products = 0;
  for (int64_t b = 0; b < batch; ++b) {
    TokenGroups groups;
    groups.Append(WindowIds(text, b, batch, context, vocab, 9));
    distinct += static_cast<double>(groups.num_distinct());
    ids_per_id_products += groups.num_distinct();
    k::AppendEgMlaRow(static_cast<int32_t>(b), groups.distinct_of_token(), groups.distinct_ids(),
                      plan);
  }
  *u_over_t = distinct / (static_cast<double>(batch) * context);
  // Positions are relative to each sequence; the tables map them to its blocks.
  DeviceBuffer tokens = Upload(plan.tokens), segments = Upload(plan.segments);
  DeviceBuffer splits = Upload(plan.splits), rows = Upload(plan.rows);
  DeviceBuffer p_stats = Upload(std::vector<float>(plan.num_splits() * n_h * 3));
  DeviceBuffer p_acc = Upload(std::vector<float>(plan.num_splits() * n_h * d_v));
  DeviceBuffer out = Upload(std::vector<uint16_t>(batch * n_h * d_v));
  const k::EgMlaDecodeParams p{.num_heads = n_h,
                               .d_nope = d_nope,
                               .d_rope = d_rope,
                               .d_v = d_v,
                               .d_c = d_c,
                               .scale = 0.1f,
                               .q = d_q.as<float>(),
                               .q_row_stride = n_h * (d_nope + d_rope),
                               .cache = cache.as<k::bf16>(),
                               .ln_stats = d_stats.as<float>(),
                               .row_table = pc.row_table.as<int32_t>(),
                               .block_tables = pc.tables.as<int32_t>(),
                               .block_table_stride = pc.blocks_per_seq,
                               .block_size = pc.block_size,
                               .kv_b_proj = kv_b.as<k::bf16>(),
                               .gamma = gamma.as<k::bf16>(),
                               .beta = beta.as<k::bf16>(),
                               .gate_rows = gates.as<k::bf16>(),
                               .tokens = tokens.as<int32_t>(),
                               .segments = segments.as<int32_t>(),
                               .splits = splits.as<int32_t>(),
                               .num_splits = plan.num_splits(),
                               .partial_stats = p_stats.as<float>(),
                               .partial_acc = p_acc.as<float>()};
  const k::EgMlaCombineParams combine{.num_heads = n_h,
                                      .d_nope = d_nope,
                                      .d_v = d_v,
                                      .partial_stats = p_stats.as<float>(),
                                      .partial_acc = p_acc.as<float>(),
                                      .gamma = gamma.as<k::bf16>(),
                                      .beta = beta.as<k::bf16>(),
                                      .rows = rows.as<int32_t>(),
                                      .num_rows = plan.num_rows(),
                                      .out = out.as<k::bf16>(),
                                      .out_row_stride = n_h * d_v};
  const double ms = TimeMs(
      [&] {
        (void)k::LaunchEgMlaDecode(p, nullptr);
        (void)k::LaunchEgMlaCombine(combine, nullptr);
      },
      iters);
  const double b = static_cast<double>(batch), t = static_cast<double>(context);
  return {b * t * (2.0 * row + 8) + distinct * width * 2,
          b * t * n_h * 2.0 * (2 * d_c + d_rope) +
              ids_per_id_products * n_h * 2.0 * (d_nope * d_c + d_v * d_c),
          ms};
}

void KernelTable(const std::vector<int32_t>& text, const Flags& f, const Peaks& peaks) {
  std::printf("\n### Decode kernels, one layer (peaks: %s)\n\n", peaks.source.c_str());
  std::printf(
      "| kernel | ids | batch | context | MB read | GFLOP | ms | GB/s | TFLOP/s | %% of "
      "bandwidth | %% of bf16 peak |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  const std::vector<int64_t> batches =
      f.smoke ? std::vector<int64_t>{1, 2} : std::vector<int64_t>{1, 32, 128};
  const std::vector<int64_t> contexts =
      f.smoke ? std::vector<int64_t>{64} : std::vector<int64_t>{1024, 4096};
  const int64_t vocab = f.smoke ? 512 : 50257;
  for (const int64_t batch : batches) {
    for (const int64_t context : contexts) {
      PrintKernelRow("MLA-kv256 split-KV", "-", batch, context,
                     SplitKv(false, batch, context, f.iters), peaks);
      PrintKernelRow("MHA split-KV", "-", batch, context, SplitKv(true, batch, context, f.iters),
                     peaks);
      for (const int64_t d_c : {64, 16}) {
        for (const bool random : {false, true}) {
          double u = 0;
          const KernelResult r = EgMla(d_c, batch, context, random ? std::vector<int32_t>{} : text,
                                       vocab, f.iters, &u);
          PrintKernelRow("EG-MLA-kv" + std::to_string(d_c) + " grouped",
                         std::string(random ? "random" : "text") + " U/T " + Fixed(u, 2), batch,
                         context, r, peaks);
        }
      }
    }
  }
}

// ---- 3. The whole decode step -----------------------------------------------------------

double StepMs(const Model& model, int64_t batch, int64_t context, const std::vector<int32_t>& text,
              int iters) {
  const int64_t block_size = 64, per_seq = (context + block_size - 1) / block_size;
  cuda::CudaModelOptions options{.num_blocks = batch * per_seq,
                                 .block_size = block_size,
                                 .max_num_seqs = batch,
                                 .max_batched_tokens = batch,
                                 .max_logit_rows = batch};
  absl::StatusOr<std::unique_ptr<cuda::CudaModel>> device = cuda::CudaModel::Create(model, options);
  Die(device.status());
  const int64_t vocab = model.config().vocab_size;
  std::vector<std::vector<BlockId>> tables(batch);
  std::vector<TokenGroups> groups(batch);
  std::vector<int32_t> slot_ids(batch * per_seq * block_size);
  cuda::CudaBatch step;
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int32_t> ids = WindowIds(text, b, batch, context, vocab, 11);
    std::copy(ids.begin(), ids.end(), slot_ids.begin() + b * per_seq * block_size);
    groups[b].Append(ids);
    for (int64_t i = 0; i < per_seq; ++i)
      tables[b].push_back(static_cast<BlockId>(b * per_seq + i));
    step.token_ids.push_back(ids.back());
    step.sequences.push_back({.first_row = b,
                              .num_new = 1,
                              .num_past = context - 1,
                              .num_prompt = 1,
                              .table_row = static_cast<int32_t>(b),
                              .block_table = tables[b],
                              .groups = &groups[b]});
    step.logit_rows.push_back(b);
  }
  Die((*device)->FillCacheForBenchmark(slot_ids, 5));
  Die((*device)->Forward(step).status());  // sends the block tables
  for (cuda::CudaSequence& s : step.sequences) {
    s.num_blocks_on_device = static_cast<int64_t>(s.block_table.size());
  }
  return TimeMs([&] { Die((*device)->Forward(step).status()); }, iters);
}

void StepTable(const std::vector<int32_t>& text, const Flags& f) {
  std::printf("\n### Whole decode step (CudaModel::Forward: every layer and the lm_head)\n\n");
  std::printf(
      "| config | ids | batch | context | ms per step | tokens/s | ratio to MLA-kv256 |\n"
      "|---|---|---|---|---|---|---|\n");
  const std::vector<int64_t> batches =
      f.smoke ? std::vector<int64_t>{2} : std::vector<int64_t>{1, 32, 128};
  const std::vector<int64_t> contexts =
      f.smoke ? std::vector<int64_t>{64} : std::vector<int64_t>{1024, 4096};
  for (const int64_t batch : batches) {
    for (const int64_t context : contexts) {
      double mla_ms = 0;
      for (const Arch& a : BaseArchs()) {
        for (const bool random : {false, true}) {
          if (random && !a.egmla) continue;
          auto model = RandomModel(f.repo + "/configs/paper-base/" + a.config, f.smoke ? 2 : 0,
                                   {.gate_mode = f.smoke ? GateMode::kOnTheFly : GateMode::kTable},
                                   f.smoke ? 512 : 0);
          const double ms =
              StepMs(*model, batch, context, random ? std::vector<int32_t>{} : text, f.iters);
          if (a.name == "MLA-kv256") mla_ms = ms;
          std::printf("| %s | %s | %ld | %ld | %.3f | %.0f | %s |\n", a.name.c_str(),
                      a.egmla ? (random ? "random" : "text") : "-", static_cast<long>(batch),
                      static_cast<long>(context), ms, batch / (ms * 1e-3),
                      mla_ms > 0 ? Fixed(ms / mla_ms, 2).c_str() : "-");
        }
      }
    }
  }
}

}  // namespace
}  // namespace egmla

int main(int argc, char** argv) {
  egmla::Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "decode_attention_bench: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--repo") {
      f.repo = value("--repo");
    } else if (a == "--iters") {
      f.iters = std::max(1, std::atoi(value("--iters").c_str()));
    } else if (a == "--smoke") {
      f.smoke = true;
    } else if (a == "--analytic-only") {
      f.analytic_only = true;
    } else if (a == "--peak-gbps") {
      f.peak_gbps = std::atof(value("--peak-gbps").c_str());
    } else if (a == "--peak-tflops") {
      f.peak_tflops = std::atof(value("--peak-tflops").c_str());
    } else {
      std::fprintf(stderr, "decode_attention_bench: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  const std::vector<int32_t> text = egmla::EnglishTextIds(f.repo);
  egmla::AnalyticTable(text);
  if (f.analytic_only) return 0;
  const egmla::cuda::DeviceCount devices = egmla::cuda::CountDevices();
  if (devices.count == 0) {
    std::printf("\nno CUDA device (%s): the measured tables are left out\n",
                devices.reason.c_str());
    return 0;
  }
  absl::StatusOr<egmla::cuda::DeviceInfo> device = egmla::cuda::QueryDevice(0);
  egmla::Die(device.status());
  std::printf("\ndevice: %s\n", egmla::cuda::DescribeDevice(*device).c_str());
  if (device->name.find("emulator") != std::string::npos) {
    std::printf("on the SIMT emulator: the timings below mean nothing (a smoke run)\n");
  }
  const egmla::Peaks peaks = egmla::PeaksFor(device->name, f);
  egmla::KernelTable(text, f, peaks);
  egmla::StepTable(text, f);
  return 0;
}
