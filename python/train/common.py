"""Shared by train.py, evaluate.py and reference_logprobs.py: token streams, held-out loss,
parameter counts and KV-cache accounting for the bundled models (issue 7)."""
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from egmla_ref import checkpoint, model  # noqa: E402

EVAL_WINDOW = 256  # tokens per held-out window (the models' context)
EVAL_BATCH = 8     # windows per forward pass (batching does not change the figure beyond fp32 noise)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def load_stream(ids_path, eos_id):
    """spm_encode ids, one chapter per line -> one long tensor: chapter ids, eos, chapter ids, ..."""
    ids = []
    with open(ids_path) as f:
        for line in f:
            ids.extend(int(t) for t in line.split())
            ids.append(eos_id)
    return torch.tensor(ids, dtype=torch.long)


def windows(stream, length=EVAL_WINDOW):
    """Consecutive non-overlapping windows of `length` tokens (the last one may be shorter, and a
    final window of one token is dropped: it predicts nothing)."""
    out = [stream[i:i + length] for i in range(0, len(stream), length)]
    return [w for w in out if len(w) > 1]


@torch.no_grad()
def stream_loss(config, weights, stream, length=EVAL_WINDOW, batch=EVAL_BATCH):
    """Mean next-token cross entropy (nats) over every window of the stream, each window scored
    on its own from position 0 (its first token is context only). -> (loss, predicted tokens)."""
    total, count = 0.0, 0
    pending = windows(stream, length)
    full = [w for w in pending if len(w) == length]
    rest = [w for w in pending if len(w) != length]
    groups = [torch.stack(full[i:i + batch]) for i in range(0, len(full), batch)]
    groups += [w[None, :] for w in rest]
    for ids in groups:
        logits = model.forward(config, weights, ids)  # [B, T, V]
        nll = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]).double(), ids[:, 1:].reshape(-1),
            reduction="sum")
        total += nll.item()
        count += ids.shape[0] * (ids.shape[1] - 1)
    return total / count, count


def prompt_logprobs(config, weights, ids):
    """log p(ids[t+1] | ids[..t]) for t in 0..T-2 (T-1 values), fp32 forward, log-softmax in fp64."""
    with torch.no_grad():
        logits = model.forward(config, weights, list(ids))  # [T, V]
    logp = torch.log_softmax(logits.double(), dim=-1)
    return logp[:-1].gather(1, torch.tensor(ids[1:], dtype=torch.long)[:, None])[:, 0].tolist()


def param_counts(config):
    """Parameter counts from the checkpoint's tensor shapes: token embeddings (embed_tokens and
    lm_head), gate embeddings (eg_mla's lookup tables, counted apart as in the paper), and the
    rest (non-embedding: attention, MLP, norms, gate up-projections and gate norms)."""
    counts = {"token_embeddings": 0, "gate_embeddings": 0, "non_embedding": 0}
    for name, shape in checkpoint.tensor_shapes(config).items():
        n = math.prod(shape)
        if name in ("model.embed_tokens.weight", "lm_head.weight"):
            counts["token_embeddings"] += n
        elif name.startswith("model.gate_embeddings."):
            counts["gate_embeddings"] += n
        else:
            counts["non_embedding"] += n
    counts["total"] = sum(counts.values())
    counts["total_without_gate_embeddings"] = counts["total"] - counts["gate_embeddings"]
    return counts


def kv_per_token(config):
    """What `egmla kv-size` reports (DESIGN 3.2, model/kv_size.cc): elements per token over all
    layers, bytes per token at f32 and bf16 (eg_mla up_projected adds its 4-byte token id once
    and, per layer, the fp32 LayerNorm statistics mu and rstd of the gated vector, issue 15), and
    the server's precomputed gate table (--gate-mode=table) bytes."""
    layers = config["num_hidden_layers"]
    if config["attention_type"] == "mha":
        per_layer = 2 * config["num_attention_heads"] * model.cfg(config, "head_dim")
    else:
        per_layer = config["kv_lora_rank"] + config["qk_rope_head_dim"]
    extra = 0
    gate_dim = 0
    if config["attention_type"] == "eg_mla":
        latent = model.cfg(config, "gate_placement") == "latent"
        extra = 0 if latent else 4 + layers * 2 * 4
        gate_dim = config["kv_lora_rank"] if latent else (
            config["num_attention_heads"] * (config["qk_nope_head_dim"] + config["v_head_dim"]))
    elements = layers * per_layer
    return {
        "elements_per_token": elements,
        "bytes_per_token_f32": elements * 4 + extra,
        "bytes_per_token_bf16": elements * 2 + extra,
        "gate_table_bytes_f32": layers * config["vocab_size"] * gate_dim * 4,
        "gate_table_bytes_bf16": layers * config["vocab_size"] * gate_dim * 2,
    }


def spm_encode(tokenizer_model, text):
    """Token ids of `text` (one line) as `spm_encode --output_format=id` gives them."""
    out = subprocess.run(["spm_encode", "--model=" + tokenizer_model, "--output_format=id"],
                         input=text.rstrip("\n") + "\n", capture_output=True, text=True, check=True)
    return [int(t) for t in out.stdout.split()]


def spm_decode(tokenizer_model, ids):
    out = subprocess.run(["spm_decode", "--model=" + tokenizer_model, "--input_format=id"],
                         input=" ".join(str(i) for i in ids) + "\n", capture_output=True,
                         text=True, check=True)
    return out.stdout.rstrip("\n")
