// The EG-MLA gates: table and on-the-fly mode give the same rows (and the rows DESIGN §3.1
// defines), and --gate-mode is read one way (ParseGateMode, ResolveGateMode).
#include "model/gate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/kv_size.h"
#include "model/random_model.h"
#include "model/tensor_names.h"
#include "model/test_models.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;

// Repeats and both ends of the vocabulary (61 in the test configs).
const std::vector<int32_t> kTokenIds = {0, 17, 60, 3, 17, 42, 1};

std::vector<ModelConfig> EgMlaTestConfigs() {
  std::vector<ModelConfig> configs;
  for (const testing::TestVariant& v : testing::TestVariants()) {
    ModelConfig c = testing::TestConfig(v);
    if (c.is_eg_mla()) configs.push_back(std::move(c));
  }
  return configs;
}

ModelWeights BindRandom(const ModelConfig& c,
                        const std::map<std::string, std::vector<float>>& weights) {
  absl::StatusOr<ModelWeights> bound = ModelWeights::Bind(c, testing::F32Views(c, weights));
  EXPECT_TRUE(bound.ok()) << bound.status();
  return *std::move(bound);
}

// g = gate_up_proj_l · gate_embeddings[l / group][token], in double.
std::vector<double> ReferenceGate(const ModelConfig& c, const ModelWeights& w, int64_t layer,
                                  int32_t token_id) {
  const int64_t d = c.gate_dim(), d_e = c.gate_embedding_dim;
  const float* e = w.gate_embedding(layer / c.gate_layer_group_size) + token_id * d_e;  // [d_e]
  const float* up = w.layer(layer).gate_up_proj;  // [D_gate, d_e]
  std::vector<double> g(d);
  for (int64_t j = 0; j < d; ++j) {
    for (int64_t k = 0; k < d_e; ++k) g[j] += double{up[j * d_e + k]} * double{e[k]};
  }
  return g;
}

TEST(GatesTest, TableAndOnTheFlyGiveTheSameRows) {
  const std::vector<ModelConfig> configs = EgMlaTestConfigs();
  ASSERT_FALSE(configs.empty());
  for (const ModelConfig& c : configs) {
    SCOPED_TRACE(absl::StrCat("gate_layer_group_size ", c.gate_layer_group_size));
    const auto random = RandomWeights(c, 11);
    const ModelWeights weights = BindRandom(c, random);
    const Gates table(c, weights, GateMode::kTable), fly(c, weights, GateMode::kOnTheFly);
    EXPECT_EQ(table.mode(), GateMode::kTable);
    EXPECT_EQ(fly.mode(), GateMode::kOnTheFly);
    const int64_t d = c.gate_dim(), n = static_cast<int64_t>(kTokenIds.size());
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      SCOPED_TRACE(absl::StrCat("layer ", l));
      std::vector<float> a(n * d), b(n * d);  // [n, D_gate]
      table.Compute(l, kTokenIds, a.data());
      fly.Compute(l, kTokenIds, b.data());
      for (int64_t i = 0; i < n; ++i) {
        const std::vector<double> want = ReferenceGate(c, weights, l, kTokenIds[i]);
        for (int64_t j = 0; j < d; ++j) {
          const double tol = 1e-5 * std::max(1.0, std::abs(want[j]));
          ASSERT_NEAR(a[i * d + j], want[j], tol)
              << "table, token " << kTokenIds[i] << " col " << j;
          ASSERT_NEAR(b[i * d + j], want[j], tol)
              << "onthefly, token " << kTokenIds[i] << " col " << j;
          ASSERT_NEAR(a[i * d + j], b[i * d + j], tol) << "token " << kTokenIds[i] << " col " << j;
        }
      }
    }
  }
}

TEST(GatesTest, ARowDoesNotDependOnTheBatch) {
  const ModelConfig c = EgMlaTestConfigs().front();
  const auto random = RandomWeights(c, 5);
  const ModelWeights weights = BindRandom(c, random);
  for (GateMode mode : {GateMode::kTable, GateMode::kOnTheFly}) {
    SCOPED_TRACE(mode == GateMode::kTable ? "table" : "onthefly");
    const Gates gates(c, weights, mode);
    const int64_t d = c.gate_dim(), n = static_cast<int64_t>(kTokenIds.size());
    const int64_t layer = c.num_hidden_layers - 1;
    std::vector<float> batch(n * d);  // [n, D_gate]
    gates.Compute(layer, kTokenIds, batch.data());
    for (int64_t i = 0; i < n; ++i) {
      std::vector<float> one(d);  // [1, D_gate]
      gates.Compute(layer, std::span(kTokenIds).subspan(i, 1), one.data());
      for (int64_t j = 0; j < d; ++j) ASSERT_EQ(one[j], batch[i * d + j]) << "row " << i;
    }
  }
}

