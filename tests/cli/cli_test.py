"""The offline `egmla` subcommands as a user runs them (DESIGN §5.1).

Run: /usr/bin/python3 tests/cli/cli_test.py --egmla build/tools/egmla
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EGMLA = None
CONFIG = os.path.join(REPO, "models", "default.config.json")


def egmla(*args, check=True, timeout=120):
    proc = subprocess.run([EGMLA, *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError("egmla %s failed (%d): %s" % (" ".join(args), proc.returncode,
                                                           proc.stderr))
    return proc


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = os.path.join(cls.tmp.name, "model")
        egmla("random-model", "--config", CONFIG, "--seed", "3", "--out", cls.model)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def test_random_model_is_deterministic_per_seed(self):
        same = os.path.join(self.tmp.name, "same")
        other = os.path.join(self.tmp.name, "other")
        egmla("random-model", "--config", CONFIG, "--seed", "3", "--out", same)
        egmla("random-model", "--config", CONFIG, "--seed", "4", "--out", other)
        weights = lambda d: self.read(os.path.join(d, "model.safetensors"))
        self.assertEqual(weights(self.model), weights(same))
        self.assertNotEqual(weights(self.model), weights(other))

    def test_random_model_in_bf16_is_half_the_size_and_scores(self):
        bf16 = os.path.join(self.tmp.name, "bf16")
        egmla("random-model", "--config", CONFIG, "--seed", "3", "--out", bf16, "--dtype", "bf16")
        size = lambda d: os.path.getsize(os.path.join(d, "model.safetensors"))
        self.assertLess(size(bf16), 0.55 * size(self.model))
        out = os.path.join(self.tmp.name, "bf16.logits")
        egmla("score", "--model", bf16, "--token-ids", "1,2,3", "--logits-out", out)
        self.assertEqual(os.path.getsize(out), 3 * 512 * 4)

    def test_random_model_requires_a_seed(self):
        proc = egmla("random-model", "--config", CONFIG, "--out", self.tmp.name + "/x",
                     check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("--seed", proc.stderr)

    def test_run_greedy_is_reproducible_and_prompt_files_match_single_prompts(self):
        one = egmla("run", "--model", self.model, "--token-ids", "1,2,3", "--max-tokens", "8")
        again = egmla("run", "--model", self.model, "--token-ids", "1,2,3", "--max-tokens", "8")
        self.assertEqual(one.stdout, again.stdout)
        self.assertEqual(len(one.stdout.split()), 8)
        two = egmla("run", "--model", self.model, "--token-ids", "7 8", "--max-tokens", "8")
        prompts = os.path.join(self.tmp.name, "prompts.txt")
        with open(prompts, "w") as f:
            f.write("1,2,3\n7 8\n")
        both = egmla("run", "--model", self.model, "--prompts", prompts, "--max-tokens", "8")
        self.assertEqual(both.stdout, one.stdout + two.stdout)

    def test_run_seeded_sampling_is_reproducible(self):
        args = ["run", "--model", self.model, "--token-ids", "5", "--max-tokens", "12",
                "--temperature", "1.0", "--top-k", "50"]
        a = egmla(*args, "--seed", "11").stdout
        self.assertEqual(a, egmla(*args, "--seed", "11").stdout)
        self.assertNotEqual(a, egmla(*args, "--seed", "12").stdout)

    def test_run_refuses_text_without_a_tokenizer(self):
        proc = egmla("run", "--model", self.model, "--prompt", "hello", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("tokenizer", proc.stderr)

    def test_run_refuses_out_of_range_sampling(self):
        proc = egmla("run", "--model", self.model, "--token-ids", "1", "--top-p", "0",
                     check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("--top-p", proc.stderr)

    def test_kv_size_prints_one_json_object(self):
        out = json.loads(egmla("kv-size", "--config", CONFIG, "--dtype", "bf16").stdout)
        self.assertEqual(set(out), {"elements_per_token", "bytes_per_token", "gate_table_bytes"})
        # 4 layers x (16 + 16), bf16, plus what the up-projected gate keeps per token: the 4-byte
        # token id and, per layer, the LayerNorm statistics (two fp32; issue 15).
        self.assertEqual(out["elements_per_token"], 128)
        self.assertEqual(out["bytes_per_token"], 128 * 2 + 4 + 4 * 8)

    def test_kv_size_refuses_a_bad_dtype(self):
        proc = egmla("kv-size", "--config", CONFIG, "--dtype", "fp8", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("--dtype", proc.stderr)

    def test_fifo_config_is_refused_at_once(self):
        # A FIFO nobody writes to used to block egmla in open(2) forever.
        fifo = os.path.join(self.tmp.name, "fifo.json")
        os.mkfifo(fifo)
        try:
            proc = egmla("kv-size", "--config", fifo, "--dtype", "bf16", check=False, timeout=20)
        finally:
            os.unlink(fifo)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(fifo + ": is a FIFO", proc.stderr)

    def test_tokenizer_that_is_a_directory_is_an_error_not_no_tokenizer(self):
        model = os.path.join(self.tmp.name, "dir_tokenizer")
        egmla("random-model", "--config", CONFIG, "--seed", "3", "--out", model)
        os.mkdir(os.path.join(model, "tokenizer.json"))
        proc = egmla("run", "--model", model, "--token-ids", "1,2", "--max-tokens", "2",
                     check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(os.path.join(model, "tokenizer.json") + ": is a directory", proc.stderr)

    def test_client_refuses_unsendable_or_unreadable_api_key_files(self):
        # gRPC aborted the client (SIGABRT) on a key it cannot send as a header value; a
        # directory was reported as "is empty".
        key = os.path.join(self.tmp.name, "bad.key")
        with open(key, "wb") as f:
            f.write(b"SECRET\nPART\n")
        for path, expected in ((key, "a line break (0x0A) at byte offset 6"),
                               (self.tmp.name, "is a directory")):
            proc = egmla("health", "--server", "127.0.0.1:1", "--timeout", "5",
                         "--api-key-file", path, check=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("egmla health: --api-key-file: " + path, proc.stderr)
            self.assertIn(expected, proc.stderr)
            self.assertNotIn("SECRET", proc.stderr)

    def test_unknown_subcommand_and_flag_fail(self):
        self.assertNotEqual(egmla("frobnicate", check=False).returncode, 0)
        proc = egmla("score", "--no-such-flag", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("no_such_flag", proc.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--egmla", required=True)
    args, rest = parser.parse_known_args()
    EGMLA = os.path.abspath(args.egmla)
    unittest.main(argv=[sys.argv[0]] + rest)
