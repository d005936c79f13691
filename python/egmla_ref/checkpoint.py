"""Checkpoint layout of DESIGN.md section 3.3: tensor names and shapes, random weights, and a
hand-written safetensors writer / reader (single file or shards plus an index)."""
import json
import os
import struct

import numpy as np
import torch

from egmla_ref.model import cfg, num_gate_groups

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
NP_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}


def tensor_shapes(config):
    """{tensor name: shape} a checkpoint of this config holds, in writing order."""
    vocab, hidden = config["vocab_size"], config["hidden_size"]
    inter, heads = config["intermediate_size"], config["num_attention_heads"]
    kind = config["attention_type"]
    shapes = {"model.embed_tokens.weight": [vocab, hidden]}
    for layer in range(config["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        shapes[p + "input_layernorm.weight"] = [hidden]
        shapes[p + "post_attention_layernorm.weight"] = [hidden]
        shapes[p + "mlp.gate_proj.weight"] = [inter, hidden]
        shapes[p + "mlp.up_proj.weight"] = [inter, hidden]
        shapes[p + "mlp.down_proj.weight"] = [hidden, inter]
        a = p + "self_attn."
        if kind == "mha":
            width = heads * cfg(config, "head_dim")
            for proj in ("q_proj", "k_proj", "v_proj"):
                shapes[a + proj + ".weight"] = [width, hidden]
            shapes[a + "o_proj.weight"] = [hidden, width]
            continue
        d_c, d_nope = config["kv_lora_rank"], config["qk_nope_head_dim"]
        d_rope, d_v = config["qk_rope_head_dim"], config["v_head_dim"]
        q_width, q_lora = heads * (d_nope + d_rope), cfg(config, "q_lora_rank")
        if q_lora is None:
            shapes[a + "q_proj.weight"] = [q_width, hidden]
        else:
            shapes[a + "q_a_proj.weight"] = [q_lora, hidden]
            shapes[a + "q_a_layernorm.weight"] = [q_lora]
            shapes[a + "q_b_proj.weight"] = [q_width, q_lora]
        shapes[a + "kv_a_proj_with_mqa.weight"] = [d_c + d_rope, hidden]
        latent = kind == "eg_mla" and cfg(config, "gate_placement") == "latent"
        if not latent:
            shapes[a + "kv_a_layernorm.weight"] = [d_c]
        shapes[a + "kv_b_proj.weight"] = [heads * (d_nope + d_v), d_c]
        shapes[a + "o_proj.weight"] = [hidden, heads * d_v]
        if kind == "eg_mla":
            d_gate = d_c if latent else heads * (d_nope + d_v)
            shapes[a + "gate_up_proj.weight"] = [d_gate, config["gate_embedding_dim"]]
            shapes[a + "gate_norm.weight"] = [d_gate]
            shapes[a + "gate_norm.bias"] = [d_gate]
    shapes["model.norm.weight"] = [hidden]
    if not cfg(config, "tie_word_embeddings"):
        shapes["lm_head.weight"] = [vocab, hidden]
    if kind == "eg_mla":
        for group in range(num_gate_groups(config)):
            shapes["model.gate_embeddings.%d.weight" % group] = [vocab, config["gate_embedding_dim"]]
    return shapes


def random_weights(config, seed):
    """Deterministic random weights: logits O(1), norms near 1, gates that matter."""
    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for name, shape in tensor_shapes(config).items():
        noise = torch.randn(shape, generator=gen, dtype=torch.float32)
        if name.startswith("model.gate_embeddings."):
            weights[name] = noise  # std 1: gates far from constant
        elif name.endswith(".bias"):
            weights[name] = 0.1 * noise
        elif len(shape) == 1:  # RMSNorm / LayerNorm weights
            weights[name] = 1.0 + 0.1 * noise
        else:  # [out, in]: std 1/sqrt(in) keeps every activation O(1)
            weights[name] = noise / shape[1] ** 0.5
    return weights


# ---------------------------------------------------------------- safetensors

def tensor_bytes(tensor, dtype):
    """Little-endian raw bytes of tensor stored as 'F32' or 'BF16' (round to nearest even)."""
    if dtype == "BF16":
        raw = tensor.detach().float().contiguous().to(torch.bfloat16).view(torch.int16)
        return raw.numpy().astype("<i2").tobytes()
    return tensor.detach().float().contiguous().numpy().astype("<f4").tobytes()


def write_safetensors(path, entries):
    """entries: list of (name, dtype string, shape, raw bytes)."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)  # data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, raw in entries:
            f.write(raw)


def read_safetensors_raw(path):
    """-> {name: (dtype string, shape, raw bytes)} in file order (metadata dropped)."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length].decode())
    header.pop("__metadata__", None)
    body = data[8 + length:]
    return {name: (info["dtype"], info["shape"], body[info["data_offsets"][0]:info["data_offsets"][1]])
            for name, info in header.items()}


def decode_tensor(dtype, shape, raw):
    """Raw little-endian bytes -> fp32 tensor."""
    if dtype == "BF16":
        bits = torch.from_numpy(np.frombuffer(raw, dtype="<u2").astype(np.int32))
        return (bits << 16).view(torch.float32).reshape(shape).clone()
    return torch.from_numpy(np.frombuffer(raw, dtype=NP_DTYPES[dtype]).astype(np.float32)).reshape(shape)


def shard_name(k, n):
    return "model-%05d-of-%05d.safetensors" % (k, n)


def write_checkpoint(directory, config, weights, dtype="f32", num_shards=1):
    """config.json plus model.safetensors, or num_shards shards and their index."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    st_dtype = {"f32": "F32", "bf16": "BF16"}[dtype]
    entries = [(name, st_dtype, list(t.shape), tensor_bytes(t, st_dtype)) for name, t in weights.items()]
    if num_shards == 1:
        write_safetensors(os.path.join(directory, SINGLE_NAME), entries)
        return
    per_shard = -(-len(entries) // num_shards)
    weight_map = {}
    for k in range(num_shards):
        chunk, file_name = entries[k * per_shard:(k + 1) * per_shard], shard_name(k + 1, num_shards)
        write_safetensors(os.path.join(directory, file_name), chunk)
        weight_map.update({name: file_name for name, _, _, _ in chunk})
    with open(os.path.join(directory, INDEX_NAME), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")


def read_checkpoint(directory):
    """-> (config dict, {name: fp32 tensor}) from either layout."""
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    index_path = os.path.join(directory, INDEX_NAME)
    if os.path.exists(index_path):
        with open(index_path) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = [SINGLE_NAME]
    weights = {}
    for file_name in files:
        for name, (dtype, shape, raw) in read_safetensors_raw(os.path.join(directory, file_name)).items():
            weights[name] = decode_tensor(dtype, shape, raw)
    return config, weights
