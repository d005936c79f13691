#include "model/config.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "common/test_fifo.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;

// The paper's Base eg_mla model.
Json BaseEgMla() {
  return Json::parse(R"({
    "architectures": ["EgMlaForCausalLM"], "torch_dtype": "bfloat16",
    "model_type": "egmla", "attention_type": "eg_mla",
    "vocab_size": 50257, "hidden_size": 768, "intermediate_size": 3072,
    "num_hidden_layers": 12, "num_attention_heads": 12,
    "q_lora_rank": null, "kv_lora_rank": 64,
    "qk_nope_head_dim": 64, "qk_rope_head_dim": 64, "v_head_dim": 64,
    "gate_embedding_dim": 64, "bos_token_id": 50256, "eos_token_id": 50256
  })");
}

Json BaseMla() {
  Json j = BaseEgMla();
  j["attention_type"] = "mla";
  j.erase("gate_embedding_dim");
  return j;
}

Json BaseMha() {
  return Json::parse(R"({
    "attention_type": "mha", "vocab_size": 1000, "hidden_size": 256,
    "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4
  })");
}

absl::StatusOr<ModelConfig> Parse(const Json& j) { return ParseModelConfig(j.dump()); }

TEST(ModelConfigTest, PaperBaseEgMla) {
  absl::StatusOr<ModelConfig> c = Parse(BaseEgMla());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->attention_type, AttentionType::kEgMla);
  EXPECT_TRUE(c->is_eg_mla());
  EXPECT_TRUE(c->is_latent());
  EXPECT_FALSE(c->q_lora_rank.has_value());
  EXPECT_EQ(c->kv_lora_rank, 64);
  EXPECT_EQ(c->gate_embedding_dim, 64);
  EXPECT_EQ(c->gate_placement, GatePlacement::kUpProjected);
  EXPECT_EQ(c->gate_dim(), 1536);  // 12 * (64 + 64)
  EXPECT_EQ(c->num_gate_groups(), 12);
  EXPECT_EQ(c->qk_head_dim(), 128);
  EXPECT_EQ(c->value_head_dim(), 64);
  EXPECT_EQ(c->bos_token_id, 50256);
  EXPECT_THAT(c->eos_token_ids, ::testing::ElementsAre(50256));
  EXPECT_EQ(AttentionTypeName(c->attention_type), "eg_mla");
}

TEST(ModelConfigTest, EgMlaLatentAndGroups) {
  Json j = BaseEgMla();
  j["gate_placement"] = "latent";
  j["gate_layer_group_size"] = 5;
  absl::StatusOr<ModelConfig> c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->gate_placement, GatePlacement::kLatent);
  EXPECT_EQ(c->gate_dim(), 64);
  EXPECT_EQ(c->num_gate_groups(), 3);  // ceil(12 / 5)
}

TEST(ModelConfigTest, MlaWithoutAndWithQLora) {
  absl::StatusOr<ModelConfig> c = Parse(BaseMla());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->attention_type, AttentionType::kMla);
  EXPECT_FALSE(c->q_lora_rank.has_value());
  EXPECT_EQ(c->gate_dim(), 0);
  EXPECT_EQ(c->num_gate_groups(), 0);
  EXPECT_EQ(AttentionTypeName(c->attention_type), "mla");

  Json j = BaseMla();
  j["q_lora_rank"] = 384;
  c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->q_lora_rank, 384);
}

TEST(ModelConfigTest, MhaDefaultsAndExplicitHeadDim) {
  absl::StatusOr<ModelConfig> c = Parse(BaseMha());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->attention_type, AttentionType::kMha);
  EXPECT_FALSE(c->is_latent());
  EXPECT_EQ(c->head_dim, 64);
  EXPECT_EQ(c->qk_head_dim(), 64);
  EXPECT_EQ(c->value_head_dim(), 64);
  EXPECT_EQ(c->gate_dim(), 0);
  EXPECT_EQ(AttentionTypeName(c->attention_type), "mha");

  Json j = BaseMha();
  j["num_attention_heads"] = 3;  // 256 % 3 != 0, but head_dim is given
  j["head_dim"] = 32;
  c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->head_dim, 32);
}

TEST(ModelConfigTest, DefaultsApplied) {
  absl::StatusOr<ModelConfig> c = Parse(BaseMha());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->gate_layer_group_size, 1);
  EXPECT_EQ(c->gate_placement, GatePlacement::kUpProjected);
  EXPECT_DOUBLE_EQ(c->gate_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c->rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c->rope_theta, 10000.0);
  EXPECT_TRUE(c->rope_interleave);
  EXPECT_EQ(c->max_position_embeddings, 2048);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_FALSE(c->bos_token_id.has_value());
  EXPECT_TRUE(c->eos_token_ids.empty());
}

