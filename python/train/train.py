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

Resumable (issue 21). At every evaluation (each eval_every steps and the last step) it writes to
--out, in this order:
  best/         when the held-out loss is the lowest so far: the run's output model, config.json
                + model.safetensors (--dtype f32 or bf16) + tokenizer.model (the data
                directory's) + train_log.json (the config, the losses and timings up to that
                step, "step": the step it is from); written to best.tmp/ and renamed into place;
  train_log.json  the whole log so far (every held-out loss), also written then renamed;
  last.pt       the state to resume from: weights, AdamW state, the data generator's state (the
                position in the stream of random windows), torch's global RNG state, the step,
                the log, the best loss so far; written to last.pt.tmp, fsynced, renamed.
The learning rate is a function of the step and the "train" block (no scheduler state); last.pt
records the model config and the "train" block, and a run resumes only with the same ones.
Running the same command again continues from last.pt: the steps after it are redone and give
the same numbers as an uninterrupted run (one thread, fixed seeds). A finished run (last.pt at
the last step) run again does nothing. --seed, --steps, --eval-every override the config file.
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


def atomic_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def write_model_dir(out, name, config, weights, dtype, tokenizer, log):
    """out/name = config.json + model.safetensors + tokenizer.model + train_log.json, replaced as a
    whole: written to name.tmp, the old one moved to name.old, the new one renamed in, the old
    one removed (restore_model_dir puts name.old back if a crash came between the renames)."""
    final, tmp, old = (os.path.join(out, name + suffix) for suffix in ("", ".tmp", ".old"))
    shutil.rmtree(tmp, ignore_errors=True)
    checkpoint.write_checkpoint(tmp, config, {n: t.detach() for n, t in weights.items()}, dtype)
    shutil.copyfile(tokenizer, os.path.join(tmp, "tokenizer.model"))
    atomic_json(os.path.join(tmp, "train_log.json"), log)
    if os.path.exists(final):
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def restore_model_dir(out, name):
    final, old = os.path.join(out, name), os.path.join(out, name + ".old")
    if not os.path.exists(final) and os.path.exists(old):
        os.replace(old, final)


