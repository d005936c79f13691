// CPU decode-step and prefill times (issue 13): the bundled model, and two layers of the paper's
// Base shapes (MHA, MLA-kv256, EG-MLA-kv64), at several contexts and batch sizes, alone and
// beside a busy process pinned to one core. Prints one Markdown table (docs/perf.md).
//
//   cpu_decode_bench [--repo DIR] [--iters N] [--quick]
//
// A decode step is Model::ForwardBatch of one new token per sequence over caches already
// holding `context` tokens (filled with random rows: the time does not depend on the values),
// without the lm_head (logits of no row), so that the figure is the layers'. Prefill is one
// 2,000-token prompt through Model::Forward, MLA-kv256 against EG-MLA-kv64 (the lm_head of every
// row included, the same for both). GFLOP/s counts the layers' weight multiply-adds and the
// attention arithmetic of DESIGN §6, ×2.
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/model.h"
#include "model/random_model.h"
#include "model/tensor_names.h"
#include "model/test_models.h"
#include "nlohmann/json.hpp"

namespace egmla {
namespace {

using Clock = std::chrono::steady_clock;

struct Case {
  std::string name;
  std::unique_ptr<Model> model;
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A random-weight model of `config_path` with `layers` layers (0 = as configured) and room for
// 4,096 positions.
std::unique_ptr<Model> RandomModel(const std::string& config_path, int layers) {
  nlohmann::json json = nlohmann::json::parse(ReadText(config_path));
  if (layers > 0) json["num_hidden_layers"] = layers;
  json["max_position_embeddings"] = 4096;
  absl::StatusOr<ModelConfig> config = ParseModelConfig(json.dump());
  if (!config.ok()) {
    std::cerr << config_path << ": " << config.status() << "\n";
    std::exit(1);
  }
  const auto weights = RandomWeights(*config, 1);
  absl::StatusOr<ModelWeights> bound =
      ModelWeights::Bind(*config, testing::F32Views(*config, weights));
  absl::StatusOr<std::unique_ptr<Model>> model =
      bound.ok() ? Model::FromWeights(*config, *std::move(bound)) : bound.status();
  if (!model.ok()) {
    std::cerr << config_path << ": " << model.status() << "\n";
    std::exit(1);
  }
  return *std::move(model);
}

// `batch` sequences whose contiguous caches hold `context` random tokens each.
struct Caches {
  std::vector<SequenceCache> caches;
  std::vector<KvStorage> storage;
};

Caches FillCaches(const Model& model, int64_t batch, int64_t context, std::mt19937& rng) {
  const CacheSpec spec = model.cache_spec();
  const int64_t width = spec.elements_per_token_per_layer;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Caches c;
  c.caches.resize(batch);
  c.storage.resize(batch);
  for (int64_t b = 0; b < batch; ++b) {
    SequenceCache& cache = c.caches[b];
    cache.layers.resize(model.config().num_hidden_layers);
    for (std::vector<float>& layer : cache.layers) {
      layer.resize((context + 1) * width);
      for (float& v : layer) v = normal(rng);
      c.storage[b].layers.push_back(layer.data());
    }
    cache.token_ids.resize(context + 1);
    for (int32_t& id : cache.token_ids)
      id = static_cast<int32_t>(rng() % model.config().vocab_size);
    if (model.keeps_token_ids()) c.storage[b].token_ids = cache.token_ids.data();
  }
  return c;
}

// Median milliseconds of one decode step (batch × 1 token at `context`).
double DecodeStepMs(const Model& model, int64_t batch, int64_t context, int iters) {
  std::mt19937 rng(7);
  Caches c = FillCaches(model, batch, context, rng);
  BatchInput input;
  for (int64_t b = 0; b < batch; ++b) {
    input.token_ids.push_back(static_cast<int32_t>(rng() % model.config().vocab_size));
    input.sequences.push_back(
        {.first_row = b, .num_new = 1, .num_past = context, .storage = &c.storage[b]});
  }
  std::vector<double> ms;
  for (int i = 0; i < iters + 1; ++i) {
    const auto start = Clock::now();
    if (!model.ForwardBatch(input).ok()) std::exit(2);
    if (i > 0)
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// One prompt of `tokens` tokens in one chunk, as the server runs it: every row through the
// layers, logits for the last row only.
double PrefillMs(const Model& model, int64_t tokens) {
  std::mt19937 rng(11);
  Caches c = FillCaches(model, 1, tokens - 1, rng);
  BatchInput input;
  for (int64_t i = 0; i < tokens; ++i) {
    input.token_ids.push_back(static_cast<int32_t>(rng() % model.config().vocab_size));
  }
  input.sequences.push_back({.first_row = 0,
                             .num_new = tokens,
                             .num_past = 0,
                             .storage = &c.storage[0],
                             .num_prompt = tokens});
  input.logit_rows = {tokens - 1};
  const auto start = Clock::now();
  if (!model.ForwardBatch(input).ok()) std::exit(2);
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Multiply-adds of the layers' weights per token, ×2: the dense part of a step's FLOPs.
double DenseFlopsPerToken(const ModelConfig& c) {
  double params = 0;
  for (const TensorSpec& spec : ExpectedTensors(c)) {
    if (spec.name.find("model.layers.") != 0) continue;
    if (spec.shape.size() == 2) params += static_cast<double>(spec.shape[0] * spec.shape[1]);
  }
  return 2 * params;
}

// Attention FLOPs per new token at `context` (DESIGN §6), all layers.
double AttentionFlopsPerToken(const ModelConfig& c, int64_t context) {
  const double n_h = static_cast<double>(c.num_attention_heads), L = c.num_hidden_layers;
  const double ctx = static_cast<double>(context);
  if (!c.is_latent()) return L * 4 * n_h * static_cast<double>(c.head_dim) * ctx;
  const double d_c = static_cast<double>(c.kv_lora_rank), d_r = c.qk_rope_head_dim;
  const double kv = static_cast<double>(c.qk_nope_head_dim + c.v_head_dim);
  if (c.is_eg_mla() && c.gate_placement == GatePlacement::kUpProjected) {
    // Recompute K and V of every visible token, then attend in the head dimension.
    return L * ctx * (2 * d_c * n_h * kv + 2 * n_h * (c.qk_nope_head_dim + d_r + c.v_head_dim));
  }
  return L * (2 * n_h * (2 * d_c + d_r) * ctx + 4 * n_h * c.qk_nope_head_dim * d_c);
}

// A child spinning on CPU 0 until killed.
pid_t StartBusyProcess() {
  const pid_t pid = fork();
  if (pid == 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    sched_setaffinity(0, sizeof(set), &set);
    volatile uint64_t spin = 0;
    while (true) spin = spin + 1;
  }
  return pid;
}

}  // namespace
}  // namespace egmla

int main(int argc, char** argv) {
  using namespace egmla;
  std::string repo = ".";
  int iters = 20;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--repo" && i + 1 < argc) {
      repo = argv[++i];
    } else if (arg == "--iters" && i + 1 < argc) {
      iters = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--quick") {
      quick = true;
    } else {
      std::cerr << "usage: cpu_decode_bench [--repo DIR] [--iters N] [--quick]\n";
      return 1;
    }
  }
  std::vector<Case> cases;
  {
    absl::StatusOr<std::unique_ptr<Model>> bundled = Model::Load(repo + "/models/egmla-kjv");
    if (!bundled.ok()) {
      std::cerr << bundled.status() << "\n";
      return 1;
    }
    cases.push_back({"bundled egmla-kjv (4 layers)", *std::move(bundled)});
  }
  for (const char* name : {"mha", "mla-kv256", "egmla-kv64"}) {
    cases.push_back({std::string("Base ") + name + " (2 layers)",
                     RandomModel(repo + "/configs/paper-base/" + name + ".json", 2)});
  }

