// CPU decode-step and prefill times (issues 13, 15): the bundled model, and two layers of the
// paper's Base shapes (MHA, MLA-kv256, EG-MLA-kv64), at several contexts and batch sizes, alone
// and beside a busy process pinned to one core; then the EG-MLA decode table: one decode step of
// MLA-kv256, EG-MLA-kv64 recompute, EG-MLA-kv64 grouped and MHA at contexts 512 / 2K / 8K, batch
// 1 and 8, the cached token ids taken from English text (the GPT-2 tokenizer of tests/data over
// /usr/share/common-licenses) or uniformly random (the worst case for grouping), with the
// measured distinct-id fraction U/T. Prints Markdown tables (docs/perf.md).
//
//   cpu_decode_bench [--repo DIR] [--iters N] [--quick] [--only decode|egmla]
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

#include "bench/bench_models.h"
#include "model/config.h"
#include "model/model.h"
#include "model/random_model.h"
#include "model/tensor_names.h"
#include "model/test_models.h"
#include "model/token_groups.h"
#include "nlohmann/json.hpp"
#include "tokenizer/tokenizer.h"

namespace egmla {
namespace {

using Clock = std::chrono::steady_clock;

struct Case {
  std::string name;
  std::unique_ptr<Model> model;
};

// `batch` sequences whose contiguous caches hold `context` random tokens each.
struct Caches {
  std::vector<SequenceCache> caches;
  std::vector<KvStorage> storage;
};

// Sequence b's cached ids: `ids` from offset b * ids.size() / batch (wrapping), or random.
Caches FillCaches(const Model& model, int64_t batch, int64_t context, std::mt19937& rng,
                  const std::vector<int32_t>& ids = {}) {
  const CacheSpec spec = model.cache_spec();
  const int64_t width = spec.elements_per_token_per_layer;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> rstd(0.5f, 2.0f);
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
    const size_t offset = ids.empty() ? 0 : b * ids.size() / batch;
    for (size_t j = 0; j < cache.token_ids.size(); ++j) {
      cache.token_ids[j] = ids.empty() ? static_cast<int32_t>(rng() % model.config().vocab_size)
                                       : ids[(offset + j) % ids.size()];
    }
    if (!model.keeps_token_ids()) continue;
    c.storage[b].token_ids = cache.token_ids.data();
    cache.groups.Append(cache.token_ids);
    cache.ln_stats.resize(model.config().num_hidden_layers);
    for (std::vector<float>& stats : cache.ln_stats) {
      stats.resize((context + 1) * 2);
      for (size_t k = 0; k < stats.size(); k += 2) {
        stats[k] = normal(rng);
        stats[k + 1] = rstd(rng);
      }
      c.storage[b].ln_stats.push_back(stats.data());
    }
  }
  return c;
}

// Median milliseconds of one decode step (batch × 1 token at `context`); the cached ids as
// FillCaches takes them, the new token the id that follows. `distinct` gets the mean U/T.
double DecodeStepMs(const Model& model, int64_t batch, int64_t context, int iters,
                    const std::vector<int32_t>& ids = {}, double* distinct = nullptr) {
  std::mt19937 rng(7);
  Caches c = FillCaches(model, batch, context, rng, ids);
  BatchInput input;
  double u_over_t = 0;
  for (int64_t b = 0; b < batch; ++b) {
    SequenceCache& cache = c.caches[b];
    input.token_ids.push_back(cache.token_ids[context]);
    input.sequences.push_back({.first_row = b,
                               .num_new = 1,
                               .num_past = context,
                               .storage = &c.storage[b],
                               .groups = model.keeps_token_ids() ? &cache.groups : nullptr});
    TokenGroups groups;
    groups.Append(cache.token_ids);
    u_over_t += static_cast<double>(groups.num_distinct()) / groups.num_tokens() / batch;
  }
  if (distinct != nullptr) *distinct = u_over_t;
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

// Attention FLOPs per new token at `context` (DESIGN §6), all layers; for the grouped EG-MLA
// decode (EGMLA_DECODE.md §2) with `distinct` = U/T of the context.
double AttentionFlopsPerToken(const ModelConfig& c, int64_t context, EgMlaDecode decode,
                              double distinct) {
  const double n_h = static_cast<double>(c.num_attention_heads), L = c.num_hidden_layers;
  const double ctx = static_cast<double>(context);
  if (!c.is_latent()) return L * 4 * n_h * static_cast<double>(c.head_dim) * ctx;
  const double d_c = static_cast<double>(c.kv_lora_rank), d_r = c.qk_rope_head_dim;
  const double kv = static_cast<double>(c.qk_nope_head_dim + c.v_head_dim);
  const bool up_projected = c.is_eg_mla_up_projected();
  if (up_projected && decode == EgMlaDecode::kGrouped) {
    // Per token: the latent score dot, the rope dot, the latent accumulation; per distinct id:
    // q̃ (d_nope × d_c) and W_UV (d_v × d_c) per head.
    return L * (ctx * n_h * 2 * (2 * d_c + d_r) + distinct * ctx * n_h * 2 * kv * d_c);
  }
  if (up_projected) {
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

// Issue 15's table: one decode step of two layers of the paper's Base shapes.
void EgMlaDecodeTable(const std::string& repo, int iters, bool quick) {
  const std::vector<int32_t> text = EnglishTextIds(repo);
  std::vector<Case> cases;
  cases.push_back({"MLA-kv256", RandomModel(repo + "/configs/paper-base/mla-kv256.json", 2)});
  cases.push_back(
      {"EG-MLA-kv64 recompute", RandomModel(repo + "/configs/paper-base/egmla-kv64.json", 2,
                                            {.eg_mla_decode = EgMlaDecode::kRecompute})});
  cases.push_back(
      {"EG-MLA-kv64 grouped", RandomModel(repo + "/configs/paper-base/egmla-kv64.json", 2,
                                          {.eg_mla_decode = EgMlaDecode::kGrouped})});
  cases.push_back({"MHA", RandomModel(repo + "/configs/paper-base/mha.json", 2)});
  std::printf("\n%zu English text tokens (GPT-2 BPE); gate mode table\n\n", text.size());
  std::printf("| context | batch | cached ids | U/T | model | step ms | GFLOP/s |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (int64_t context : {int64_t{512}, int64_t{2048}, int64_t{8192}}) {
    for (int64_t batch : {int64_t{1}, int64_t{8}}) {
      if (quick && (batch == 8 || context == 8192)) continue;
      // Fewer steps where one takes long: the recompute path at 8K is seconds per step.
      const int steps = std::max(1, static_cast<int>(iters * 512 / context));
      for (const bool english : {true, false}) {
        if (english && text.empty()) continue;
        for (const Case& c : cases) {
          const bool ids_matter = c.model->keeps_token_ids();
          if (!english && !ids_matter) continue;  // MLA and MHA do not read ids
          double distinct = 0;
          std::mt19937 rng(3);
          std::vector<int32_t> random_ids(text.size() > 0 ? text.size() : 65536);
          for (int32_t& id : random_ids) id = static_cast<int32_t>(rng() % 50257);
          const double ms =
              DecodeStepMs(*c.model, batch, context, steps, english ? text : random_ids, &distinct);
          const ModelConfig& cfg = c.model->config();
          const double flops =
              static_cast<double>(batch) *
              (DenseFlopsPerToken(cfg) +
               AttentionFlopsPerToken(cfg, context, c.model->options().eg_mla_decode, distinct));
          std::printf("| %lld | %lld | %s | %.2f | %s | %.2f | %.1f |\n",
                      static_cast<long long>(context), static_cast<long long>(batch),
                      english ? "English" : "random", distinct, c.name.c_str(), ms,
                      flops / (ms * 1e6));
          std::fflush(stdout);
        }
      }
    }
  }
}

}  // namespace
}  // namespace egmla

int main(int argc, char** argv) {
  using namespace egmla;
  std::string repo = ".";
  int iters = 20;
  bool quick = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--repo" && i + 1 < argc) {
      repo = argv[++i];
    } else if (arg == "--iters" && i + 1 < argc) {
      iters = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--quick") {
      quick = true;
    } else if (arg == "--only" && i + 1 < argc &&
               (std::string(argv[i + 1]) == "decode" || std::string(argv[i + 1]) == "egmla")) {
      only = argv[++i];
    } else {
      std::cerr << "usage: cpu_decode_bench [--repo DIR] [--iters N] [--quick] "
                   "[--only decode|egmla]\n";
      return 1;
    }
  }
  if (only == "egmla") {
    EgMlaDecodeTable(repo, iters, quick);
    return 0;
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
        const double flops =
            static_cast<double>(batch) *
            (DenseFlopsPerToken(cfg) +
             AttentionFlopsPerToken(cfg, context, c.model->options().eg_mla_decode, 1.0));
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
  if (only.empty()) EgMlaDecodeTable(repo, iters, quick);
  return 0;
}
