"""`egmla score` on broken checkpoints and bad input: a non-zero exit (never a crash) and a
message on stderr that names the culprit (DESIGN.md 3.3 and 8).

    /usr/bin/python3 tests/golden/score_errors_test.py --egmla build/tools/egmla --golden DIR
"""
import json
import math
import os
import shutil
import sys
import tempfile
import unittest

import harness

sys.path.insert(0, os.path.join(harness.REPO, "python"))
from egmla_ref import checkpoint  # noqa: E402

ARGS = None
BASE_VARIANT = "egmla_up_f32"  # eg_mla, up_projected, f32, single file
KV_B1 = "model.layers.1.self_attn.kv_b_proj.weight"


class ScoreErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="egmla_score_errors_")
        cls.base = os.path.join(ARGS.golden, BASE_VARIANT)
        cls.ids = harness.prompt(cls.base)
        cls.vocab = harness.vocab_size(cls.base)
        cls.count = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def copy_base(self):
        ScoreErrorsTest.count += 1
        directory = os.path.join(self.tmp, "case%d" % self.count)
        os.makedirs(directory)
        for name in ("config.json", "model.safetensors"):
            shutil.copy(os.path.join(self.base, name), directory)
        return directory

    def with_tensors(self, edit):
        """A copy whose model.safetensors is rewritten from edit(list of entries)."""
        directory = self.copy_base()
        path = os.path.join(directory, "model.safetensors")
        raw = checkpoint.read_safetensors_raw(path)
        entries = edit([(name, dtype, shape, data) for name, (dtype, shape, data) in raw.items()])
        checkpoint.write_safetensors(path, entries)
        return directory

    def with_config(self, edit):
        directory = self.copy_base()
        path = os.path.join(directory, "config.json")
        with open(path) as f:
            config = json.load(f)
        edit(config)
        with open(path, "w") as f:
            json.dump(config, f)
        return directory

    def score(self, model_dir, token_ids=None):
        out = os.path.join(self.tmp, "logits%d.f32" % self.count)
        return harness.score(ARGS.egmla, model_dir, self.ids if token_ids is None else token_ids, out), out

    def assertRefused(self, model_dir, *needles, token_ids=None, ignore_case=False):
        proc, _ = self.score(model_dir, token_ids)
        detail = "exit %d, stderr: %r" % (proc.returncode, proc.stderr.strip()[-2000:])
        self.assertGreater(proc.returncode, 0, "want a clean non-zero exit (a negative exit is a "
                           "signal, i.e. a crash); " + detail)
        for needle in needles:
            haystack = proc.stderr.lower() if ignore_case else proc.stderr
            self.assertIn(needle.lower() if ignore_case else needle, haystack,
                          "stderr should name %r; %s" % (needle, detail))
        return proc.stderr

    def test_intact_checkpoint_scores(self):
        proc, out = self.score(self.copy_base())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(os.path.getsize(out), len(self.ids) * self.vocab * 4)

    def test_missing_tensor(self):
        model_dir = self.with_tensors(lambda es: [e for e in es if e[0] != KV_B1])
        self.assertRefused(model_dir, KV_B1)

    def test_wrong_shape(self):
        cases = {
            "transposed": (KV_B1, lambda shape: shape[::-1]),
            "one row short": ("model.layers.0.self_attn.gate_norm.weight", lambda shape: [shape[0] - 1]),
            "lm_head too wide": ("lm_head.weight", lambda shape: [shape[0], shape[1] + 1]),
        }
        for case, (target, reshape) in cases.items():
            with self.subTest(case):
                shapes = {}

                def edit(entries, target=target, reshape=reshape, shapes=shapes):
                    out = []
                    for name, dtype, shape, data in entries:
                        if name == target:
                            shapes["want"], shape = shape, reshape(shape)
                            data = (data * 2)[:4 * math.prod(shape)]  # bytes match the new shape
                            shapes["got"] = shape
                        out.append((name, dtype, shape, data))
                    return out
                stderr = self.assertRefused(self.with_tensors(edit), target)
                with self.subTest(case + ": both shapes named"):
                    for shape in shapes.values():
                        pattern = r"\D{1,4}".join(str(d) for d in shape)
                        self.assertRegex(stderr, r"(?<!\d)%s(?!\d)" % pattern,
                                         "stderr should show shape %s" % shape)

    def test_unexplained_extra_tensor(self):
        extras = {
            "model.layers.0.self_attn.bogus_proj.weight": [4, 4],
            "model.gate_embeddings.3.weight": [self.vocab, 16],  # 3 layers -> groups 0..2
            "model.layers.3.input_layernorm.weight": [64],  # layer past num_hidden_layers
        }
        for name, shape in extras.items():
            with self.subTest(name):
                data = b"\0" * (4 * math.prod(shape))
                model_dir = self.with_tensors(lambda es: es + [(name, "F32", shape, data)])
                self.assertRefused(model_dir, name)

    def test_bad_dtype(self):
        target = "model.layers.0.self_attn.gate_norm.bias"

        def edit(entries):
            return [(n, "F64", s, d * 2) if n == target else (n, t, s, d) for n, t, s, d in entries]
        self.assertRefused(self.with_tensors(edit), target, "F64")

    def test_truncated_file(self):
        model_dir = self.copy_base()
        path = os.path.join(model_dir, "model.safetensors")
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
        self.assertRefused(model_dir, "truncated", "model.safetensors", ignore_case=True)
        for size in (100, 5):  # inside the JSON header; inside the 8-byte length
            with self.subTest(cut_to=size):
                with open(path, "r+b") as f:
                    f.truncate(size)
                self.assertRefused(model_dir, "model.safetensors")

    def test_invalid_config_fields(self):
        cases = [
            ("kv_lora_rank", -1), ("attention_type", "gqa"), ("hidden_size", "abc"),
            ("rope_scaling", {"type": "linear"}), ("gate_placement", "nowhere"),
            ("gate_layer_group_size", 0), ("num_attention_heads", 0), ("rope_interleave", "yes"),
            ("gate_embedding_dim", None),  # None: the required key is removed
        ]
        for field, value in cases:
            with self.subTest(field=field, value=value):
                def edit(config):
                    if value is None:
                        del config[field]
                    else:
                        config[field] = value
                self.assertRefused(self.with_config(edit), field)

    def test_config_not_json(self):
        model_dir = self.copy_base()
        with open(os.path.join(model_dir, "config.json"), "w") as f:
            f.write('{"attention_type": "eg_mla",')
        self.assertRefused(model_dir, "config.json")

    def test_bad_token_ids(self):
        model_dir = self.copy_base()
        for token_ids in (self.ids[:3] + [self.vocab], [self.vocab + 1000], "1,-1,2", "1,x,2"):
            with self.subTest(token_ids=token_ids):
                self.assertRefused(model_dir, "token", token_ids=token_ids, ignore_case=True)

    def test_missing_model_dir(self):
        missing = os.path.join(self.tmp, "no_such_model_dir")
        self.assertRefused(missing, "no_such_model_dir")


if __name__ == "__main__":
    ARGS, argv = harness.parse_args(__doc__.splitlines()[0])
    unittest.main(argv=argv)
