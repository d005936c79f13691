"""Self-checks of the reference model and checkpoint code.

    cd python && /usr/bin/python3 -m unittest          (or run this file as a script)
"""
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from egmla_ref import checkpoint, golden, model  # noqa: E402

IDS = [5, 17, 3, 96, 5, 40, 0, 17, 17, 63, 2, 88]


def config_of(name):
    return golden.variant_config(name, "f32")


def weights_of(name, seed=None):
    return checkpoint.random_weights(config_of(name), golden.VARIANTS[name][0] if seed is None else seed)


def absorbed_mla_attention(config, w, prefix, x, ids, layer):
    """MLA decode form: q_hat = W_UK^T q_nope, attend over the latent c, then W_UV."""
    heads, d_c = config["num_attention_heads"], config["kv_lora_rank"]
    d_nope, d_rope, d_v = config["qk_nope_head_dim"], config["qk_rope_head_dim"], config["v_head_dim"]
    q_nope, q_rope = model.mla_query(config, w, prefix, x)
    c, k_rope = model.mla_latent(config, w, prefix, x, ids, layer)
    kv_b = w[prefix + "self_attn.kv_b_proj.weight"].view(heads, d_nope + d_v, d_c)
    w_uk, w_uv = kv_b[:, :d_nope, :], kv_b[:, d_nope:, :]
    q_hat = torch.einsum("thn,hnc->thc", q_nope, w_uk)
    scores = torch.einsum("thc,sc->hts", q_hat, c) + torch.einsum("thr,sr->hts", q_rope, k_rope)
    scores = scores * (d_nope + d_rope) ** -0.5
    mask = torch.ones(len(ids), len(ids), dtype=torch.bool).triu(1)
    probs = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
    out = torch.einsum("thc,hvc->thv", torch.einsum("hts,sc->thc", probs, c), w_uv)
    return model.linear(out.reshape(len(ids), -1), w[prefix + "self_attn.o_proj.weight"])


def rope_rows_to_half(weight, row0, width, count):
    """Permute `count` blocks of `width` rows starting at row0 from (2i,2i+1) to (i,i+r/2)."""
    weight = weight.clone()
    order = list(range(0, width, 2)) + list(range(1, width, 2))
    for block in range(count):
        start = row0 + block * width
        weight[start:start + width] = weight[start:start + width][order]
    return weight


