#include "model/eg_mla_grouped.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/ops.h"
#include "model/attention_core.h"
#include "model/config.h"
#include "model/gate.h"
#include "model/model.h"
#include "model/random_model.h"
#include "model/test_models.h"
#include "model/weights.h"

namespace egmla {
namespace {

struct Shapes {
  int64_t n_h, d_nope, d_rope, d_v, d_c, d_e, vocab, layers, group;
};

// A random eg_mla up_projected model with its gates.
struct TestModel {
  ModelConfig config;
  std::optional<ModelWeights> weights;
  std::optional<Gates> gates;
};

std::unique_ptr<TestModel> MakeModel(const Shapes& s, GateMode mode, uint64_t seed = 11) {
  const std::string json = absl::StrCat(
      R"({"attention_type": "eg_mla", "vocab_size": )", s.vocab, R"(, "hidden_size": 16,
      "intermediate_size": 16, "num_hidden_layers": )",
      s.layers, R"(, "num_attention_heads": )", s.n_h,
      R"(, "max_position_embeddings": 4096, "qk_nope_head_dim": )", s.d_nope,
      R"(, "qk_rope_head_dim": )", s.d_rope, R"(, "v_head_dim": )", s.d_v, R"(, "kv_lora_rank": )",
      s.d_c, R"(, "gate_embedding_dim": )", s.d_e, R"(, "gate_layer_group_size": )", s.group,
      R"(, "eos_token_id": 0})");
  auto model = std::make_unique<TestModel>();
  absl::StatusOr<ModelConfig> config = ParseModelConfig(json);
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    std::abort();
  }
  model->config = *config;
  const auto raw = RandomWeights(model->config, seed);
  absl::StatusOr<ModelWeights> bound =
      ModelWeights::Bind(model->config, testing::F32Views(model->config, raw));
  if (!bound.ok()) {
    std::cerr << bound.status() << "\n";
    std::abort();
  }
  model->weights.emplace(*std::move(bound));
  model->gates.emplace(model->config, *model->weights, mode);
  return model;
}

// One sequence's inputs to GroupedLatentDecode, with the cache paged (rows at shuffled slots).
struct Inputs {
  int64_t row = 0;                // cache row stride
  std::vector<int32_t> ids;       // [T]
  std::vector<float> rows;        // [T, row], contiguous, before paging
  std::vector<float> cache;       // [num_slots, row]
  std::vector<int64_t> slots;     // [T]
  std::vector<float> mean, rstd;  // [T]
  std::vector<int32_t> distinct;  // [U]
  std::vector<int32_t> of_token;  // [T]
  std::vector<float> q;           // [num_q, n_h, qk]
  std::vector<int64_t> visible;   // [num_q]
};

enum class Ids { kRepeated, kDistinct, kSingle, kUniform };

std::vector<int32_t> MakeIds(Ids kind, int64_t t, int64_t vocab, std::mt19937& rng) {
  std::vector<int32_t> ids(t);
  switch (kind) {
    case Ids::kRepeated: {  // a few ids, skewed (a handful take most positions)
      std::vector<int32_t> pool(7);
      for (int32_t& id : pool) id = static_cast<int32_t>(rng() % vocab);
      std::uniform_real_distribution<double> unit(0.0, 1.0);
      for (int32_t& id : ids) id = pool[static_cast<size_t>(std::pow(unit(rng), 3.0) * 7)];
      break;
    }
    case Ids::kDistinct: {
      std::vector<int32_t> all(vocab);
      std::iota(all.begin(), all.end(), 0);
      std::shuffle(all.begin(), all.end(), rng);
      std::copy_n(all.begin(), t, ids.begin());
      break;
    }
    case Ids::kSingle:
      std::fill(ids.begin(), ids.end(), static_cast<int32_t>(rng() % vocab));
      break;
    case Ids::kUniform:
      for (int32_t& id : ids) id = static_cast<int32_t>(rng() % std::max<int64_t>(1, vocab / 3));
      break;
  }
  return ids;
}

