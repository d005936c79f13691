"""Plain PyTorch (fp32, CPU) reference of the egmla-serve model, DESIGN.md section 3.

Decoder-only, pre-norm, one full causal pass. The formulation is the straightforward,
non-absorbed one: K and V are materialised for every head. Weights are a dict
{tensor name: fp32 tensor} using the checkpoint names of DESIGN.md section 3.3.

Shapes: every function takes one sequence ([T, ...], token ids a list or a 1-D tensor) or a batch
of equal-length sequences ([B, T, ...], ids a [B, T] tensor or a list of lists), each sequence
starting at position 0. The single-sequence path runs exactly the ops it always ran, so its
outputs are bit-for-bit those of the unbatched code; the batched path is differentiable and is
what python/train/train.py trains.
"""
import math

import torch

DEFAULTS = {
    "q_lora_rank": None,
    "gate_layer_group_size": 1,
    "gate_placement": "up_projected",
    "gate_norm_eps": 1e-5,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "rope_interleave": True,
    "tie_word_embeddings": False,
    "head_dim": None,
}


def cfg(config, key):
    """config[key], or its DESIGN default when absent or null."""
    value = config.get(key)
    if value is None:
        value = DEFAULTS.get(key)
    if key == "head_dim" and value is None:
        value = config["hidden_size"] // config["num_attention_heads"]
    return value


# ---------------------------------------------------------------- basic blocks

def linear(x, weight):
    """x [..., in] @ weight[out, in]^T -> [..., out]."""
    return x @ weight.t()


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdim=True)
    var = (x - mean).pow(2).mean(-1, keepdim=True)  # biased variance
    return (x - mean) * torch.rsqrt(var + eps) * weight + bias


def rope(x, theta, interleave, heads=None):
    """Rotary embedding of x [T, r] or [T, H, r] (with heads=None, told apart by rank), or with
    a leading batch dimension [B, T, r] (heads=False) / [B, T, H, r] (heads=True); token t of
    each sequence sits at position t."""
    if heads is None:
        heads = x.dim() == 3
    num_tokens, width = x.shape[-3 if heads else -2], x.shape[-1]
    half = width // 2
    inv_freq = theta ** (-2.0 * torch.arange(half, dtype=torch.float64) / width)
    angle = torch.arange(num_tokens, dtype=torch.float64)[:, None] * inv_freq[None, :]
    cos, sin = angle.cos().float(), angle.sin().float()  # [T, r/2]
    if heads:
        cos, sin = cos[:, None, :], sin[:, None, :]
    if interleave:  # pairs (2i, 2i+1)
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)
    a, b = x[..., :half], x[..., half:]  # pairs (i, i + r/2)
    return torch.cat((a * cos - b * sin, a * sin + b * cos), dim=-1)


