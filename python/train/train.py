"""Trains the PyTorch reference model (python/egmla_ref/model.py, DESIGN.md section 3) on the
KJV token streams of prepare_data.py and writes a checkpoint (DESIGN 3.3) with its tokenizer.

    /usr/bin/python3 python/train/train.py python/train/configs/egmla_kv16.json \\
        --data build-train/data --out build-train/egmla_kv16

The config file holds "model" (the checkpoint's config.json, written as is) and "train":
seed, steps, batch_size, seq_len, lr, min_lr_ratio, warmup_steps, weight_decay, betas,
grad_clip, eval_every, log_every. Everything random (initial weights, the training windows)
comes from torch generators seeded with "seed"; the windows depend only on seed, steps,
batch_size and seq_len, so models with the same "train" block see the same data in the same
order. CPU, fp32, one torch thread (--threads; on this shared 2-core machine one thread ran
2-3x faster than two, which spin waiting for each other).

Training: each step takes batch_size windows of seq_len + 1 tokens at uniformly random offsets
of the train stream (chapters joined with eos, no bos) and minimises the mean next-token cross
entropy. AdamW; linear warmup, then cosine decay to min_lr_ratio * lr at the last step;
gradient-norm clipping. Weight decay on the linear layers' matrices only (not on token or gate
embeddings, norms or biases).

Initialisation: linear weights N(0, 0.02^2), the residual outputs (o_proj, down_proj) scaled by
1/sqrt(2 * layers); token embeddings and lm_head N(0, 0.02^2); norm weights 1, biases 0. The
eg_mla gate starts near 1 for every token (gate embeddings 1 + N(0, 0.02^2), gate_up_proj
1/d_e + N(0, 0.02^2)), so EG-MLA starts as MLA with a LayerNorm on K/V and learns how each
token gates them.

Writes to --out: config.json + model.safetensors (--dtype f32 or bf16) + tokenizer.model (the
data directory's), and train_log.json (the config, the losses, the timings).
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import common  # noqa: E402
from egmla_ref import checkpoint, model  # noqa: E402

TRAIN_DEFAULTS = {
    "seed": 0, "steps": 1000, "batch_size": 16, "seq_len": 256, "lr": 3e-3, "min_lr_ratio": 0.1,
    "warmup_steps": 100, "weight_decay": 0.1, "betas": [0.9, 0.95], "grad_clip": 1.0,
    "eval_every": 500, "log_every": 50,
}


def init_weights(config, seed):
    gen = torch.Generator().manual_seed(seed)
    layers = config["num_hidden_layers"]
    weights = {}
    for name, shape in checkpoint.tensor_shapes(config).items():
        noise = torch.randn(shape, generator=gen, dtype=torch.float32) * 0.02
        if name.startswith("model.gate_embeddings."):
            w = 1.0 + noise
        elif name.endswith("gate_up_proj.weight"):
            w = 1.0 / shape[1] + noise
        elif name.endswith(".bias"):
            w = torch.zeros(shape)
        elif len(shape) == 1:
            w = torch.ones(shape)
        elif name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
            w = noise / math.sqrt(2 * layers)
        else:
            w = noise
        weights[name] = w.requires_grad_()
    return weights


def decays(name, tensor):
    """Weight decay on linear matrices only."""
    return tensor.dim() == 2 and name not in ("model.embed_tokens.weight", "lm_head.weight") \
        and not name.startswith("model.gate_embeddings.")


def lr_at(step, train):
    """Learning rate for step (0-based)."""
    if step < train["warmup_steps"]:
        return train["lr"] * (step + 1) / train["warmup_steps"]
    span = max(1, train["steps"] - 1 - train["warmup_steps"])
    progress = min(1.0, (step - train["warmup_steps"]) / span)
    floor = train["min_lr_ratio"]
    return train["lr"] * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("--data", default="build-train/data")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, help="override train.steps (e.g. to time a few)")
    parser.add_argument("--dtype", choices=("f32", "bf16"), default="f32")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (at most 2 here; on a busy 2-core machine 1 is faster)")
    parser.add_argument("--no-save", action="store_true", help="time and log only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    spec = common.read_json(args.config)
    config = spec["model"]
    train = dict(TRAIN_DEFAULTS, **spec.get("train", {}))
    if args.steps is not None:
        train["steps"] = args.steps
    tokenizer = os.path.join(args.data, "tokenizer.model")
    with open(os.path.join(args.data, "tokenizer.vocab")) as f:
        spm_vocab = sum(1 for _ in f)
    if spm_vocab != config["vocab_size"]:
        raise SystemExit("tokenizer has %d pieces, config vocab_size %d" % (spm_vocab, config["vocab_size"]))
    eos = config["eos_token_id"]
    train_stream = common.load_stream(os.path.join(args.data, "train.ids"), eos)
    heldout_stream = common.load_stream(os.path.join(args.data, "heldout.ids"), eos)
    counts = common.param_counts(config)
    print("config %s: %s" % (args.config, json.dumps(counts)), flush=True)
    print("train tokens %d, held-out tokens %d" % (len(train_stream), len(heldout_stream)), flush=True)

    weights = init_weights(config, train["seed"])
    groups = [
        {"params": [t for n, t in weights.items() if decays(n, t)], "weight_decay": train["weight_decay"]},
        {"params": [t for n, t in weights.items() if not decays(n, t)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=train["lr"], betas=tuple(train["betas"]), eps=1e-8,
                                  foreach=True)
    data_gen = torch.Generator().manual_seed(train["seed"] + 1)
    batch, seq = train["batch_size"], train["seq_len"]
    span = torch.arange(seq + 1)

    log = {"config_file": args.config, "train": train, "param_counts": counts,
           "tokens": {"train": len(train_stream), "heldout": len(heldout_stream)},
           "steps": [], "evals": []}

    def evaluate(step, elapsed):
        start = time.time()
        loss, n = common.stream_loss(config, weights, heldout_stream)
        log["evals"].append({"step": step, "heldout_loss": loss, "heldout_ppl": math.exp(loss),
                             "tokens": n, "train_seconds": elapsed})
        print("eval step %d: held-out loss %.4f ppl %.2f (%d tokens, %.1fs)"
              % (step, loss, math.exp(loss), n, time.time() - start), flush=True)

    train_seconds, window_loss, window_start = 0.0, 0.0, time.time()
    train_cpu_seconds = 0.0
    for step in range(train["steps"]):
        t0 = time.time()
        c0 = time.process_time()
        offsets = torch.randint(0, len(train_stream) - seq - 1, (batch,), generator=data_gen)
        chunk = train_stream[offsets[:, None] + span]  # [B, seq + 1]
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, train)
        logits = model.forward(config, weights, chunk[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 chunk[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(list(weights.values()), train["grad_clip"])
        optimizer.step()
        train_seconds += time.time() - t0
        train_cpu_seconds += time.process_time() - c0
        window_loss += loss.item()
        done = step + 1
        if done % train["log_every"] == 0 or done == train["steps"]:
            k = (done - 1) % train["log_every"] + 1
            rate = k / (time.time() - window_start)
            log["steps"].append({"step": done, "train_loss": window_loss / k, "lr": lr_at(step, train),
                                 "grad_norm": grad_norm.item(), "steps_per_s": rate,
                                 "train_seconds": train_seconds,
                                 "train_cpu_seconds": train_cpu_seconds})
            print("step %d: train loss %.4f lr %.2e |g| %.2f %.2f steps/s (%.0f tokens/s) %.0fs"
                  % (done, window_loss / k, lr_at(step, train), grad_norm.item(), rate,
                     rate * batch * seq, train_seconds), flush=True)
            window_loss, window_start = 0.0, time.time()
        if done % train["eval_every"] == 0 and done != train["steps"]:
            evaluate(done, train_seconds)
            window_start = time.time()
    evaluate(train["steps"], train_seconds)
    log["train_seconds"] = train_seconds  # wall clock of the training steps (evals excluded)
    log["train_cpu_seconds"] = train_cpu_seconds  # CPU time of those steps (less load-dependent)
    log["threads"] = args.threads
    if args.no_save:
        return
    final = {n: t.detach() for n, t in weights.items()}
    checkpoint.write_checkpoint(args.out, config, final, args.dtype)
    shutil.copyfile(tokenizer, os.path.join(args.out, "tokenizer.model"))
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")
    print("wrote %s (%.0f s of training)" % (args.out, train_seconds), flush=True)


if __name__ == "__main__":
    main()