TEST(ParseGateModeTest, AcceptsTheTwoModesOnly) {
  EXPECT_EQ(ParseGateMode("table"), GateMode::kTable);
  EXPECT_EQ(ParseGateMode("onthefly"), GateMode::kOnTheFly);
  for (const char* bad : {"", "auto", "Table", "on_the_fly", "on-the-fly", " table", "tables"}) {
    EXPECT_EQ(ParseGateMode(bad), std::nullopt) << "'" << bad << "'";
  }
}

// The paper's Base eg_mla (DESIGN §3.2): its fp32 gate table (3.7 GB) dwarfs its weights.
ModelConfig PaperBaseEgMla() {
  absl::StatusOr<ModelConfig> config = ParseModelConfig(R"({"attention_type": "eg_mla",
      "vocab_size": 50257, "hidden_size": 768, "intermediate_size": 2048, "num_hidden_layers": 12,
      "num_attention_heads": 12, "qk_nope_head_dim": 64, "qk_rope_head_dim": 64,
      "v_head_dim": 64, "kv_lora_rank": 64, "gate_embedding_dim": 64})");
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

int64_t Fp32WeightBytes(const ModelConfig& c) {
  int64_t bytes = 0;
  for (const TensorSpec& spec : ExpectedTensors(c)) bytes += NumElements(spec.shape) * 4;
  return bytes;
}

TEST(ResolveGateModeTest, ExplicitModesWinWhateverTheBudget) {
  for (const ModelConfig& c : {EgMlaTestConfigs().front(), PaperBaseEgMla()}) {
    for (int64_t kv : {int64_t{0}, int64_t{1} << 30, int64_t{1} << 40}) {
      EXPECT_EQ(*ResolveGateMode("table", c, kv), GateMode::kTable);
      EXPECT_EQ(*ResolveGateMode("onthefly", c, kv), GateMode::kOnTheFly);
    }
  }
}

TEST(ResolveGateModeTest, AutoPicksTheTableForASmallModel) {
  const ModelConfig c = EgMlaTestConfigs().front();
  for (const char* flag : {"auto", ""}) {
    EXPECT_EQ(*ResolveGateMode(flag, c, int64_t{1} << 30), GateMode::kTable) << "'" << flag << "'";
  }
}

TEST(ResolveGateModeTest, AutoPicksOnTheFlyWhenTheTableIsBig) {
  const ModelConfig base = PaperBaseEgMla();
  // 3.7 GB of table against ~0.5 GB of weights and the default 1 GiB of cache.
  EXPECT_EQ(*ResolveGateMode("auto", base, int64_t{1} << 30), GateMode::kOnTheFly);
  EXPECT_EQ(*ResolveGateMode("", base, 0), GateMode::kOnTheFly);
  // With cache enough that the table is under a quarter, the table again.
  EXPECT_EQ(*ResolveGateMode("auto", base, int64_t{64} << 30), GateMode::kTable);
}

TEST(ResolveGateModeTest, AutoIsTheTableUpToAQuarterOfWeightsAndCache) {
  for (const ModelConfig& c : {EgMlaTestConfigs().front(), PaperBaseEgMla()}) {
    const int64_t table = GateTableBytes(c, DType::kF32, GateMode::kTable);
    const int64_t weights = Fp32WeightBytes(c);
    ASSERT_GT(4 * table, weights);  // so that the boundary needs some cache
    const int64_t kv = 4 * table - weights;
    EXPECT_EQ(*ResolveGateMode("auto", c, kv), GateMode::kTable);
    EXPECT_EQ(*ResolveGateMode("auto", c, kv - 1), GateMode::kOnTheFly);
  }
}

TEST(ResolveGateModeTest, AutoWithoutGatesIsTheTable) {
  for (const testing::TestVariant& v : testing::TestVariants()) {
    const ModelConfig c = testing::TestConfig(v);
    if (c.is_eg_mla()) continue;
    EXPECT_EQ(*ResolveGateMode("auto", c, 0), GateMode::kTable) << v.name;
  }
}

TEST(ResolveGateModeTest, RefusesAnythingElseNamingTheFlag) {
  const ModelConfig c = EgMlaTestConfigs().front();
  for (const char* bad : {"sometimes", "TABLE", "on-the-fly", "auto "}) {
    absl::StatusOr<GateMode> mode = ResolveGateMode(bad, c, int64_t{1} << 30);
    ASSERT_FALSE(mode.ok()) << "'" << bad << "'";
    EXPECT_EQ(mode.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(mode.status().message(), HasSubstr("--gate-mode"));
    EXPECT_THAT(mode.status().message(), HasSubstr(absl::StrCat("'", bad, "'")));
    EXPECT_THAT(mode.status().message(), HasSubstr("auto, table, onthefly"));
  }
}

}  // namespace
}  // namespace egmla
