"""`egmla tokenize` gives GPT-2's own ids and `egmla detokenize` inverts it (DESIGN §5.1).

The expected ids come from the gpt-3-encoder npm package's reference encoder
(tests/data/tokenizers/README.md). Every hand-written case with non-ASCII text, plus a spread of
the rest, runs through the real binary; the full fixture is checked in-process by
model/gpt2_tokenizer_test.cc.

Run: /usr/bin/python3 tests/cli/tokenize_test.py --egmla build/tools/egmla
"""
import argparse
import json
import os
import subprocess
import sys
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(REPO, "tests", "data", "tokenizers")
GPT2 = os.path.join(DATA, "gpt2_tokenizer.json")
TINY_SP = os.path.join(DATA, "tiny_sp.model")
EGMLA = None


def egmla(*args):
    """Runs the CLI; stdout and stderr decoded as UTF-8 without newline translation."""
    proc = subprocess.run([EGMLA, *args], capture_output=True, timeout=60)
    proc.stdout = proc.stdout.decode("utf-8")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    return proc


def cases():
    with open(os.path.join(DATA, "gpt2_expected.json")) as f:
        all_cases = json.load(f)
    all_cases = [c for c in all_cases if "\x00" not in c["text"]]  # argv cannot carry NUL
    non_ascii = [c for c in all_cases if any(ord(ch) > 127 for ch in c["text"])]
    return non_ascii[:40] + all_cases[::15]


class TokenizeTest(unittest.TestCase):
    def test_gpt2_ids_and_round_trip(self):
        for case in cases():
            with self.subTest(text=case["text"]):
                out = egmla("tokenize", "--tokenizer", GPT2, "--", case["text"])
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertEqual(json.loads(out.stdout), case["ids"])
                back = egmla("detokenize", "--tokenizer", GPT2,
                             "--token-ids", ",".join(map(str, case["ids"])))
                self.assertEqual(back.returncode, 0, back.stderr)
                self.assertEqual(back.stdout[:-1], case["text"])  # one newline added

    def test_text_beginning_with_a_dash(self):
        out = egmla("tokenize", "--tokenizer", GPT2, "--", "--verbose -x")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(egmla("detokenize", "--tokenizer", GPT2, "--token-ids",
                               ",".join(map(str, json.loads(out.stdout)))).stdout,
                         "--verbose -x\n")

    def test_sentencepiece_model(self):
        text = "This program is free software."
        out = egmla("tokenize", "--tokenizer", TINY_SP, "--", text)
        self.assertEqual(out.returncode, 0, out.stderr)
        spm = subprocess.run(["spm_encode", "--model", TINY_SP, "--output_format=id"],
                             input=text, capture_output=True, text=True)
        if spm.returncode == 0:
            self.assertEqual(json.loads(out.stdout), [int(t) for t in spm.stdout.split()])
        back = egmla("detokenize", "--tokenizer", TINY_SP, "--token-ids",
                     ",".join(map(str, json.loads(out.stdout))))
        self.assertEqual(back.stdout, text + "\n")

    def test_errors_name_the_culprit(self):
        missing = egmla("tokenize", "--tokenizer", "/nonexistent/tokenizer.json", "--", "x")
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("/nonexistent/tokenizer.json", missing.stderr)
        no_flag = egmla("tokenize", "--", "x")
        self.assertNotEqual(no_flag.returncode, 0)
        self.assertIn("--tokenizer", no_flag.stderr)
        bad_id = egmla("detokenize", "--tokenizer", GPT2, "--token-ids", "1,99999999")
        self.assertNotEqual(bad_id.returncode, 0)
        self.assertIn("99999999", bad_id.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--egmla", required=True)
    args, rest = parser.parse_known_args()
    EGMLA = os.path.abspath(args.egmla)
    unittest.main(argv=[sys.argv[0]] + rest)