def causal_attention(q, k, v, scale):
    """q, k [T, H, dk], v [T, H, dv] -> [T, H, dv], token t attends to tokens 0..t
    (or all with a leading batch dimension [B, T, H, ...])."""
    num_tokens = q.shape[-3]
    batch = "b" if q.dim() == 4 else ""
    scores = torch.einsum(batch + "thd," + batch + "shd->" + batch + "hts", q, k) * scale
    mask = torch.ones(num_tokens, num_tokens, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(mask, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    return torch.einsum(batch + "hts," + batch + "shd->" + batch + "thd", probs, v)


def swiglu_mlp(w, prefix, x):
    gate = linear(x, w[prefix + "mlp.gate_proj.weight"])
    up = linear(x, w[prefix + "mlp.up_proj.weight"])
    return linear(torch.nn.functional.silu(gate) * up, w[prefix + "mlp.down_proj.weight"])


# ---------------------------------------------------------------- attention

def mha_attention(config, w, prefix, x):
    num_heads, head_dim = config["num_attention_heads"], cfg(config, "head_dim")
    theta, interleave = cfg(config, "rope_theta"), cfg(config, "rope_interleave")
    shape = tuple(x.shape[:-1]) + (num_heads, head_dim)
    q = rope(linear(x, w[prefix + "self_attn.q_proj.weight"]).view(shape), theta, interleave, True)
    k = rope(linear(x, w[prefix + "self_attn.k_proj.weight"]).view(shape), theta, interleave, True)
    v = linear(x, w[prefix + "self_attn.v_proj.weight"]).view(shape)
    out = causal_attention(q, k, v, head_dim ** -0.5)
    return linear(out.reshape(*x.shape[:-1], -1), w[prefix + "self_attn.o_proj.weight"])


def mla_query(config, w, prefix, x):
    """-> q_nope [T, H, d_nope], q_rope [T, H, d_R] (rotated)."""
    d_nope, d_rope = config["qk_nope_head_dim"], config["qk_rope_head_dim"]
    if cfg(config, "q_lora_rank") is None:
        q = linear(x, w[prefix + "self_attn.q_proj.weight"])
    else:
        q_a = linear(x, w[prefix + "self_attn.q_a_proj.weight"])
        q_a = rms_norm(q_a, w[prefix + "self_attn.q_a_layernorm.weight"], cfg(config, "rms_norm_eps"))
        q = linear(q_a, w[prefix + "self_attn.q_b_proj.weight"])
    q = q.view(*x.shape[:-1], config["num_attention_heads"], d_nope + d_rope)
    q_nope, q_rope = q[..., :d_nope], q[..., d_nope:]
    return q_nope, rope(q_rope, cfg(config, "rope_theta"), cfg(config, "rope_interleave"), True)


def gate(config, w, prefix, ids, layer):
    """g = gate_up_proj(gate_embeddings[layer // group][ids]) -> [T, D_gate]."""
    group = layer // cfg(config, "gate_layer_group_size")
    e = w["model.gate_embeddings.%d.weight" % group][id_tensor(ids)]
    return linear(e, w[prefix + "self_attn.gate_up_proj.weight"])


def is_latent_gated(config):
    return config["attention_type"] == "eg_mla" and cfg(config, "gate_placement") == "latent"


def mla_latent(config, w, prefix, x, ids, layer):
    """What the cache holds: c [T, d_c] and k_R [T, d_R] (rotated, one head)."""
    d_c = config["kv_lora_rank"]
    ckv_kr = linear(x, w[prefix + "self_attn.kv_a_proj_with_mqa.weight"])
    ckv, k_rope = ckv_kr[..., :d_c], ckv_kr[..., d_c:]
    k_rope = rope(k_rope, cfg(config, "rope_theta"), cfg(config, "rope_interleave"), False)
    if is_latent_gated(config):
        g = gate(config, w, prefix, ids, layer)
        c = layer_norm(ckv * g, w[prefix + "self_attn.gate_norm.weight"],
                       w[prefix + "self_attn.gate_norm.bias"], cfg(config, "gate_norm_eps"))
    else:
        c = rms_norm(ckv, w[prefix + "self_attn.kv_a_layernorm.weight"], cfg(config, "rms_norm_eps"))
    return c, k_rope


def mla_expand(config, w, prefix, c, ids, layer):
    """u = kv_b_proj(c) (gated for eg_mla up_projected) -> k_nope [T,H,d_nope], v [T,H,d_v]."""
    d_nope, d_v = config["qk_nope_head_dim"], config["v_head_dim"]
    u = linear(c, w[prefix + "self_attn.kv_b_proj.weight"])
    if config["attention_type"] == "eg_mla" and not is_latent_gated(config):
        g = gate(config, w, prefix, ids, layer)
        u = layer_norm(u * g, w[prefix + "self_attn.gate_norm.weight"],
                       w[prefix + "self_attn.gate_norm.bias"], cfg(config, "gate_norm_eps"))
    u = u.view(*c.shape[:-1], config["num_attention_heads"], d_nope + d_v)  # head-major rows
    return u[..., :d_nope], u[..., d_nope:]


def mla_attention(config, w, prefix, x, ids, layer):
    num_heads = config["num_attention_heads"]
    d_nope, d_rope = config["qk_nope_head_dim"], config["qk_rope_head_dim"]
    q_nope, q_rope = mla_query(config, w, prefix, x)
    c, k_rope = mla_latent(config, w, prefix, x, ids, layer)
    k_nope, v = mla_expand(config, w, prefix, c, ids, layer)
    k_rope = k_rope.unsqueeze(-2).expand(*k_rope.shape[:-1], num_heads, d_rope)  # shared by all heads
    q = torch.cat((q_nope, q_rope), dim=-1)
    k = torch.cat((k_nope, k_rope), dim=-1)
    out = causal_attention(q, k, v, (d_nope + d_rope) ** -0.5)
    return linear(out.reshape(*x.shape[:-1], -1), w[prefix + "self_attn.o_proj.weight"])


def attention(config, w, prefix, x, ids, layer):
    kind = config["attention_type"]
    if kind == "mha":
        return mha_attention(config, w, prefix, x)
    if kind in ("mla", "eg_mla"):
        return mla_attention(config, w, prefix, x, ids, layer)
    raise ValueError("unknown attention_type %r" % kind)


# ---------------------------------------------------------------- the model

def lm_head_weight(config, w):
    if cfg(config, "tie_word_embeddings"):
        return w["model.embed_tokens.weight"]
    return w["lm_head.weight"]


def id_tensor(ids):
    """Token ids (a list, a list of lists or an integer tensor) -> a long tensor [T] or [B, T]."""
    if isinstance(ids, torch.Tensor):
        return ids.long()
    return torch.tensor(ids, dtype=torch.long)


def forward(config, weights, ids):
    """Full causal pass over token ids [T] -> logits [T, vocab]; row t predicts token t+1.
    A batch of ids [B, T] gives logits [B, T, vocab]."""
    eps = cfg(config, "rms_norm_eps")
    w = {name: t.float() for name, t in weights.items()}
    h = w["model.embed_tokens.weight"][id_tensor(ids)]
    for layer in range(config["num_hidden_layers"]):
        prefix = "model.layers.%d." % layer
        x = rms_norm(h, w[prefix + "input_layernorm.weight"], eps)
        h = h + attention(config, w, prefix, x, ids, layer)
        x = rms_norm(h, w[prefix + "post_attention_layernorm.weight"], eps)
        h = h + swiglu_mlp(w, prefix, x)
    h = rms_norm(h, w["model.norm.weight"], eps)
    return linear(h, lm_head_weight(config, w))


def num_gate_groups(config):
    return math.ceil(config["num_hidden_layers"] / cfg(config, "gate_layer_group_size"))
