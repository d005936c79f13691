"""Held-out loss, KV-cache size and parameter counts of a checkpoint: one row of the paper's
Table 1 in miniature (docs/models.md).

    /usr/bin/python3 python/train/evaluate.py MODEL_DIR [--data build-train/data] [--json OUT]

Held-out loss: the held-out chapters of prepare_data.py (heldout_chapters.txt in --data), each
encoded with MODEL_DIR/tokenizer.model (`spm_encode --output_format=id`) and followed by eos,
concatenated in order, cut into consecutive non-overlapping windows of 256 tokens (the last one
shorter); each window is scored on its own from position 0 by the PyTorch reference (fp32,
python/egmla_ref/model.py) and the loss is the mean next-token cross entropy in nats over every
predicted token (a window's first token is context only). Perplexity = exp(loss).

KV cache per token as `egmla kv-size` counts it (DESIGN 3.2): elements = layers x
(kv_lora_rank + qk_rope_head_dim) for mla / eg_mla, layers x 2 x heads x head_dim for mha;
bytes at f32 and bf16, eg_mla (up_projected) adding its 4-byte token id once per token.

Parameters: token embeddings (embed_tokens + lm_head), gate embeddings (eg_mla's lookup
tables, apart), non-embedding (everything else: attention incl. gate up-projections and gate
norms, MLP, norms) and totals.
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import common  # noqa: E402
from egmla_ref import checkpoint  # noqa: E402


def heldout_stream(model_dir, data_dir, eos_id):
    tokenizer = os.path.join(model_dir, "tokenizer.model")
    ids = []
    with open(os.path.join(data_dir, "heldout_chapters.txt")) as f:
        for line in f:
            ids.extend(common.spm_encode(tokenizer, line))
            ids.append(eos_id)
    return torch.tensor(ids, dtype=torch.long)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("--data", default="build-train/data")
    parser.add_argument("--json", help="also write the result here")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config, weights = checkpoint.read_checkpoint(args.model_dir)
    stream = heldout_stream(args.model_dir, args.data, config["eos_token_id"])
    loss, count = common.stream_loss(config, weights, stream)
    dtypes = sorted({info[0] for info in checkpoint.read_safetensors_raw(
        os.path.join(args.model_dir, checkpoint.SINGLE_NAME)).values()})
    result = {
        "model_dir": args.model_dir,
        "attention_type": config["attention_type"],
        "kv_lora_rank": config.get("kv_lora_rank"),
        "heldout_loss": loss,
        "heldout_ppl": math.exp(loss),
        "heldout_tokens_predicted": count,
        "kv_cache": common.kv_per_token(config),
        "params": common.param_counts(config),
        "stored_dtypes": dtypes,
        "safetensors_bytes": os.path.getsize(os.path.join(args.model_dir, checkpoint.SINGLE_NAME)),
    }
    log_path = os.path.join(args.model_dir, "train_log.json")
    if os.path.exists(log_path):
        log = common.read_json(log_path)
        # "step": the step a best-by-held-out checkpoint of train.py comes from (the schedule
        # ran for "train"."steps"); older logs have no "step" and are from the last step.
        steps = log.get("step", log["train"]["steps"])
        train_seconds = log["train_seconds"]
        for entry in log.get("evals", []):
            if entry["step"] == steps:
                train_seconds = entry["train_seconds"]
        result["training"] = {"steps": steps, "schedule_steps": log["train"]["steps"],
                              "seed": log["train"]["seed"], "train_seconds": train_seconds,
                              "tokens_seen": steps * log["train"]["batch_size"]
                              * log["train"]["seq_len"], "config_file": log["config_file"]}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(args.json + ".tmp", args.json)


if __name__ == "__main__":
    main()