TEST(ModelConfigTest, ExplicitOptionals) {
  Json j = BaseMha();
  j["rms_norm_eps"] = 1e-5;
  j["rope_theta"] = 500000;  // an integer is fine for a float field
  j["rope_interleave"] = false;
  j["max_position_embeddings"] = 4096;
  j["tie_word_embeddings"] = true;
  j["rope_scaling"] = nullptr;  // null is accepted
  j["eos_token_id"] = {1, 2, 999};
  j["bos_token_id"] = nullptr;
  absl::StatusOr<ModelConfig> c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c->rope_theta, 500000.0);
  EXPECT_FALSE(c->rope_interleave);
  EXPECT_EQ(c->max_position_embeddings, 4096);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_FALSE(c->bos_token_id.has_value());
  EXPECT_THAT(c->eos_token_ids, ::testing::ElementsAre(1, 2, 999));

  j["eos_token_id"] = 7;
  c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->eos_token_ids, ::testing::ElementsAre(7));
  j["eos_token_id"] = nullptr;
  c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->eos_token_ids.empty());
}

struct BadCase {
  std::string name;
  std::string base;        // "mha" | "mla" | "eg_mla"
  std::string field;       // the key to set or erase
  std::string value;       // JSON text; empty = erase the key
  std::string expected;    // substring of the error message
  std::string named = "";  // the field the error names, when not `field`
};

// Keeps ctest's test names readable (gtest would otherwise dump the struct's bytes).
void PrintTo(const BadCase& bad, std::ostream* os) { *os << bad.name; }

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, ErrorNamesField) {
  const BadCase& bad = GetParam();
  Json j = bad.base == "mha" ? BaseMha() : bad.base == "mla" ? BaseMla() : BaseEgMla();
  if (bad.value.empty()) {
    j.erase(bad.field);
  } else {
    j[bad.field] = Json::parse(bad.value);
  }
  absl::StatusOr<ModelConfig> c = Parse(j);
  ASSERT_FALSE(c.ok()) << bad.name;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              HasSubstr("config field '" + (bad.named.empty() ? bad.field : bad.named) + "'"));
  EXPECT_THAT(c.status().message(), HasSubstr(bad.expected));
}

