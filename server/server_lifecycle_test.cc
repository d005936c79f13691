// Whole servers started and stopped in-process while a client scrapes /metrics without pause:
// the scrape reads the engine and the service context, so the metrics listener must start after
// them and stop before them (issue 12: it used to stop last, in ~Metrics). Meant for `make
// sanitize`, where a scrape of freed memory is an AddressSanitizer error.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/config.h"
#include "model/random_model.h"
#include "server/loopback_test_util.h"
#include "server/server.h"

namespace egmla {
namespace {

constexpr char kConfig[] = R"({"model_type": "egmla", "attention_type": "eg_mla",
    "vocab_size": 61, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
    "num_attention_heads": 4, "max_position_embeddings": 256, "kv_lora_rank": 6,
    "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 6, "gate_embedding_dim": 5,
    "eos_token_id": 2})";

class ServerLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/egmla_lifecycle_", getpid());
    absl::StatusOr<ModelConfig> config = ParseModelConfig(kConfig);
    ASSERT_TRUE(config.ok()) << config.status();
    ASSERT_TRUE(WriteRandomModel(*config, kConfig, 0, DType::kF32, dir_).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ServerOptions Options(int metrics_port) const {
    return {.model_dir = dir_,
            .host = "127.0.0.1",
            .port = 0,
            .metrics_port = metrics_port,
            .http_port = 0,  // off: parallel tests would share a fixed port
            .num_kv_blocks = 32,
            .block_size = 16,
            .drain_timeout = absl::Seconds(1)};
  }

  std::string dir_;
};

TEST_F(ServerLifecycleTest, ScrapesThroughTwentyStartsAndStopsReadNothingFreed) {
  absl::StatusOr<std::unique_ptr<Server>> first = Server::Start(Options(0));
  ASSERT_TRUE(first.ok()) << first.status();
  const int metrics_port = (*first)->metrics_port();
  ASSERT_GT(metrics_port, 0);
  first->reset();

  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::thread scraper([&] {
    while (!stop) {
      if (HttpGet(metrics_port, "/metrics").find("egmla_requests_running") != std::string::npos) {
        ++served;
      }
    }
  });
  for (int cycle = 0; cycle < 20; ++cycle) {
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(Options(metrics_port));
    ASSERT_TRUE(server.ok()) << "cycle " << cycle << ": " << server.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (cycle % 5 == 4) (*server)->Drain();
    server->reset();
  }
  stop = true;
  scraper.join();
  EXPECT_GT(served.load(), 0);
}

}  // namespace
}  // namespace egmla
