// The paper's Base configurations (DESIGN §3.2) must give exactly its per-token cache counts.
#include "model/kv_size.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

ModelConfig Base(const std::string& attention, const std::string& extra) {
  const std::string json =
      absl::StrCat(R"({"attention_type": ")", attention,
                   R"(", "vocab_size": 50257, "hidden_size": 768, "intermediate_size": 2048,
          "num_hidden_layers": 12, "num_attention_heads": 12, "qk_nope_head_dim": 64,
          "qk_rope_head_dim": 64, "v_head_dim": 64)",
                   extra, "}");
  absl::StatusOr<ModelConfig> config = ParseModelConfig(json);
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

TEST(KvSizeTest, PaperBaseElementsPerToken) {
  EXPECT_EQ(MakeCacheSpec(Base("mha", R"(, "head_dim": 64)"), DType::kBF16).elements_per_token(),
            18432);
  EXPECT_EQ(
      MakeCacheSpec(Base("mla", R"(, "kv_lora_rank": 256)"), DType::kBF16).elements_per_token(),
      3840);
  EXPECT_EQ(MakeCacheSpec(Base("eg_mla", R"(, "kv_lora_rank": 64, "gate_embedding_dim": 64)"),
                          DType::kBF16)
                .elements_per_token(),
            1536);
  EXPECT_EQ(MakeCacheSpec(Base("eg_mla", R"(, "kv_lora_rank": 16, "gate_embedding_dim": 64)"),
                          DType::kBF16)
                .elements_per_token(),
            960);
}

TEST(KvSizeTest, BytesCountTheTokenIdAndLayerNormStatsOfTheUpProjectedGate) {
  const ModelConfig up = Base("eg_mla", R"(, "kv_lora_rank": 64, "gate_embedding_dim": 64)");
  // Issue 15: the paper's Base EG-MLA-kv64 at bf16 is 3072 + 4 + 12 layers × 8 = 3172 bytes.
  EXPECT_EQ(MakeCacheSpec(up, DType::kBF16).bytes_per_token(), 3172);
  EXPECT_EQ(MakeCacheSpec(up, DType::kF32).bytes_per_token(), 1536 * 4 + 4 + 12 * 8);
  EXPECT_EQ(MakeCacheSpec(up, DType::kBF16).elements_per_token(), 1536);  // the paper's count
  const ModelConfig latent = Base(
      "eg_mla", R"(, "kv_lora_rank": 64, "gate_embedding_dim": 64, "gate_placement": "latent")");
  EXPECT_EQ(MakeCacheSpec(latent, DType::kBF16).bytes_per_token(), 1536 * 2);
  const ModelConfig mla = Base("mla", R"(, "kv_lora_rank": 256)");
  EXPECT_EQ(MakeCacheSpec(mla, DType::kBF16).bytes_per_token(), 3840 * 2);
}

TEST(KvSizeTest, GateTableBytes) {
  const ModelConfig up = Base("eg_mla", R"(, "kv_lora_rank": 64, "gate_embedding_dim": 64)");
  EXPECT_EQ(GateTableBytes(up, DType::kBF16, GateMode::kTable), int64_t{12} * 50257 * 1536 * 2);
  EXPECT_EQ(GateTableBytes(up, DType::kBF16, GateMode::kOnTheFly), 0);
  EXPECT_EQ(GateTableBytes(Base("mla", R"(, "kv_lora_rank": 256)"), DType::kBF16, GateMode::kTable),
            0);
}

}  // namespace
}  // namespace egmla