class ReferenceTest(unittest.TestCase):
    def assertClose(self, a, b, tol=1e-5):
        err = (a - b).abs().max().item()
        self.assertLessEqual(err, tol * max(1.0, b.abs().max().item()), "max abs error %g" % err)

    def test_causality(self):
        for name in golden.VARIANTS:
            with self.subTest(name), torch.no_grad():
                config, w = config_of(name), weights_of(name)
                full = model.forward(config, w, IDS)
                self.assertEqual(list(full.shape), [len(IDS), config["vocab_size"]])
                for k in (1, 4, 9):
                    self.assertClose(model.forward(config, w, IDS[:k]), full[:k])

    def test_absorbed_mla_equals_naive(self):
        torch.manual_seed(0)
        for name in ("mla", "mla_qlora", "egmla_latent"):
            with self.subTest(name), torch.no_grad():
                config, w = config_of(name), weights_of(name)
                x = torch.randn(len(IDS), config["hidden_size"])
                prefix = "model.layers.1."
                naive = model.mla_attention(config, w, prefix, x, IDS, 1)
                self.assertClose(absorbed_mla_attention(config, w, prefix, x, IDS, 1), naive)

    def test_up_projected_gate_is_not_absorbable(self):
        config, w = config_of("egmla_up"), weights_of("egmla_up")
        x = torch.randn(len(IDS), config["hidden_size"])
        with torch.no_grad():
            naive = model.mla_attention(config, w, "model.layers.0.", x, IDS, 0)
            absorbed = absorbed_mla_attention(config, w, "model.layers.0.", x, IDS, 0)
        self.assertGreater((naive - absorbed).abs().max().item(), 1e-2)

    def test_group_size_one_with_shared_tables_equals_group_size_two(self):
        config2, w2 = config_of("egmla_up_group2"), weights_of("egmla_up_group2")
        self.assertEqual(model.num_gate_groups(config2), 2)
        config1 = dict(config2, gate_layer_group_size=1)
        w1 = {k: v for k, v in w2.items() if not k.startswith("model.gate_embeddings.")}
        for layer, group in enumerate((0, 0, 1)):
            w1["model.gate_embeddings.%d.weight" % layer] = w2["model.gate_embeddings.%d.weight" % group]
        self.assertEqual(set(w1), set(checkpoint.tensor_shapes(config1)))
        with torch.no_grad():
            self.assertClose(model.forward(config1, w1, IDS), model.forward(config2, w2, IDS), 0)
            w1["model.gate_embeddings.1.weight"] = torch.randn_like(w1["model.gate_embeddings.1.weight"])
            changed = model.forward(config1, w1, IDS) - model.forward(config2, w2, IDS)
        self.assertGreater(changed.abs().max().item(), 1e-2)  # the gates matter

    def test_rope_interleave_is_a_permutation_of_rotate_half(self):
        for name in ("mla_qlora", "egmla_up", "mha"):
            with self.subTest(name), torch.no_grad():
                config, w = dict(config_of(name), rope_interleave=True), weights_of(name)
                heads = config["num_attention_heads"]
                half_w = dict(w)
                for layer in range(config["num_hidden_layers"]):
                    a = "model.layers.%d.self_attn." % layer
                    if name == "mha":
                        hd = config["head_dim"]
                        for p in ("q_proj", "k_proj"):
                            half_w[a + p + ".weight"] = rope_rows_to_half(w[a + p + ".weight"], 0, hd, heads)
                        continue
                    nope, r = config["qk_nope_head_dim"], config["qk_rope_head_dim"]
                    q = "q_b_proj" if config.get("q_lora_rank") else "q_proj"
                    qw = w[a + q + ".weight"].view(heads, nope + r, -1).clone()
                    qw[:, nope:] = rope_rows_to_half(qw[:, nope:].reshape(heads * r, -1), 0, r, heads).view(heads, r, -1)
                    half_w[a + q + ".weight"] = qw.reshape(heads * (nope + r), -1)
                    kv_a = a + "kv_a_proj_with_mqa.weight"
                    half_w[kv_a] = rope_rows_to_half(w[kv_a], config["kv_lora_rank"], r, 1)
                interleaved = model.forward(config, w, IDS)
                half = model.forward(dict(config, rope_interleave=False), half_w, IDS)
                self.assertClose(half, interleaved)
                self.assertGreater((model.forward(dict(config, rope_interleave=False), w, IDS)
                                    - interleaved).abs().max().item(), 1e-3)

    def test_tensor_shapes(self):
        latent = checkpoint.tensor_shapes(config_of("egmla_latent"))
        self.assertNotIn("model.layers.0.self_attn.kv_a_layernorm.weight", latent)
        self.assertEqual(latent["model.layers.2.self_attn.gate_up_proj.weight"], [12, 16])
        up = checkpoint.tensor_shapes(config_of("egmla_up"))
        self.assertEqual(up["model.layers.0.self_attn.gate_norm.bias"], [4 * 32])
        self.assertIn("model.gate_embeddings.2.weight", up)
        group2 = checkpoint.tensor_shapes(config_of("egmla_up_group2"))
        self.assertIn("model.gate_embeddings.1.weight", group2)
        self.assertNotIn("model.gate_embeddings.2.weight", group2)
        self.assertNotIn("lm_head.weight", checkpoint.tensor_shapes(config_of("egmla_tied")))
        qlora = checkpoint.tensor_shapes(config_of("mla_qlora"))
        self.assertEqual(qlora["model.layers.0.self_attn.q_b_proj.weight"], [4 * 24, 32])
        self.assertNotIn("model.layers.0.self_attn.q_proj.weight", qlora)

    def test_f32_and_bf16_round_trip(self):
        config, w = config_of("egmla_up"), weights_of("egmla_up")
        with tempfile.TemporaryDirectory() as tmp:
            for dtype in ("f32", "bf16"):
                directory = os.path.join(tmp, dtype)
                checkpoint.write_checkpoint(directory, config, w, dtype=dtype)
                path = os.path.join(directory, "model.safetensors")
                with open(path, "rb") as f:
                    (length,) = struct.unpack("<Q", f.read(8))
                self.assertEqual((8 + length) % 8, 0)
                read_config, read_w = checkpoint.read_checkpoint(directory)
                self.assertEqual(read_config, config)
                self.assertEqual(list(read_w), list(w))
                for name, t in w.items():
                    want = t.to(torch.bfloat16).float() if dtype == "bf16" else t
                    self.assertTrue(torch.equal(read_w[name], want), name)
                if dtype == "bf16":
                    self.assertEqual(os.path.getsize(path), 8 + length + 2 * sum(t.numel() for t in w.values()))
                    self.assertFalse(torch.equal(read_w["lm_head.weight"], w["lm_head.weight"]))

    def test_sharded_read_equals_single_file_read(self):
        config, w = config_of("egmla_tied"), weights_of("egmla_tied")
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint.write_checkpoint(os.path.join(tmp, "one"), config, w, dtype="bf16")
            checkpoint.write_checkpoint(os.path.join(tmp, "three"), config, w, dtype="bf16", num_shards=3)
            self.assertEqual(len([f for f in os.listdir(os.path.join(tmp, "three"))
                                  if f.endswith("-of-00003.safetensors")]), 3)
            _, one = checkpoint.read_checkpoint(os.path.join(tmp, "one"))
            _, three = checkpoint.read_checkpoint(os.path.join(tmp, "three"))
        self.assertEqual(set(one), set(three))
        for name in one:
            self.assertTrue(torch.equal(one[name], three[name]), name)


if __name__ == "__main__":
    unittest.main()