INSTANTIATE_TEST_SUITE_P(
    AllRules, BadConfigTest,
    ::testing::Values(
        BadCase{"ModelType", "eg_mla", "model_type", R"("llama")", "egmla"},
        BadCase{"ModelTypeInt", "eg_mla", "model_type", "3", "expected a string"},
        BadCase{"AttentionMissing", "eg_mla", "attention_type", "", "missing (required)"},
        BadCase{"AttentionUnknown", "eg_mla", "attention_type", R"("gqa")", "gqa"},
        BadCase{"VocabMissing", "mha", "vocab_size", "", "missing"},
        BadCase{"HiddenString", "mha", "hidden_size", R"("abc")",
                R"(expected an integer, got "abc")"},
        BadCase{"HiddenFloat", "mha", "hidden_size", "1.5", "expected an integer"},
        BadCase{"HiddenBool", "mha", "hidden_size", "true", "expected an integer"},
        BadCase{"HiddenHuge", "mha", "hidden_size", "18446744073709551615", "out of range"},
        // Found by fuzz/config_json_fuzz.cc: sizes this large overflowed num_gate_groups().
        BadCase{"LayersTooLarge", "eg_mla", "num_hidden_layers", "4611686018427387904",
                "must be at most 16777216, got 4611686018427387904"},
        BadCase{"HeadsTooLarge", "eg_mla", "num_attention_heads", "16777217", "at most 16777216"},
        BadCase{"IntermediateZero", "mla", "intermediate_size", "0", "positive"},
        BadCase{"LayersNegative", "mla", "num_hidden_layers", "-2", "positive"},
        BadCase{"HeadsMissing", "eg_mla", "num_attention_heads", "", "missing"},
        BadCase{"HeadsArray", "eg_mla", "num_attention_heads", "[12]", "an array"},
        BadCase{"HeadDimNotDivisible", "mha", "num_attention_heads", "3", "divisible", "head_dim"},
        BadCase{"HeadDimOdd", "mha", "head_dim", "33", "even"},
        BadCase{"HeadDimZero", "mha", "head_dim", "0", "positive"},
        BadCase{"KvLoraNegative", "mla", "kv_lora_rank", "-3",
                "must be a positive integer, got -3"},
        BadCase{"KvLoraMissing", "eg_mla", "kv_lora_rank", "", "missing"},
        BadCase{"NopeMissing", "mla", "qk_nope_head_dim", "", "missing"},
        BadCase{"RopeMissing", "mla", "qk_rope_head_dim", "", "missing"},
        BadCase{"RopeOdd", "eg_mla", "qk_rope_head_dim", "63", "even"},
        BadCase{"VHeadString", "mla", "v_head_dim", R"("64")", "expected an integer"},
        BadCase{"GateEmbedMissing", "eg_mla", "gate_embedding_dim", "", "missing"},
        BadCase{"GateEmbedZero", "eg_mla", "gate_embedding_dim", "0", "positive"},
        BadCase{"QLoraZero", "mla", "q_lora_rank", "0", "positive"},
        BadCase{"QLoraString", "eg_mla", "q_lora_rank", R"("none")", "expected an integer"},
        BadCase{"GroupSizeZero", "eg_mla", "gate_layer_group_size", "0", "positive"},
        BadCase{"Placement", "eg_mla", "gate_placement", R"("sideways")", "sideways"},
        BadCase{"PlacementInt", "eg_mla", "gate_placement", "1", "expected a string"},
        BadCase{"GateEpsZero", "eg_mla", "gate_norm_eps", "0", "positive"},
        BadCase{"GateEpsString", "eg_mla", "gate_norm_eps", R"("1e-5")", "expected a number"},
        BadCase{"RmsEpsNegative", "mha", "rms_norm_eps", "-1e-6", "positive"},
        BadCase{"RopeThetaZero", "mha", "rope_theta", "0", "positive"},
        BadCase{"RopeThetaBool", "mha", "rope_theta", "false", "expected a number"},
        BadCase{"InterleaveInt", "mha", "rope_interleave", "1", "true or false"},
        BadCase{"MaxPosZero", "mha", "max_position_embeddings", "0", "positive"},
        BadCase{"TieString", "mha", "tie_word_embeddings", R"("yes")", "true or false"},
        BadCase{"BosTooLarge", "eg_mla", "bos_token_id", "50257", "outside"},
        BadCase{"BosNegative", "eg_mla", "bos_token_id", "-1", "outside"},
        BadCase{"BosString", "eg_mla", "bos_token_id", R"("<s>")", "expected an integer"},
        BadCase{"EosTooLarge", "eg_mla", "eos_token_id", "99999", "outside"},
        BadCase{"EosListBad", "eg_mla", "eos_token_id", "[1, 99999]", "outside"},
        BadCase{"EosListString", "eg_mla", "eos_token_id", R"([1, "x"])", "expected an integer"},
        BadCase{"EosObject", "eg_mla", "eos_token_id", "{}", "an object"},
        BadCase{"EosBool", "eg_mla", "eos_token_id", "true", "expected an integer"},
        BadCase{"RopeScaling", "eg_mla", "rope_scaling", R"({"type": "yarn", "factor": 4})",
                "not supported yet"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST(ModelConfigTest, NotJsonOrNotObject) {
  for (const char* text : {"", "{", "{\"a\": 1,}", "nul", "{\"a\": \"\xff\"}"}) {
    absl::StatusOr<ModelConfig> c = ParseModelConfig(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_THAT(c.status().message(), HasSubstr("config.json is not valid JSON")) << text;
  }
  for (const char* text : {"[]", "3", "null", "\"x\""}) {
    absl::StatusOr<ModelConfig> c = ParseModelConfig(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ModelConfigTest, DeeplyNestedInputDoesNotCrash) {
  std::string deep =
      "{\"attention_type\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  absl::StatusOr<ModelConfig> c = ParseModelConfig(deep);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("attention_type"));
}

TEST(ModelConfigTest, MutatedTextNeverCrashes) {
  const std::string text = BaseEgMla().dump();
  std::mt19937 rng(42);
  const char kBytes[] = "0123456789-[]{}\",:. eEnul\xff";
  for (int trial = 0; trial < 5000; ++trial) {
    std::string mutated = text;
    for (int k = 0; k < 1 + trial % 3; ++k) {
      mutated[rng() % mutated.size()] = kBytes[rng() % (sizeof(kBytes) - 1)];
    }
    absl::StatusOr<ModelConfig> c = ParseModelConfig(mutated);
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(ModelConfigTest, LoadFromFile) {
  const std::string dir = ::testing::TempDir();
  const std::string good = dir + "/egmla_config_good.json";
  const std::string bad = dir + "/egmla_config_bad.json";
  std::ofstream(good) << BaseEgMla().dump();
  Json j = BaseEgMla();
  j["kv_lora_rank"] = -3;
  std::ofstream(bad) << j.dump();

  absl::StatusOr<ModelConfig> c = LoadModelConfig(good);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->gate_dim(), 1536);

  c = LoadModelConfig(bad);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              HasSubstr(bad + ": config field 'kv_lora_rank': must be a positive integer, got -3"));

  c = LoadModelConfig(dir + "/egmla_config_missing.json");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("egmla_config_missing.json"));

  c = LoadModelConfig(dir);  // a directory
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr(dir + ": is a directory"));

  std::remove(good.c_str());
  std::remove(bad.c_str());
}

// A FIFO nobody writes to used to block start-up forever in open(2).
TEST(ModelConfigTest, FifoIsRefusedWithoutBlocking) {
  const std::string fifo = ::testing::TempDir() + "/egmla_config_fifo_" + std::to_string(getpid());
  std::remove(fifo.c_str());
  ASSERT_TRUE(testing::MakeFifo(fifo));
  absl::StatusOr<ModelConfig> c =
      testing::CallUnblockingFifo(fifo, [&] { return LoadModelConfig(fifo); });
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr(fifo + ": is a FIFO"));
  std::remove(fifo.c_str());
}

}  // namespace
}  // namespace egmla
