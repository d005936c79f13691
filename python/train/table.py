"""Prints the markdown tables of docs/models.md from a run_table.sh folder (issue 21): one row per
finished model (NAME.eval.json: held-out loss of NAME/best), the held-out loss at every
evaluation (NAME/train_log.json, or NAME.train_log.json beside the eval JSON as committed in
docs/models/t3000), and the equal-cache pairs (EG-MLA minus MLA, per seed).

    /usr/bin/python3 python/train/table.py [build-train/t3000 | docs/models/t3000]
"""
import json
import math
import os
import sys

# NAME, label, in the order of the table.
ROWS = [
    ("mla_kv16", "MLA kv16, seed 0"),
    ("egmla_kv16", "EG-MLA kv16, seed 0"),
    ("mla_kv16_seed1", "MLA kv16, seed 1"),
    ("egmla_kv16_seed1", "EG-MLA kv16, seed 1"),
    ("mla_kv64", "MLA kv64, seed 0"),
    ("egmla_kv64", "EG-MLA kv64, seed 0"),
    ("mla_kv64_seed1", "MLA kv64, seed 1"),
    ("egmla_kv64_seed1", "EG-MLA kv64, seed 1"),
    ("mha", "MHA, seed 0"),
    ("egmla_latent_kv16", "EG-MLA kv16, gate on the latent, seed 0"),
]
# (EG-MLA, MLA) with the same KV elements per token.
PAIRS = [("egmla_kv16", "mla_kv16"), ("egmla_kv16_seed1", "mla_kv16_seed1"),
         ("egmla_kv64", "mla_kv64"), ("egmla_kv64_seed1", "mla_kv64_seed1"),
         ("egmla_latent_kv16", "mla_kv16")]


def load(root, name):
    path = os.path.join(root, name + ".eval.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        result = json.load(f)
    log_path = os.path.join(root, name, "train_log.json")  # a run_table.sh folder
    if not os.path.exists(log_path):
        log_path = os.path.join(root, name + ".train_log.json")  # docs/models/t3000
    with open(log_path) as f:
        result["log"] = json.load(f)
    return result


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "build-train/t3000"
    runs = {name: load(root, name) for name, _ in ROWS}
    done = [(name, label) for name, label in ROWS if runs[name]]
    print("| model | held-out loss | perplexity | best step / steps | KV elements / token | "
          "KV bytes / token f32 | non-embedding params | gate-embedding params | total params "
          "| train wall / CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, label in done:
        r = runs[name]
        kv, p, t = r["kv_cache"], r["params"], r["training"]
        log = r["log"]
        print("| %s | **%.4f** | %.2f | %d / %d | %s | %s | %s | %s | %s | %.0f s / %.0f s |" % (
            label, r["heldout_loss"], r["heldout_ppl"], t["steps"], t["schedule_steps"],
            "{:,}".format(kv["elements_per_token"]), "{:,}".format(kv["bytes_per_token_f32"]),
            "{:,}".format(p["non_embedding"]),
            "{:,}".format(p["gate_embeddings"]) if p["gate_embeddings"] else "—",
            "{:,}".format(p["total"]), log["train_seconds"], log["train_cpu_seconds"]))
    print()
    steps = sorted({e["step"] for name, _ in done for e in runs[name]["log"]["evals"]})
    print("| held-out loss at step | " + " | ".join(str(s) for s in steps) + " |")
    print("|---|" + "---|" * len(steps))
    for name, label in done:
        at = {e["step"]: e["heldout_loss"] for e in runs[name]["log"]["evals"]}
        print("| %s | %s |" % (label, " | ".join("%.4f" % at[s] if s in at else "" for s in steps)))
    print()
    for eg, mla in PAIRS:
        if runs[eg] and runs[mla]:
            d = runs[eg]["heldout_loss"] - runs[mla]["heldout_loss"]
            print("%s - %s: %+.4f nats (perplexity x%.3f)" % (eg, mla, d, math.exp(d)))


if __name__ == "__main__":
    main()