  std::printf("| model | context | batch | alone ms | GFLOP/s | beside a busy core ms |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Case& c : cases) {
    const bool bundled = c.name.rfind("bundled", 0) == 0;
    const std::vector<int64_t> contexts =
        bundled ? std::vector<int64_t>{128, 255 - 1} : std::vector<int64_t>{512, 2048};
    for (int64_t context : contexts) {
      for (int64_t batch : {int64_t{1}, int64_t{8}}) {
        if (quick && batch == 8) continue;
        const double alone = DecodeStepMs(*c.model, batch, context, iters);
        const pid_t busy = StartBusyProcess();
        const double beside = DecodeStepMs(*c.model, batch, context, iters);
        kill(busy, SIGKILL);
        waitpid(busy, nullptr, 0);
        const ModelConfig& cfg = c.model->config();
        const double flops = static_cast<double>(batch) *
                             (DenseFlopsPerToken(cfg) + AttentionFlopsPerToken(cfg, context));
        std::printf("| %s | %lld | %lld | %.3f | %.1f | %.3f |\n", c.name.c_str(),
                    static_cast<long long>(context), static_cast<long long>(batch), alone,
                    flops / (alone * 1e6), beside);
        std::fflush(stdout);
      }
    }
  }
  std::printf("\n| prefill of 2,000 tokens (one sequence) | ms |\n|---|---|\n");
  for (const Case& c : cases) {
    if (c.name.rfind("Base", 0) != 0 || c.name.find("mla") == std::string::npos) continue;
    std::printf("| %s | %.0f |\n", c.name.c_str(), PrefillMs(*c.model, 2000));
    std::fflush(stdout);
  }
  return 0;
}
