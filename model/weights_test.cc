#include "model/weights.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/random_model.h"
#include "model/tensor_names.h"
#include "model/test_models.h"

namespace egmla {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(WeightsTest, RandomWeightsBind) {
  for (const testing::TestVariant& v : testing::TestVariants()) {
    const ModelConfig c = testing::TestConfig(v);
    const auto w = RandomWeights(c, 5);
    EXPECT_TRUE(ModelWeights::Bind(c, testing::F32Views(c, w)).ok()) << v.name;
  }
}

// Such a checkpoint used to load, and greedy decoding then emitted token 0 forever.
TEST(WeightsTest, NonFiniteWeightsAreRefusedNamingTensorAndCount) {
  const ModelConfig c = testing::TestConfig(testing::TestVariants()[3]);
  auto w = RandomWeights(c, 1);
  const std::string up = "model.layers.1.mlp.up_proj.weight";
  w[up][5] = std::numeric_limits<float>::quiet_NaN();
  w[up][9] = std::numeric_limits<float>::infinity();
  w[up][700] = -std::numeric_limits<float>::infinity();
  absl::StatusOr<ModelWeights> bound = ModelWeights::Bind(c, testing::F32Views(c, w));
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bound.status().message(),
              AllOf(HasSubstr("tensor '" + up + "' has 3 non-finite values (NaN or Inf)"),
                    HasSubstr("the first at element 5 (nan)")));
}

TEST(WeightsTest, NonFiniteBf16WeightIsRefused) {
  const ModelConfig c = testing::TestConfig(testing::TestVariants()[0]);
  const auto w = RandomWeights(c, 2);
  auto views = testing::F32Views(c, w);
  const std::string norm = "model.norm.weight";
  std::vector<uint16_t> bf16;
  for (float x : w.at(norm)) bf16.push_back(F32ToBf16(x));
  bf16[4] = 0x7F80;  // +Inf
  views[norm] = {.data = bf16.data(), .dtype = DType::kBF16, .shape = views[norm].shape};
  absl::StatusOr<ModelWeights> bound = ModelWeights::Bind(c, views);
  ASSERT_FALSE(bound.ok());
  EXPECT_THAT(
      bound.status().message(),
      HasSubstr(
          "tensor '" + norm +
          "' has 1 non-finite value (NaN or Inf) among its 32, the first at element 4 (inf)"));
}

}  // namespace
}  // namespace egmla
