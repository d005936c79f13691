"""Shared plumbing of the golden tests: arguments, the `egmla score` call, golden data."""
import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN_SCRIPT = os.path.join(REPO, "python", "egmla_ref", "golden.py")
SCORE_TIMEOUT_S = 300


def parse_args(description):
    """Parses --egmla/--golden(/--generate) and returns (args, argv left for unittest).

    Exits 2 with a clear message when the binary or the golden data is missing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--egmla", required=True, help="path to the egmla binary")
    parser.add_argument("--golden", required=True, help="golden data directory (golden.py --out)")
    parser.add_argument("--generate", action="store_true",
                        help="(re)write the golden data into --golden first, with %s" % GOLDEN_SCRIPT)
    args, rest = parser.parse_known_args()
    if args.generate:
        subprocess.run([sys.executable, GOLDEN_SCRIPT, "--out", args.golden], check=True,
                       stdout=subprocess.DEVNULL)
    if not (os.path.isfile(args.egmla) and os.access(args.egmla, os.X_OK)):
        sys.exit("error: egmla binary not found or not executable: %s (build it first, e.g. "
                 "cmake --build build --target egmla)" % args.egmla)
    if not os.path.isfile(os.path.join(args.golden, "variants.json")):
        sys.exit("error: no variants.json in %s; write the golden data with "
                 "/usr/bin/python3 %s --out %s (or pass --generate)"
                 % (args.golden, os.path.relpath(GOLDEN_SCRIPT), args.golden))
    return args, [sys.argv[0]] + rest


def variants(golden_dir):
    with open(os.path.join(golden_dir, "variants.json")) as f:
        return json.load(f)["variants"]


def prompt(variant_dir):
    with open(os.path.join(variant_dir, "prompt.json")) as f:
        return json.load(f)["token_ids"]


def vocab_size(variant_dir):
    with open(os.path.join(variant_dir, "config.json")) as f:
        return json.load(f)["vocab_size"]


def score(egmla, model_dir, token_ids, logits_out):
    """Runs `egmla score`; token_ids is a list of ints or a ready string. -> CompletedProcess."""
    if not isinstance(token_ids, str):
        token_ids = ",".join(str(i) for i in token_ids)
    cmd = [egmla, "score", "--model", model_dir, "--token-ids", token_ids, "--logits-out", logits_out]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              timeout=SCORE_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("timed out after %ds: %s" % (SCORE_TIMEOUT_S, " ".join(cmd))) from e