Inputs MakeInputs(const TestModel& m, int64_t layer, std::vector<int32_t> ids,
                  std::vector<int64_t> visible, int64_t extra_row, bool shuffle_distinct,
                  std::mt19937& rng) {
  const ModelConfig& c = m.config;
  const int64_t n_h = c.num_attention_heads, d_c = c.kv_lora_rank, d_r = c.qk_rope_head_dim;
  const int64_t qk = c.qk_nope_head_dim + d_r, width = c.gate_dim();
  const int64_t t = static_cast<int64_t>(ids.size());
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Inputs in;
  in.row = d_c + d_r + extra_row;
  in.ids = std::move(ids);
  in.visible = std::move(visible);
  in.rows.resize(t * in.row);
  for (float& x : in.rows) x = normal(rng);
  const int64_t num_slots = t + 7;
  std::vector<int64_t> perm(num_slots);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  in.slots.assign(perm.begin(), perm.begin() + t);
  in.cache.assign(num_slots * in.row, std::nanf(""));  // unused slots poison the result
  for (int64_t j = 0; j < t; ++j) {
    std::copy_n(&in.rows[j * in.row], in.row, &in.cache[in.slots[j] * in.row]);
  }
  std::vector<float> g(t * width);
  m.gates->Compute(layer, in.ids, g.data());
  in.mean.resize(t);
  in.rstd.resize(t);
  ComputeLnStats(in.rows.data(), in.row, g.data(), m.weights->layer(layer).kv_b_proj, t, d_c, width,
                 static_cast<float>(c.gate_norm_eps), in.mean.data(), in.rstd.data());
  // Distinct ids in first-occurrence order (as a sequence grows), or shuffled.
  for (int32_t id : in.ids) {
    if (std::find(in.distinct.begin(), in.distinct.end(), id) == in.distinct.end()) {
      in.distinct.push_back(id);
    }
  }
  if (shuffle_distinct) std::shuffle(in.distinct.begin(), in.distinct.end(), rng);
  for (int32_t id : in.ids) {
    in.of_token.push_back(static_cast<int32_t>(
        std::find(in.distinct.begin(), in.distinct.end(), id) - in.distinct.begin()));
  }
  std::normal_distribution<float> wide(0.0f, 2.0f);  // peaked as well as flat softmaxes
  in.q.resize(in.visible.size() * n_h * qk);
  for (float& x : in.q) x = wide(rng);
  return in;
}

float Scale(const ModelConfig& c) {
  return 1.0f / std::sqrt(static_cast<float>(c.qk_nope_head_dim + c.qk_rope_head_dim));
}

std::vector<float> Grouped(const TestModel& m, int64_t layer, const Inputs& in,
                           const float* gate_rows = nullptr) {
  const ModelConfig& c = m.config;
  const LayerWeights& w = m.weights->layer(layer);
  const int64_t num_q = static_cast<int64_t>(in.visible.size());
  std::vector<float> out(num_q * c.num_attention_heads * c.v_head_dim, std::nanf(""));
  GroupedLatentDecode({.num_heads = c.num_attention_heads,
                       .d_nope = c.qk_nope_head_dim,
                       .d_rope = c.qk_rope_head_dim,
                       .d_v = c.v_head_dim,
                       .d_c = c.kv_lora_rank,
                       .scale = Scale(c),
                       .num_q = num_q,
                       .q = in.q.data(),
                       .visible = in.visible.data(),
                       .num_tokens = static_cast<int64_t>(in.ids.size()),
                       .cache = in.cache.data(),
                       .cache_row_stride = in.row,
                       .slots = in.slots.data(),
                       .ln_mean = in.mean.data(),
                       .ln_rstd = in.rstd.data(),
                       .num_distinct = static_cast<int64_t>(in.distinct.size()),
                       .distinct_ids = in.distinct.data(),
                       .distinct_of_token = in.of_token.data(),
                       .kv_b_proj = w.kv_b_proj,
                       .gamma = w.gate_norm_weight,
                       .beta = w.gate_norm_bias,
                       .gate_rows = gate_rows,
                       .gates = &*m.gates,
                       .layer = layer,
                       .out = out.data()});
  return out;
}