def save_state(path, state):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("--data", default="build-train/data")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, help="override train.steps (the cosine ends at the last step)")
    parser.add_argument("--seed", type=int, help="override train.seed (weights: seed; windows: seed + 1)")
    parser.add_argument("--eval-every", type=int, help="override train.eval_every (also the checkpoint period)")
    parser.add_argument("--log-every", type=int, help="override train.log_every")
    parser.add_argument("--stop-after", type=int,
                        help="exit after the first checkpoint at or after this step, as if interrupted")
    parser.add_argument("--dtype", choices=("f32", "bf16"), default="f32")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (at most 2 here; on a busy 2-core machine 1 is faster)")
    parser.add_argument("--no-save", action="store_true", help="time and log only (no checkpoints)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    spec = common.read_json(args.config)
    config = spec["model"]
    train = dict(TRAIN_DEFAULTS, **spec.get("train", {}))
    for key in ("steps", "seed", "eval_every", "log_every"):
        if getattr(args, key) is not None:
            train[key] = getattr(args, key)
    last_path = os.path.join(args.out, "last.pt")
    state = None
    if not args.no_save and os.path.exists(last_path):
        state = torch.load(last_path)
        for key, mine in (("config", config), ("train", train)):
            if state[key] != mine:
                raise SystemExit("%s was written with another %s:\n%s\nnot\n%s\n(use another --out)"
                                 % (last_path, key, json.dumps(state[key]), json.dumps(mine)))
        restore_model_dir(args.out, "best")
        if state["step"] == train["steps"] and os.path.exists(os.path.join(args.out, "best")):
            print("%s: finished (%d steps, best held-out loss %.4f at step %d); nothing to do"
                  % (args.out, state["step"], state["best"]["heldout_loss"], state["best"]["step"]),
                  flush=True)
            return
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
           "steps": [], "evals": [], "threads": args.threads}
    train_seconds, train_cpu_seconds, window_loss = 0.0, 0.0, 0.0
    best = {"step": None, "heldout_loss": math.inf}
    start_step = 0
    if state is not None:
        with torch.no_grad():
            for name, tensor in weights.items():
                tensor.copy_(state["weights"][name])
        optimizer.load_state_dict(state["optimizer"])
        data_gen.set_state(state["data_gen"])
        torch.set_rng_state(state["torch_rng"])
        log = state["log"]
        log.setdefault("resumed_at", []).append(state["step"])
        train_seconds, train_cpu_seconds = state["train_seconds"], state["train_cpu_seconds"]
        window_loss, best, start_step = state["window_loss"], state["best"], state["step"]
        print("resuming %s from step %d (best held-out loss %.4f at step %s)"
              % (last_path, start_step, best["heldout_loss"], best["step"]), flush=True)
    if not args.no_save:
        os.makedirs(args.out, exist_ok=True)

    def evaluate(step):
        start = time.time()
        loss, n = common.stream_loss(config, weights, heldout_stream)
        log["evals"].append({"step": step, "heldout_loss": loss, "heldout_ppl": math.exp(loss),
                             "tokens": n, "train_seconds": train_seconds,
                             "train_cpu_seconds": train_cpu_seconds})
        log["train_seconds"] = train_seconds  # wall clock of the training steps (evals excluded)
        log["train_cpu_seconds"] = train_cpu_seconds  # CPU time of those steps (less load-dependent)
        improved = loss < best["heldout_loss"]
        if improved:
            best.update(step=step, heldout_loss=loss)
        log["best"] = dict(best)
        print("eval step %d: held-out loss %.4f ppl %.2f (%d tokens, %.1fs)%s"
              % (step, loss, math.exp(loss), n, time.time() - start, " best" if improved else ""),
              flush=True)
        if args.no_save:
            return
        if improved:
            write_model_dir(args.out, "best", config, weights, args.dtype, tokenizer, dict(log, step=step))
        atomic_json(os.path.join(args.out, "train_log.json"), log)
        save_state(last_path, {
            "step": step, "config": config, "train": train,
            "weights": {n: t.detach().clone() for n, t in weights.items()},
            "optimizer": optimizer.state_dict(), "data_gen": data_gen.get_state(),
            "torch_rng": torch.get_rng_state(), "log": log, "best": best,
            "train_seconds": train_seconds, "train_cpu_seconds": train_cpu_seconds,
            "window_loss": window_loss})

    window_start = time.time()
    for step in range(start_step, train["steps"]):
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
            rate = min(k, done - start_step) / (time.time() - window_start)
            log["steps"].append({"step": done, "train_loss": window_loss / k, "lr": lr_at(step, train),
                                 "grad_norm": grad_norm.item(), "steps_per_s": rate,
                                 "train_seconds": train_seconds,
                                 "train_cpu_seconds": train_cpu_seconds})
            print("step %d: train loss %.4f lr %.2e |g| %.2f %.2f steps/s (%.0f tokens/s) %.0fs"
                  % (done, window_loss / k, lr_at(step, train), grad_norm.item(), rate,
                     rate * batch * seq, train_seconds), flush=True)
            window_loss, window_start = 0.0, time.time()
        if done % train["eval_every"] == 0 or done == train["steps"]:
            evaluate(done)
            window_start = time.time()
            if args.stop_after is not None and done >= args.stop_after and done != train["steps"]:
                print("stopping at step %d (--stop-after)" % done, flush=True)
                return
    if args.no_save:
        return
    print("finished %s: %d steps, %.0f s of training; best held-out loss %.4f at step %d (%s)"
          % (args.out, train["steps"], train_seconds, best["heldout_loss"], best["step"],
             os.path.join(args.out, "best")), flush=True)


if __name__ == "__main__":
    main()
