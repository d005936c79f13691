// Properties of the CPU forward pass that hold for every attention type: incremental decoding
// with the cache equals the full pass, the two gate modes agree, and bad checkpoints are refused
// with the culprit named. (Agreement with the PyTorch reference is tests/golden.)
#include "model/model.h"

#include <cmath>

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

using testing::MakeTestModel;
using testing::TestConfig;
using testing::TestVariants;

const std::vector<int32_t> kPrompt = {3, 17, 60, 0, 17, 42, 3, 3, 9, 25, 17, 5};

float MaxAbs(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::abs(x));
  return m;
}

TEST(ModelTest, IncrementalDecodingEqualsFullPass) {
  for (const testing::TestVariant& v : TestVariants()) {
    SCOPED_TRACE(v.name);
    const ModelConfig c = TestConfig(v);
    auto model = MakeTestModel(c);
    SequenceCache full_cache = model->NewCache();
    std::vector<float> full = *model->Forward(kPrompt, &full_cache);
    ASSERT_EQ(full.size(), kPrompt.size() * c.vocab_size);
    const float tol = 1e-5f * std::max(1.0f, MaxAbs(full));

    // First 5 tokens as one chunk, then one at a time.
    SequenceCache cache = model->NewCache();
    std::vector<float> step = *model->Forward(std::span(kPrompt).first(5), &cache);
    for (size_t t = 5; t < kPrompt.size(); ++t) {
      std::vector<float> row = *model->Forward(std::span(kPrompt).subspan(t, 1), &cache);
      step.insert(step.end(), row.begin(), row.end());
    }
    ASSERT_EQ(step.size(), full.size());
    for (size_t i = 0; i < full.size(); ++i) ASSERT_NEAR(step[i], full[i], tol) << "index " << i;
  }
}

TEST(ModelTest, CacheHoldsOnlyWhatCacheSpecCounts) {
  for (const testing::TestVariant& v : TestVariants()) {
    SCOPED_TRACE(v.name);
    const ModelConfig c = TestConfig(v);
    auto model = MakeTestModel(c);
    SequenceCache cache = model->NewCache();
    ASSERT_TRUE(model->Forward(kPrompt, &cache).ok());
    const CacheSpec spec = model->cache_spec();
    const int64_t t = static_cast<int64_t>(kPrompt.size());
    EXPECT_EQ(cache.length, t);
    for (const auto& layer : cache.layers) {
      EXPECT_EQ(static_cast<int64_t>(layer.size()), t * spec.elements_per_token_per_layer);
    }
    int64_t extra_bytes = static_cast<int64_t>(cache.token_ids.size() * sizeof(int32_t));
    for (const auto& layer : cache.ln_stats) {
      extra_bytes += static_cast<int64_t>(layer.size() * sizeof(float));
    }
    EXPECT_EQ(extra_bytes, t * spec.extra_bytes_per_token);
  }
}

TEST(ModelTest, GateTableAndOnTheFlyAgree) {
  for (const testing::TestVariant& v : TestVariants()) {
    const ModelConfig c = TestConfig(v);
    if (!c.is_eg_mla()) continue;
    SCOPED_TRACE(v.name);
    auto table = MakeTestModel(c, GateMode::kTable), fly = MakeTestModel(c, GateMode::kOnTheFly);
    SequenceCache a = table->NewCache(), b = fly->NewCache();
    std::vector<float> la = *table->Forward(kPrompt, &a), lb = *fly->Forward(kPrompt, &b);
    for (size_t i = 0; i < la.size(); ++i) ASSERT_NEAR(la[i], lb[i], 1e-4f * MaxAbs(la));
  }
}

TEST(ModelTest, RefusesOutOfVocabAndOverlongInput) {
  const ModelConfig c = TestConfig(TestVariants()[1]);
  auto model = MakeTestModel(c);
  SequenceCache cache = model->NewCache();
  const std::vector<int32_t> bad = {1, 61};
  EXPECT_THAT(model->Forward(bad, &cache).status().ToString(), HasSubstr("token id 61"));
  const std::vector<int32_t> too_long(513, 1);
  EXPECT_THAT(model->Forward(too_long, &cache).status().ToString(),
              HasSubstr("max_position_embeddings"));
}

TEST(ModelTest, BindNamesMissingWrongShapedAndUnexplainedTensors) {
  const ModelConfig c = TestConfig(TestVariants()[3]);
  const auto w = RandomWeights(c, 1);
  const std::string kv_b = "model.layers.1.self_attn.kv_b_proj.weight";

  auto missing = testing::F32Views(c, w);
  missing.erase(kv_b);
  EXPECT_THAT(ModelWeights::Bind(c, missing).status().ToString(),
              HasSubstr("missing tensor '" + kv_b + "'"));

  auto wrong = testing::F32Views(c, w);
  wrong[kv_b].shape = {6, 56};
  EXPECT_THAT(ModelWeights::Bind(c, wrong).status().ToString(),
              HasSubstr("tensor '" + kv_b + "' has shape [6, 56], expected [56, 6]"));

  auto extra = testing::F32Views(c, w);
  extra["model.layers.9.self_attn.q_proj.weight"] = extra[kv_b];
  EXPECT_THAT(ModelWeights::Bind(c, extra).status().ToString(),
              HasSubstr("unexpected tensor 'model.layers.9.self_attn.q_proj.weight'"));
}

}  // namespace
}  // namespace egmla