// The shapes of a layer and of the inputs' tokens.
struct Dims {
  int64_t n_h, d_nope, d_r, d_v, d_c;
  int64_t qk, kv, width;  // d_nope + d_R; d_nope + d_v; n_h · kv
  int64_t t;              // tokens
};
Dims DimsOf(const ModelConfig& c, const Inputs& in) {
  const int64_t d_nope = c.qk_nope_head_dim, d_v = c.v_head_dim;
  return {.n_h = c.num_attention_heads,
          .d_nope = d_nope,
          .d_r = c.qk_rope_head_dim,
          .d_v = d_v,
          .d_c = c.kv_lora_rank,
          .qk = d_nope + c.qk_rope_head_dim,
          .kv = d_nope + d_v,
          .width = c.num_attention_heads * (d_nope + d_v),
          .t = static_cast<int64_t>(in.ids.size())};
}

// The recompute path's arithmetic (attention_latent.cc, DecompressedAttention): f = LN(kv_b_proj
// c ⊙ g) for every token, then the attention core, one call per query row (its own visibility).
std::vector<float> RecomputeFloat(const TestModel& m, int64_t layer, const Inputs& in) {
  const ModelConfig& c = m.config;
  const LayerWeights& w = m.weights->layer(layer);
  const auto [n_h, d_nope, d_r, d_v, d_c, qk, kv, width, t] = DimsOf(c, in);
  std::vector<float> latents(t * d_c);
  for (int64_t j = 0; j < t; ++j) {
    std::copy_n(&in.cache[in.slots[j] * in.row], d_c, &latents[j * d_c]);
  }
  std::vector<float> f(t * width), g(t * width);
  ops::Linear(latents.data(), w.kv_b_proj, f.data(), t, d_c, width);
  m.gates->Compute(layer, in.ids, g.data());
  for (int64_t k = 0; k < t * width; ++k) f[k] *= g[k];
  ops::LayerNorm(f.data(), w.gate_norm_weight, w.gate_norm_bias, f.data(), t, width,
                 static_cast<float>(c.gate_norm_eps));
  auto slot = [&in](int64_t j) { return in.slots[j]; };
  auto identity = [](int64_t j) { return j; };
  const std::vector<const float*> keys = RowPointers(f.data(), t, width, 0, identity);
  const std::vector<const float*> values = RowPointers(f.data(), t, width, d_nope, identity);
  const std::vector<const float*> rope = RowPointers(in.cache.data(), t, in.row, d_c, slot);
  const int64_t num_q = static_cast<int64_t>(in.visible.size());
  std::vector<float> out(num_q * n_h * d_v);
  for (int64_t i = 0; i < num_q; ++i) {
    AttendHeads({.num_heads = n_h,
                 .num_new = 1,
                 .num_past = in.visible[i] - 1,
                 .q = in.q.data() + i * n_h * qk,
                 .q_row_stride = n_h * qk,
                 .q_head_stride = qk,
                 .d_a = d_nope,
                 .d_b = d_r,
                 .key_a = keys.data(),
                 .key_a_head_stride = kv,
                 .key_b = rope.data(),
                 .value = values.data(),
                 .value_head_stride = kv,
                 .d_v = d_v,
                 .scale = Scale(c),
                 .out = out.data() + i * n_h * d_v,
                 .out_row_stride = n_h * d_v});
  }
  return out;
}

