#include "model/attention_core.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/cpu_threads.h"
#include "kernels/cpu/vec.h"

namespace egmla {
namespace {

// Shapes large enough for the parallel paths: several 128-key blocks, several row tiles, and
// enough work per row that even one row is split over key blocks.
constexpr int64_t kHeads = 12, kDa = 64, kDb = 16, kDv = 64, kTotal = 421;

struct Data {
  std::vector<float> q;       // [kTotal, kHeads, kDa + kDb]
  std::vector<float> keys;    // [kTotal, kHeads, kDa]
  std::vector<float> rope;    // [kTotal, kDb], shared by the heads
  std::vector<float> values;  // [kTotal, kHeads, kDv]
  std::vector<const float*> key_rows, rope_rows, value_rows;
};

Data MakeData() {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Data d;
  d.q.resize(kTotal * kHeads * (kDa + kDb));
  d.keys.resize(kTotal * kHeads * kDa);
  d.rope.resize(kTotal * kDb);
  d.values.resize(kTotal * kHeads * kDv);
  for (auto* v : {&d.q, &d.keys, &d.rope, &d.values}) {
    for (float& x : *v) x = normal(rng);
  }
  for (int64_t j = 0; j < kTotal; ++j) {
    d.key_rows.push_back(&d.keys[j * kHeads * kDa]);
    d.rope_rows.push_back(&d.rope[j * kDb]);
    d.value_rows.push_back(&d.values[j * kHeads * kDv]);
  }
  return d;
}

// Rows [first, first + n) of the sequence (positions num_past + first ...), into `out`.
void Attend(const Data& d, int64_t num_past, int64_t first, int64_t n, float* out) {
  AttendHeads({.num_heads = kHeads,
               .num_new = n,
               .num_past = num_past + first,
               .q = d.q.data() + (num_past + first) * kHeads * (kDa + kDb),
               .q_row_stride = kHeads * (kDa + kDb),
               .q_head_stride = kDa + kDb,
               .d_a = kDa,
               .d_b = kDb,
               .key_a = d.key_rows.data(),
               .key_a_head_stride = kDa,
               .key_b = d.rope_rows.data(),
               .key_b_head_stride = 0,
               .value = d.value_rows.data(),
               .value_head_stride = kDv,
               .d_v = kDv,
               .scale = 0.125f,
               .out = out,
               .out_row_stride = kHeads * kDv});
}

// Position p's attention in double precision.
std::vector<double> Reference(const Data& d, int64_t p) {
  std::vector<double> out(kHeads * kDv, 0.0);
  for (int64_t h = 0; h < kHeads; ++h) {
    const float* q = &d.q[(p * kHeads + h) * (kDa + kDb)];
    std::vector<double> s(p + 1);
    double m = -INFINITY, l = 0;
    for (int64_t j = 0; j <= p; ++j) {
      double dot = 0;
      for (int64_t e = 0; e < kDa; ++e) dot += double(q[e]) * d.keys[(j * kHeads + h) * kDa + e];
      for (int64_t e = 0; e < kDb; ++e) dot += double(q[kDa + e]) * d.rope[j * kDb + e];
      s[j] = dot * 0.125;
      m = std::max(m, s[j]);
    }
    for (int64_t j = 0; j <= p; ++j) l += std::exp(s[j] - m);
    for (int64_t j = 0; j <= p; ++j) {
      const double w = std::exp(s[j] - m) / l;
      for (int64_t e = 0; e < kDv; ++e) {
        out[h * kDv + e] += w * d.values[(j * kHeads + h) * kDv + e];
      }
    }
  }
  return out;
}

// Each row's result is bitwise the same computed alone (the decode path: split over key blocks)
// or among 40 rows (the prefill path: split over row tiles), on every vector path, and matches
// a double-precision reference.
TEST(AttentionCoreTest, RowsAreBatchInvariantAcrossPathsAndCorrect) {
  ASSERT_GE(ops::CpuPool().num_threads(), 1);
  const Data d = MakeData();
  const int64_t num_past = kTotal - 40;
  for (const ops::VecOps* vec : {&ops::GenericVec(), ops::Avx2Vec()}) {
    if (vec == nullptr) continue;
    ops::SetVecForTesting(vec);
    std::vector<float> together(40 * kHeads * kDv);
    Attend(d, num_past, 0, 40, together.data());
    for (int64_t i : {0, 1, 15, 16, 17, 39}) {
      std::vector<float> alone(kHeads * kDv);
      Attend(d, num_past, i, 1, alone.data());
      const std::vector<double> want = Reference(d, num_past + i);
      for (int64_t k = 0; k < kHeads * kDv; ++k) {
        ASSERT_EQ(alone[k], together[i * kHeads * kDv + k]) << vec->isa << " row " << i;
        ASSERT_NEAR(alone[k], want[k], 1e-4) << vec->isa << " row " << i;
      }
    }
    // The first rows of a sequence (fewer keys than a block) too.
    std::vector<float> early(3 * kHeads * kDv), one(kHeads * kDv);
    Attend(d, 0, 0, 3, early.data());
    Attend(d, 0, 2, 1, one.data());
    for (int64_t k = 0; k < kHeads * kDv; ++k) ASSERT_EQ(one[k], early[2 * kHeads * kDv + k]);
  }
  ops::SetVecForTesting(nullptr);
}

}  // namespace
}  // namespace egmla
