"""Self-checks of the training and evaluation helpers (fast; no corpus needed).

    /usr/bin/python3 python/train/test_train.py
"""
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import common  # noqa: E402
import train  # noqa: E402
from egmla_ref import checkpoint, golden, model  # noqa: E402

CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
NAMES = ("mha", "mla_kv64", "egmla_kv16")


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
        expected = {"mha": (1536, 6144, 3072), "mla_kv64": (320, 1280, 640), "egmla_kv16": (128, 516, 260)}
        for name, (elements, f32, bf16) in expected.items():
            kv = common.kv_per_token(config_of(name))
            self.assertEqual((kv["elements_per_token"], kv["bytes_per_token_f32"],
                              kv["bytes_per_token_bf16"]), (elements, f32, bf16), name)
        self.assertEqual(common.kv_per_token(config_of("egmla_kv16"))["gate_table_bytes_f32"], 12582912)

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