// DESIGN §3.1 in double, from the same float inputs, with q·β_K kept in the score.
std::vector<double> RecomputeDouble(const TestModel& m, int64_t layer, const Inputs& in) {
  const ModelConfig& c = m.config;
  const LayerWeights& w = m.weights->layer(layer);
  const auto [n_h, d_nope, d_r, d_v, d_c, qk, kv, width, t] = DimsOf(c, in);
  std::vector<float> g(t * width);
  m.gates->Compute(layer, in.ids, g.data());
  std::vector<double> f(t * width);
  for (int64_t j = 0; j < t; ++j) {
    const float* cj = &in.cache[in.slots[j] * in.row];
    double* fj = &f[j * width];
    for (int64_t o = 0; o < width; ++o) {
      double u = 0.0;
      for (int64_t k = 0; k < d_c; ++k) u += static_cast<double>(w.kv_b_proj[o * d_c + k]) * cj[k];
      fj[o] = u * g[j * width + o];
    }
    double mean = 0.0, var = 0.0;
    for (int64_t o = 0; o < width; ++o) mean += fj[o];
    mean /= width;
    for (int64_t o = 0; o < width; ++o) var += (fj[o] - mean) * (fj[o] - mean);
    const double rstd = 1.0 / std::sqrt(var / width + c.gate_norm_eps);
    for (int64_t o = 0; o < width; ++o) {
      fj[o] = (fj[o] - mean) * rstd * w.gate_norm_weight[o] + w.gate_norm_bias[o];
    }
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(qk));
  const int64_t num_q = static_cast<int64_t>(in.visible.size());
  std::vector<double> out(num_q * n_h * d_v, 0.0);
  for (int64_t i = 0; i < num_q; ++i) {
    const int64_t vis = in.visible[i];
    for (int64_t h = 0; h < n_h; ++h) {
      const float* qh = &in.q[(i * n_h + h) * qk];
      std::vector<double> s(vis);
      double mx = -INFINITY;
      for (int64_t j = 0; j < vis; ++j) {
        const double* k = &f[j * width + h * kv];
        const float* kr = &in.cache[in.slots[j] * in.row + d_c];
        double dot = 0.0;
        for (int64_t e = 0; e < d_nope; ++e) dot += qh[e] * k[e];
        for (int64_t e = 0; e < d_r; ++e) dot += static_cast<double>(qh[d_nope + e]) * kr[e];
        s[j] = dot * scale;
        mx = std::max(mx, s[j]);
      }
      double l = 0.0;
      for (int64_t j = 0; j < vis; ++j) l += (s[j] = std::exp(s[j] - mx));
      double* o = &out[(i * n_h + h) * d_v];
      for (int64_t j = 0; j < vis; ++j) {
        const double* v = &f[j * width + h * kv + d_nope];
        for (int64_t e = 0; e < d_v; ++e) o[e] += s[j] / l * v[e];
      }
    }
  }
  return out;
}

double MaxAbs(const std::vector<double>& x) {
  double mx = 0.0;
  for (double v : x) mx = std::max(mx, std::abs(v));
  return mx;
}

// max|a - b|, NaN if either holds one.
template <typename A, typename B>
double MaxDiff(const std::vector<A>& a, const std::vector<B>& b) {
  double mx = 0.0;
  for (size_t k = 0; k < a.size(); ++k) {
    const double d = std::abs(static_cast<double>(a[k]) - static_cast<double>(b[k]));
    if (std::isnan(d)) return NAN;
    mx = std::max(mx, d);
  }
  return mx;
}

// Query rows: a few with different visibility, down to the first token alone.
std::vector<std::vector<int64_t>> VisibleSets(int64_t t) {
  return {{t}, {1, std::max<int64_t>(1, t / 2), std::max<int64_t>(1, t - 1), t}};
}

const Shapes kSmall{.n_h = 4,
                    .d_nope = 8,
                    .d_rope = 4,
                    .d_v = 6,
                    .d_c = 6,
                    .d_e = 5,
                    .vocab = 61,
                    .layers = 3,
                    .group = 2};
const Shapes kWide{.n_h = 3,
                   .d_nope = 16,
                   .d_rope = 8,
                   .d_v = 12,
                   .d_c = 20,
                   .d_e = 7,
                   .vocab = 400,
                   .layers = 4,
                   .group = 3};

