#include "runner/make_executor.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/test_models.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;

std::string MessageOf(const absl::StatusOr<std::unique_ptr<Executor>>& made) {
  EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(made.status().message());
}

TEST(MakeExecutorTest, AutoAndCpuServeOnTheCpuWithTheCacheTheMemoryHolds) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[0]));
  const int64_t bytes_per_block = model->cache_spec().bytes_per_token() * 16;
  for (const char* device : {"auto", "cpu"}) {
    absl::StatusOr<std::unique_ptr<Executor>> made =
        MakeExecutor(*model, {.device = device, .kv_cache_memory_bytes = 10 * bytes_per_block + 1});
    ASSERT_TRUE(made.ok()) << made.status();
    EXPECT_EQ((*made)->info().device, "cpu");
    EXPECT_EQ((*made)->num_blocks(), 10);
    EXPECT_EQ((*made)->block_size(), 16);
  }
  absl::StatusOr<std::unique_ptr<Executor>> fixed =
      MakeExecutor(*model, {.num_kv_blocks = 3, .block_size = 4});
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ((*fixed)->num_blocks(), 3);
}

TEST(MakeExecutorTest, RefusesWhatNoBuiltRunnerDoesNamingTheFlag) {
  auto model = testing::MakeTestModel(testing::TestConfig(testing::TestVariants()[0]));
  EXPECT_THAT(MessageOf(MakeExecutor(*model, {.device = "tpu"})), HasSubstr("--device: 'tpu'"));
  EXPECT_THAT(MessageOf(MakeExecutor(*model, {.device = "cuda"})), HasSubstr("--device: cuda"));
  EXPECT_THAT(MessageOf(MakeExecutor(*model, {.dtype = "bf16"})), HasSubstr("--dtype: 'bf16'"));
  EXPECT_THAT(MessageOf(MakeExecutor(*model, {.kv_cache_dtype = "f16"})),
              HasSubstr("--kv-cache-dtype: 'f16'"));
  EXPECT_THAT(MessageOf(MakeExecutor(*model, {.kv_cache_memory_bytes = 10})),
              HasSubstr("--kv-cache-memory: 10 bytes hold no block"));
}

}  // namespace
}  // namespace egmla
