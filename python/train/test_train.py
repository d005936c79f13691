"""Self-checks of the training and evaluation helpers (fast; no corpus needed).

    /usr/bin/python3 python/train/test_train.py
"""
import contextlib
import io
import json
import math
import os
import sys
import tempfile
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import common  # noqa: E402
import train  # noqa: E402
from egmla_ref import checkpoint, golden, model  # noqa: E402

CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
NAMES = ("mha", "mla_kv64", "egmla_kv16", "mla_kv16", "egmla_kv64", "egmla_latent_kv16")


def config_of(name):
    return common.read_json(os.path.join(CONFIGS, name + ".json"))["model"]


class TrainTest(unittest.TestCase):
    def test_batched_forward_matches_single_sequences(self):
        gen = torch.Generator().manual_seed(0)
        for name in golden.VARIANTS:
            with self.subTest(name):
                config = golden.variant_config(name, "f32")
                weights = checkpoint.random_weights(config, 7)
                ids = torch.randint(0, config["vocab_size"], (3, 11), generator=gen)
                batched = model.forward(config, weights, ids)
                single = torch.stack([model.forward(config, weights, row.tolist()) for row in ids])
                self.assertEqual(batched.shape, single.shape)
                self.assertLess((batched - single).abs().max().item(), 1e-4)

    def test_batched_forward_is_differentiable(self):
        config = config_of("egmla_kv16")
        config = dict(config, vocab_size=64, hidden_size=32, intermediate_size=48, qk_nope_head_dim=8,
                      v_head_dim=8, gate_embedding_dim=8, num_hidden_layers=2)
        weights = train.init_weights(config, 0)
        ids = torch.randint(0, 64, (2, 9))
        logits = model.forward(config, weights, ids[:, :-1])
        torch.nn.functional.cross_entropy(logits.reshape(-1, 64), ids[:, 1:].reshape(-1)).backward()
        for name, tensor in weights.items():
            self.assertIsNotNone(tensor.grad, name)

    def test_equal_non_embedding_size(self):
        counts = [common.param_counts(config_of(n))["non_embedding"] for n in NAMES]
        self.assertLess((max(counts) - min(counts)) / min(counts), 1e-3, counts)
        eg = common.param_counts(config_of("egmla_kv16"))
        self.assertEqual(eg["gate_embeddings"], 4 * 2048 * 64)
        self.assertEqual(eg["total"], eg["token_embeddings"] + eg["gate_embeddings"] + eg["non_embedding"])

    def test_kv_per_token_matches_egmla_kv_size(self):
        # `build/tools/egmla kv-size --config <model part of the config> [--dtype bf16]`
        # (elements, bytes f32, bytes bf16, gate table bytes f32), as that build printed them
        expected = {"mha": (1536, 6144, 3072, 0), "mla_kv64": (320, 1280, 640, 0),
                    "egmla_kv16": (128, 548, 292, 12582912), "mla_kv16": (128, 512, 256, 0),
                    "egmla_kv64": (320, 1316, 676, 12582912),
                    "egmla_latent_kv16": (128, 512, 256, 524288)}
        self.assertEqual(set(expected), set(NAMES))
        for name, want in expected.items():
            kv = common.kv_per_token(config_of(name))
            self.assertEqual((kv["elements_per_token"], kv["bytes_per_token_f32"],
                              kv["bytes_per_token_bf16"], kv["gate_table_bytes_f32"]), want, name)

    def test_equal_cache_controls(self):
        """Issue 21: mla_kv16 caches what egmla_kv16 caches, egmla_kv64 what mla_kv64 does; each
        control differs from its partner only in the attention type and the MLP width."""
        for a, b in (("mla_kv16", "egmla_kv16"), ("egmla_kv64", "mla_kv64"),
                     ("egmla_latent_kv16", "egmla_kv16")):
            ca, cb = config_of(a), config_of(b)
            self.assertEqual(common.kv_per_token(ca)["elements_per_token"],
                             common.kv_per_token(cb)["elements_per_token"])
            differ = {k for k in set(ca) | set(cb) if ca.get(k) != cb.get(k)}
            self.assertLessEqual(differ, {"attention_type", "intermediate_size", "kv_lora_rank",
                                          "gate_embedding_dim", "gate_layer_group_size",
                                          "gate_placement", "gate_norm_eps"}, (a, b))
            spec_a = common.read_json(os.path.join(CONFIGS, a + ".json"))
            spec_b = common.read_json(os.path.join(CONFIGS, b + ".json"))
            self.assertEqual(spec_a["train"], spec_b["train"])
        self.assertEqual(config_of("egmla_latent_kv16")["gate_placement"], "latent")

    def test_resume_gives_the_uninterrupted_run(self):
        """A run stopped after a checkpoint and run again ends with the same weights, losses and
        best/ as one run straight through; a finished run run again does nothing."""
        vocab = 64
        spec = {"model": dict(config_of("egmla_kv16"), vocab_size=vocab, hidden_size=32,
                              intermediate_size=48, qk_nope_head_dim=8, v_head_dim=8,
                              gate_embedding_dim=8, num_hidden_layers=2, max_position_embeddings=16),
                "train": dict(train.TRAIN_DEFAULTS, steps=8, batch_size=2, seq_len=16, warmup_steps=2,
                              eval_every=2, log_every=3)}
        gen = torch.Generator().manual_seed(5)
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "data")
            os.makedirs(data)
            with open(os.path.join(data, "tokenizer.vocab"), "w") as f:
                f.writelines("p%d\t0\n" % i for i in range(vocab))
            with open(os.path.join(data, "tokenizer.model"), "wb") as f:
                f.write(b"not a real tokenizer")
            for name, lines in (("train.ids", 20), ("heldout.ids", 3)):
                with open(os.path.join(data, name), "w") as f:
                    for _ in range(lines):
                        f.write(" ".join(str(i) for i in torch.randint(3, vocab, (30,), generator=gen).tolist()) + "\n")
            config_path = os.path.join(tmp, "tiny.json")
            with open(config_path, "w") as f:
                json.dump(spec, f)

            def run(out, *flags):
                argv = ["train.py", config_path, "--data", data, "--out", os.path.join(tmp, out)] + list(flags)
                with mock.patch.object(sys, "argv", argv), contextlib.redirect_stdout(io.StringIO()) as text:
                    train.main()
                return text.getvalue()

            run("straight")
            self.assertIn("stopping at step 4", run("resumed", "--stop-after", "3"))
            self.assertIn("resuming", run("resumed"))
            self.assertIn("nothing to do", run("resumed"))
            a = torch.load(os.path.join(tmp, "straight", "last.pt"))
            b = torch.load(os.path.join(tmp, "resumed", "last.pt"))
            self.assertEqual(b["step"], 8)
            for name in a["weights"]:
                self.assertTrue(torch.equal(a["weights"][name], b["weights"][name]), name)
            self.assertEqual([e["heldout_loss"] for e in a["log"]["evals"]],
                             [e["heldout_loss"] for e in b["log"]["evals"]])
            self.assertEqual([s["train_loss"] for s in a["log"]["steps"]],
                             [s["train_loss"] for s in b["log"]["steps"]])
            self.assertEqual(len(b["log"]["evals"]), 4)
            best = min(a["log"]["evals"], key=lambda e: e["heldout_loss"])
            self.assertEqual(a["best"]["step"], best["step"])
            for out in ("straight", "resumed"):
                with open(os.path.join(tmp, out, "best", checkpoint.SINGLE_NAME), "rb") as f:
                    if out == "straight":
                        first = f.read()
                    else:
                        self.assertEqual(first, f.read())
                log = common.read_json(os.path.join(tmp, out, "best", "train_log.json"))
                self.assertEqual(log["step"], best["step"])
            with self.assertRaises(SystemExit):  # another schedule in the same --out
                run("resumed", "--steps", "10")

    def test_stream_loss_is_mean_over_windows(self):
        config = golden.variant_config("egmla_up", "f32")
        weights = checkpoint.random_weights(config, 3)
        stream = torch.randint(0, config["vocab_size"], (2 * 7 + 4,), generator=torch.Generator().manual_seed(1))
        loss, count = common.stream_loss(config, weights, stream, length=7, batch=2)
        total = 0.0
        for window in common.windows(stream, 7):
            logp = common.prompt_logprobs(config, weights, window.tolist())
            total -= sum(logp)
        self.assertEqual(count, 6 + 6 + 3)
        self.assertAlmostEqual(loss, total / count, places=5)

    def test_lr_schedule(self):
        t = dict(train.TRAIN_DEFAULTS, steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
        self.assertAlmostEqual(train.lr_at(0, t), 0.1)
        self.assertAlmostEqual(train.lr_at(9, t), 1.0)
        self.assertAlmostEqual(train.lr_at(10, t), 1.0)
        self.assertAlmostEqual(train.lr_at(99, t), 0.1)
        self.assertAlmostEqual(train.lr_at(10 + 89 // 2, t), 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 44 / 89)))


if __name__ == "__main__":
    unittest.main()