struct IdCase {
  Ids kind;
  int64_t t;
};

class GroupedTest : public ::testing::TestWithParam<GateMode> {};

TEST_P(GroupedTest, MatchesRecompute) {
  std::mt19937 rng(5);
  for (const Shapes& s : {kSmall, kWide}) {
    const std::unique_ptr<TestModel> m = MakeModel(s, GetParam());
    const std::vector<IdCase> cases = {
        {Ids::kRepeated, 1},  {Ids::kRepeated, 9}, {Ids::kRepeated, 150}, {Ids::kUniform, 200},
        {Ids::kDistinct, 61}, {Ids::kSingle, 130}, {Ids::kDistinct, 2},   {Ids::kRepeated, 300},
    };
    for (int64_t layer = 0; layer < s.layers; ++layer) {
      for (const IdCase& ic : cases) {
        for (const std::vector<int64_t>& visible : VisibleSets(ic.t)) {
          for (bool shuffle : {false, true}) {
            SCOPED_TRACE(absl::StrCat("n_h ", s.n_h, " d_c ", s.d_c, " layer ", layer, " ids ",
                                      static_cast<int>(ic.kind), " T ", ic.t, " rows ",
                                      visible.size(), " shuffled ", shuffle));
            const Inputs in = MakeInputs(*m, layer, MakeIds(ic.kind, ic.t, s.vocab, rng), visible,
                                         /*extra_row=*/layer % 2 == 0 ? 0 : 3, shuffle, rng);
            const std::vector<float> grouped = Grouped(*m, layer, in);
            const std::vector<float> recompute = RecomputeFloat(*m, layer, in);
            const std::vector<double> exact = RecomputeDouble(*m, layer, in);
            const double bound = 1e-5 * MaxAbs(exact);
            EXPECT_LE(MaxDiff(grouped, exact), bound);
            EXPECT_LE(MaxDiff(grouped, recompute), bound);
            EXPECT_LE(MaxDiff(recompute, exact), bound);  // the reference path itself
          }
        }
      }
    }
  }
}

// Given gate rows and rows computed by Gates give the same bits (Gates::Compute is
// batch-invariant in both modes).
TEST_P(GroupedTest, GivenGateRowsSameAsComputed) {
  std::mt19937 rng(8);
  const std::unique_ptr<TestModel> m = MakeModel(kWide, GetParam());
  const int64_t layer = 2;
  const Inputs in = MakeInputs(*m, layer, MakeIds(Ids::kUniform, 257, kWide.vocab, rng),
                               {1, 100, 257}, 0, false, rng);
  std::vector<float> rows(in.distinct.size() * m->config.gate_dim());
  m->gates->Compute(layer, in.distinct, rows.data());
  const std::vector<float> computed = Grouped(*m, layer, in);
  const std::vector<float> given = Grouped(*m, layer, in, rows.data());
  ASSERT_EQ(computed.size(), given.size());
  for (size_t k = 0; k < given.size(); ++k) ASSERT_EQ(computed[k], given[k]) << k;
}

