// The split kernel of egmla_decode.h: one CTA per split of a decode row's id-ordered tokens.
// Pass 1, id by id: q̃ for the id (shared memory), then each token's score. Pass 2, id by id:
// the weights against the split's maximum, C for the id, then G_V ⊙ W_UV C added to the split's
// accumulator. Every sum runs in a fixed order (tokens ascending within an id, ids in plan
// order), so a split's result depends on its tokens only.
#include "kernels/cuda/device_util.h"
#include "kernels/cuda/egmla_decode/egmla_decode.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/shared_memory.h"

namespace egmla::ops::cuda {
namespace {

constexpr unsigned kThreads = 128;

// The CTA's shared arrays, in floats.
struct Shared {
  float* a;       // [n_h, d_nope]: q_nope ⊙ γ_K
  float* q_rope;  // [n_h, d_rope]
  float* s;       // [n_h]: Σ a
  float* q_c;     // [n_h, d_c]: q̃ of the current id in pass 1, C in pass 2
  float* scores;  // [kEgMlaSplitTokens, n_h]: scores, then weights e·rstd
  float* max;     // [n_h]
  float* l;       // [n_h]
  float* wmu;     // [n_h]
  float* acc;     // [n_h, d_v]
};

int64_t SharedFloats(int64_t n_h, int64_t d_nope, int64_t d_rope, int64_t d_v, int64_t d_c) {
  return n_h * (d_nope + d_rope + 1 + d_c + 3 + d_v) + kEgMlaSplitTokens * n_h;
}

__device__ Shared CarveShared(const EgMlaDecodeParams& p) {
  float* base = egmla::cuda::SharedMemory<float>();
  Shared sh;
  sh.a = base;
  sh.q_rope = sh.a + p.num_heads * p.d_nope;
  sh.s = sh.q_rope + p.num_heads * p.d_rope;
  sh.q_c = sh.s + p.num_heads;
  sh.scores = sh.q_c + p.num_heads * p.d_c;
  sh.max = sh.scores + kEgMlaSplitTokens * p.num_heads;
  sh.l = sh.max + p.num_heads;
  sh.wmu = sh.l + p.num_heads;
  sh.acc = sh.wmu + p.num_heads;
  return sh;
}

__device__ int64_t SlotOf(const EgMlaDecodeParams& p, const int32_t* table, int64_t position) {
  return static_cast<int64_t>(table[position / p.block_size]) * p.block_size +
         position % p.block_size;
}

__global__ void EgMlaDecodeKernel(const EgMlaDecodeParams p) {
  const int64_t split = blockIdx.x;
  const int32_t* sp = p.splits + 4 * split;
  const int64_t r = sp[0], t0 = sp[1], t1 = sp[2], seg0 = sp[3];
  const int32_t* table =
      p.block_tables + static_cast<int64_t>(p.row_table[r]) * p.block_table_stride;
  const int64_t n_h = p.num_heads, qk = p.d_nope + p.d_rope, kv = p.d_nope + p.d_v;
  const int64_t width = n_h * kv, row_width = p.d_c + p.d_rope;
  const int64_t tid = threadIdx.x, threads = blockDim.x;
  const Shared sh = CarveShared(p);

  for (int64_t i = tid; i < n_h * p.d_nope; i += threads) {
    const int64_t h = i / p.d_nope, k = i % p.d_nope;
    sh.a[i] = p.q[r * p.q_row_stride + h * qk + k] * LoadBf16(p.gamma, h * kv + k);
  }
  for (int64_t i = tid; i < n_h * p.d_rope; i += threads) {
    const int64_t h = i / p.d_rope, k = i % p.d_rope;
    sh.q_rope[i] = p.q[r * p.q_row_stride + h * qk + p.d_nope + k];
  }
  __syncthreads();
  for (int64_t h = tid; h < n_h; h += threads) {
    float sum = 0.0f;
    for (int64_t k = 0; k < p.d_nope; ++k) sum += sh.a[h * p.d_nope + k];
    sh.s[h] = sum;
  }
  __syncthreads();

  // Pass 1: q̃ per id, then the scores of its tokens.
  for (int64_t t = t0, seg = seg0; t < t1; ++seg) {
    const int32_t* sg = p.segments + 3 * seg;
    const int64_t seg_end = sg[1] + sg[2] < t1 ? sg[1] + sg[2] : t1;
    const bf16* gate = p.gate_rows + static_cast<int64_t>(sg[0]) * width;
    for (int64_t i = tid; i < n_h * p.d_c; i += threads) {
      const int64_t h = i / p.d_c, c = i % p.d_c;
      float v = 0.0f;
      for (int64_t k = 0; k < p.d_nope; ++k) {
        v += sh.a[h * p.d_nope + k] * LoadBf16(gate, h * kv + k) *
             LoadBf16(p.kv_b_proj, (h * kv + k) * p.d_c + c);
      }
      sh.q_c[i] = v;
    }
    __syncthreads();
    for (int64_t i = tid; i < (seg_end - t) * n_h; i += threads) {
      const int64_t tt = t + i / n_h, h = i % n_h;
      const int64_t slot = SlotOf(p, table, p.tokens[tt]);
      const bf16* row = p.cache + slot * row_width;
      float dot = 0.0f, dot_rope = 0.0f;
      for (int64_t c = 0; c < p.d_c; ++c) dot += sh.q_c[h * p.d_c + c] * LoadBf16(row, c);
      for (int64_t k = 0; k < p.d_rope; ++k) {
        dot_rope += sh.q_rope[h * p.d_rope + k] * LoadBf16(row, p.d_c + k);
      }
      const float mu = p.ln_stats[slot * 2], rstd = p.ln_stats[slot * 2 + 1];
      sh.scores[(tt - t0) * n_h + h] = p.scale * (rstd * (dot - mu * sh.s[h]) + dot_rope);
    }
    __syncthreads();  // q_c is the next id's
    t = seg_end;
  }

  for (int64_t h = tid; h < n_h; h += threads) {
    float m = -__int_as_float(0x7f800000);
    for (int64_t tt = 0; tt < t1 - t0; ++tt)
      m = sh.scores[tt * n_h + h] > m ? sh.scores[tt * n_h + h] : m;
    sh.max[h] = m;
    sh.l[h] = 0.0f;
    sh.wmu[h] = 0.0f;
  }
  for (int64_t i = tid; i < n_h * p.d_v; i += threads) sh.acc[i] = 0.0f;
  __syncthreads();

  // Pass 2: the weights, C per id, then G_V ⊙ W_UV C.
  for (int64_t t = t0, seg = seg0; t < t1; ++seg) {
    const int32_t* sg = p.segments + 3 * seg;
    const int64_t seg_end = sg[1] + sg[2] < t1 ? sg[1] + sg[2] : t1;
    const bf16* gate = p.gate_rows + static_cast<int64_t>(sg[0]) * width;
    for (int64_t h = tid; h < n_h; h += threads) {
      for (int64_t tt = t; tt < seg_end; ++tt) {
        const int64_t slot = SlotOf(p, table, p.tokens[tt]);
        const float e = expf(sh.scores[(tt - t0) * n_h + h] - sh.max[h]);
        const float w = e * p.ln_stats[slot * 2 + 1];
        sh.l[h] += e;
        sh.wmu[h] += w * p.ln_stats[slot * 2];
        sh.scores[(tt - t0) * n_h + h] = w;
      }
    }
    __syncthreads();
    for (int64_t i = tid; i < n_h * p.d_c; i += threads) {
      const int64_t h = i / p.d_c, c = i % p.d_c;
      float sum = 0.0f;
      for (int64_t tt = t; tt < seg_end; ++tt) {
        const int64_t slot = SlotOf(p, table, p.tokens[tt]);
        sum += sh.scores[(tt - t0) * n_h + h] * LoadBf16(p.cache, slot * row_width + c);
      }
      sh.q_c[i] = sum;
    }
    __syncthreads();
    for (int64_t i = tid; i < n_h * p.d_v; i += threads) {
      const int64_t h = i / p.d_v, e = i % p.d_v;
      float y = 0.0f;
      for (int64_t c = 0; c < p.d_c; ++c) {
        y += LoadBf16(p.kv_b_proj, (h * kv + p.d_nope + e) * p.d_c + c) * sh.q_c[h * p.d_c + c];
      }
      sh.acc[i] += LoadBf16(gate, h * kv + p.d_nope + e) * y;
    }
    __syncthreads();  // q_c and the weights are the next id's
    t = seg_end;
  }

  for (int64_t h = tid; h < n_h; h += threads) {
    float* stats = p.partial_stats + (split * n_h + h) * 3;
    stats[0] = sh.max[h];
    stats[1] = sh.l[h];
    stats[2] = sh.wmu[h];
  }
  for (int64_t i = tid; i < n_h * p.d_v; i += threads) {
    p.partial_acc[split * n_h * p.d_v + i] = sh.acc[i];
  }
}

}  // namespace

int64_t EgMlaDecodeSharedBytes(int64_t num_heads, int64_t d_nope, int64_t d_rope, int64_t d_v,
                               int64_t d_c) {
  return SharedFloats(num_heads, d_nope, d_rope, d_v, d_c) * static_cast<int64_t>(sizeof(float));
}

bool EgMlaDecodeFits(int64_t num_heads, int64_t d_nope, int64_t d_rope, int64_t d_v, int64_t d_c) {
  return num_heads >= 1 && d_nope >= 1 && d_v >= 1 && d_c >= 1 && d_rope >= 0 &&
         EgMlaDecodeSharedBytes(num_heads, d_nope, d_rope, d_v, d_c) <= 48 * 1024;
}

cudaError_t LaunchEgMlaDecode(const EgMlaDecodeParams& params, cudaStream_t stream) {
  if (params.num_splits <= 0) return cudaSuccess;
  if (!EgMlaDecodeFits(params.num_heads, params.d_nope, params.d_rope, params.d_v, params.d_c)) {
    return cudaErrorInvalidValue;
  }
  const size_t shared = static_cast<size_t>(EgMlaDecodeSharedBytes(
      params.num_heads, params.d_nope, params.d_rope, params.d_v, params.d_c));
  return egmla::cuda::Launch(EgMlaDecodeKernel, dim3(static_cast<unsigned>(params.num_splits)),
                             dim3(kThreads), shared, stream, params);
}

}  // namespace egmla::ops::cuda
