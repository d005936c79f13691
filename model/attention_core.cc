#include "model/attention_core.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_threads.h"
#include "kernels/cpu/vec.h"
#include "kernels/ops.h"

namespace egmla {
namespace {

// Query rows per tile: each key row, once loaded, serves this many queries.
constexpr int64_t kRowTile = 16;
// Keys per block. A block's keys are read twice (scores, then values) and stay in the L2 cache
// between the two passes.
constexpr int64_t kKeyBlock = 128;
// Below this many multiply-adds a sequence's attention runs on the calling thread alone.
constexpr int64_t kParallelMinMacs = int64_t{1} << 17;

// The softmax-weighted sum over one key block, not yet normalized: max score m, l = Σ e^(s-m),
// acc = Σ e^(s-m) v. Empty (l = 0) when the row sees no key of the block.
struct PartialView {
  float* m;    // [heads]
  float* l;    // [heads]
  float* acc;  // [heads, d_v]
};

// Partials of rows [r0, r1), all heads, over key block `block`; row t's partial lives at
// partial(t). `scores` is scratch.
template <typename PartialFn>
void BlockPartials(const HeadAttentionParams& p, int64_t r0, int64_t r1, int64_t block,
                   PartialFn partial, std::vector<float>& scores) {
  const ops::VecOps& vec = ops::Vec();
  const int64_t heads = p.num_heads, j0 = block * kKeyBlock;
  const int64_t j1 = std::min(j0 + kKeyBlock, p.num_past + r1);  // the last row sees the most
  const int64_t width = j1 - j0;
  scores.resize((r1 - r0) * heads * width + 2 * heads);
  float* part_a = scores.data() + (r1 - r0) * heads * width;  // [heads]
  float* part_b = part_a + heads;                             // [heads]
  auto row_scores = [&](int64_t i) { return scores.data() + (i - r0) * heads * width; };
  for (int64_t j = j0; j < j1; ++j) {
    const float* ka = p.key_a[j];
    const float* kb = p.d_b > 0 ? p.key_b[j] : nullptr;
    for (int64_t i = std::max(r0, j - p.num_past); i < r1; ++i) {  // rows that see key j
      const float* qi = p.q + i * p.q_row_stride;
      float* s = row_scores(i) + (j - j0);  // head h at s[h * width]
      vec.dots(qi, p.q_head_stride, ka, p.key_a_head_stride, heads, p.d_a, part_a);
      if (kb != nullptr) {
        vec.dots(qi + p.d_a, p.q_head_stride, kb, p.key_b_head_stride, heads, p.d_b, part_b);
        for (int64_t h = 0; h < heads; ++h) s[h * width] = (part_a[h] + part_b[h]) * p.scale;
      } else {
        for (int64_t h = 0; h < heads; ++h) s[h * width] = part_a[h] * p.scale;
      }
    }
  }
  for (int64_t i = r0; i < r1; ++i) {
    const PartialView out = partial(i);
    const int64_t seen = std::min(j1, p.num_past + i + 1) - j0;  // keys of the block row i sees
    std::fill_n(out.acc, heads * p.d_v, 0.0f);
    for (int64_t h = 0; h < heads; ++h) {
      float* sh = row_scores(i) + h * width;
      float m = -INFINITY, l = 0.0f;
      for (int64_t k = 0; k < seen; ++k) m = std::max(m, sh[k]);
      for (int64_t k = 0; k < seen; ++k) {
        sh[k] = std::exp(sh[k] - m);
        l += sh[k];
      }
      out.m[h] = m;
      out.l[h] = l;
    }
  }
  for (int64_t i = r0; i < r1; ++i) {
    const int64_t seen = std::min(j1, p.num_past + i + 1) - j0;
    if (seen <= 0) continue;
    vec.weighted_rows(row_scores(i), 1, width, p.value + j0, p.value_head_stride, seen, heads,
                      p.d_v, partial(i).acc, p.d_v);
  }
}

// state ⊕= partial, for `heads` heads (the left fold over key blocks, in block order).
void Fold(const PartialView& state, const PartialView& partial, int64_t heads, int64_t d_v) {
  for (int64_t h = 0; h < heads; ++h) {
    if (partial.l[h] == 0.0f) continue;  // the row sees no key of that block
    const float m = std::max(state.m[h], partial.m[h]);
    const float a = state.l[h] == 0.0f ? 0.0f : std::exp(state.m[h] - m);
    const float b = std::exp(partial.m[h] - m);
    state.m[h] = m;
    state.l[h] = state.l[h] * a + partial.l[h] * b;
    float* acc = state.acc + h * d_v;
    const float* add = partial.acc + h * d_v;
    for (int64_t e = 0; e < d_v; ++e) acc[e] = acc[e] * a + add[e] * b;
  }
}

// Partials laid out [heads] m, [heads] l, [heads, d_v] acc in one buffer.
PartialView ViewOf(float* base, int64_t heads, int64_t d_v) {
  return {.m = base, .l = base + heads, .acc = base + 2 * heads};
}

// out[row i] = state.acc / state.l, head by head.
void Normalize(const HeadAttentionParams& p, int64_t i, const PartialView& state) {
  float* out = p.out + i * p.out_row_stride;
  for (int64_t h = 0; h < p.num_heads; ++h) {
    const float inv = 1.0f / state.l[h];
    for (int64_t e = 0; e < p.d_v; ++e) out[h * p.d_v + e] = state.acc[h * p.d_v + e] * inv;
  }
}

}  // namespace

void AttendHeads(const HeadAttentionParams& p) {
  if (p.num_new <= 0 || p.num_heads <= 0) return;
  const int64_t total = p.num_past + p.num_new;
  const int64_t num_tiles = (p.num_new + kRowTile - 1) / kRowTile;
  const int64_t num_blocks = (total + kKeyBlock - 1) / kKeyBlock;
  const int64_t heads = p.num_heads, part_size = heads * (2 + p.d_v);
  const int64_t macs = p.num_new * total * heads * (p.d_a + p.d_b + p.d_v);
  ThreadPool& pool = ops::CpuPool();
  const bool parallel = macs >= kParallelMinMacs && pool.num_threads() > 1;

  if (!parallel || num_tiles >= pool.num_threads()) {
    // Many query rows (prefill): a unit is a row tile; it folds its blocks as it goes.
    auto run = [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> scores, parts;
      for (int64_t tile = begin; tile < end; ++tile) {
        const int64_t r0 = tile * kRowTile, r1 = std::min(p.num_new, r0 + kRowTile);
        parts.assign(2 * (r1 - r0) * part_size, 0.0f);  // [state; partial] per row
        auto state = [&](int64_t i) { return ViewOf(&parts[(i - r0) * part_size], heads, p.d_v); };
        auto partial = [&](int64_t i) {
          return ViewOf(&parts[((r1 - r0) + (i - r0)) * part_size], heads, p.d_v);
        };
        const int64_t last_block = (p.num_past + r1 - 1) / kKeyBlock;
        for (int64_t block = 0; block <= last_block; ++block) {
          BlockPartials(p, r0, r1, block, partial, scores);
          for (int64_t i = r0; i < r1; ++i) Fold(state(i), partial(i), heads, p.d_v);
        }
        for (int64_t i = r0; i < r1; ++i) Normalize(p, i, state(i));
      }
    };
    if (parallel) {
      pool.ParallelFor(num_tiles, 1, run);
    } else {
      run(0, num_tiles);
    }
    return;
  }
  // Few query rows (decode): a unit is a (row tile, key block); every key is read once, by one
  // thread, for all heads. The partials are then folded in block order, as above.
  std::vector<float> parts(num_tiles * num_blocks * kRowTile * part_size, 0.0f);
  auto partial_of = [&](int64_t tile, int64_t block, int64_t i) {
    const int64_t t = i - tile * kRowTile;
    return ViewOf(&parts[((tile * num_blocks + block) * kRowTile + t) * part_size], heads, p.d_v);
  };
  pool.ParallelFor(num_tiles * num_blocks, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> scores;
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t tile = unit / num_blocks, block = unit % num_blocks;
      const int64_t r0 = tile * kRowTile, r1 = std::min(p.num_new, r0 + kRowTile);
      if (block * kKeyBlock >= p.num_past + r1) continue;  // no row of the tile sees it
      BlockPartials(
          p, r0, r1, block, [&](int64_t i) { return partial_of(tile, block, i); }, scores);
    }
  });
  std::vector<float> state_buffer(part_size);
  for (int64_t tile = 0; tile < num_tiles; ++tile) {
    const int64_t r0 = tile * kRowTile, r1 = std::min(p.num_new, r0 + kRowTile);
    for (int64_t i = r0; i < r1; ++i) {
      std::fill(state_buffer.begin(), state_buffer.end(), 0.0f);
      const PartialView state = ViewOf(state_buffer.data(), heads, p.d_v);
      const int64_t last_block = (p.num_past + i) / kKeyBlock;
      for (int64_t block = 0; block <= last_block; ++block) {
        Fold(state, partial_of(tile, block, i), heads, p.d_v);
      }
      Normalize(p, i, state);
    }
  }
}

}  // namespace egmla