// The stored statistics reproduce the recompute path's LayerNorm bit for bit.
TEST_P(GroupedTest, LnStatsMatchLayerNormBitwise) {
  std::mt19937 rng(9);
  for (const Shapes& s : {kSmall, kWide}) {
    const std::unique_ptr<TestModel> m = MakeModel(s, GetParam());
    const ModelConfig& c = m->config;
    const int64_t width = c.gate_dim(), d_c = c.kv_lora_rank, t = 50;
    for (int64_t layer = 0; layer < s.layers; ++layer) {
      const LayerWeights& w = m->weights->layer(layer);
      const Inputs in =
          MakeInputs(*m, layer, MakeIds(Ids::kUniform, t, s.vocab, rng), {t}, 2, false, rng);
      std::vector<float> latents(t * d_c), x(t * width), g(t * width), f(t * width);
      for (int64_t j = 0; j < t; ++j) std::copy_n(&in.rows[j * in.row], d_c, &latents[j * d_c]);
      ops::Linear(latents.data(), w.kv_b_proj, x.data(), t, d_c, width);
      m->gates->Compute(layer, in.ids, g.data());
      for (int64_t k = 0; k < t * width; ++k) x[k] *= g[k];
      ops::LayerNorm(x.data(), w.gate_norm_weight, w.gate_norm_bias, f.data(), t, width,
                     static_cast<float>(c.gate_norm_eps));
      for (int64_t j = 0; j < t; ++j) {
        for (int64_t o = 0; o < width; ++o) {
          const float mine = (x[j * width + o] - in.mean[j]) * in.rstd[j] * w.gate_norm_weight[o] +
                             w.gate_norm_bias[o];
          ASSERT_EQ(mine, f[j * width + o]) << "layer " << layer << " token " << j << " o " << o;
        }
      }
    }
  }
}

// Through the whole model: a prompt, then generated tokens one by one (the grouped rows), with
// ids that repeat and ids that are all distinct; grouped logits within 1e-5·max|logit| of the
// recompute reference, and the same greedy tokens.
TEST_P(GroupedTest, ModelDecodeMatchesRecompute) {
  const ModelConfig c = testing::TestConfig(testing::TestVariants()[3]);  // egmla_up, groups of 2
  const auto grouped = testing::MakeTestModel(
      c, ModelOptions{.gate_mode = GetParam(), .eg_mla_decode = EgMlaDecode::kGrouped});
  const auto recompute = testing::MakeTestModel(
      c, ModelOptions{.gate_mode = GetParam(), .eg_mla_decode = EgMlaDecode::kRecompute});
  std::mt19937 rng(11);
  for (const bool repeated : {true, false}) {
    SCOPED_TRACE(repeated ? "repeated ids" : "distinct ids");
    std::vector<int32_t> prompt(repeated ? 40 : 20);
    for (size_t i = 0; i < prompt.size(); ++i) {
      prompt[i] = repeated ? static_cast<int32_t>(rng() % 7) : static_cast<int32_t>(3 + i);
    }
    SequenceCache cg = grouped->NewCache(), cr = recompute->NewCache();
    ASSERT_TRUE(grouped->Forward(prompt, &cg).ok());
    std::vector<float> last = *recompute->Forward(prompt, &cr);
    const int64_t vocab = c.vocab_size;
    int32_t token = static_cast<int32_t>(std::max_element(last.end() - vocab, last.end()) -
                                         (last.end() - vocab));
    for (int step = 0; step < 30; ++step) {
      // Distinct ids: feed fresh ids so that no id repeats.
      const int32_t next = repeated ? token : static_cast<int32_t>(23 + step);
      const std::vector<float> g = *grouped->Forward(std::vector<int32_t>{next}, &cg);
      const std::vector<float> r = *recompute->Forward(std::vector<int32_t>{next}, &cr);
      float max_abs = 0.0f, max_diff = 0.0f;
      for (int64_t k = 0; k < vocab; ++k) {
        max_abs = std::max(max_abs, std::abs(r[k]));
        max_diff = std::max(max_diff, std::abs(g[k] - r[k]));
      }
      ASSERT_LE(max_diff, 1e-5f * max_abs) << "step " << step;
      const int32_t greedy_g =
          static_cast<int32_t>(std::max_element(g.begin(), g.end()) - g.begin());
      token = static_cast<int32_t>(std::max_element(r.begin(), r.end()) - r.begin());
      ASSERT_EQ(greedy_g, token) << "step " << step;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(GateModes, GroupedTest,
                         ::testing::Values(GateMode::kTable, GateMode::kOnTheFly),
                         [](const ::testing::TestParamInfo<GateMode>& info) {
                           return info.param == GateMode::kTable ? "Table" : "OnTheFly";
                         });

}  // namespace
}  // namespace egmla
