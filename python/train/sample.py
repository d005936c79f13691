"""Greedy continuation of a text prompt by the PyTorch reference: a sanity check of a trained
checkpoint (and what `egmla generate TEXT` at temperature 0 should print, up to near-ties).

    /usr/bin/python3 python/train/sample.py models/egmla-kjv "In the beginning" [--tokens 30]

The prompt is encoded with `spm_encode --output_format=id` (no bos, as the server does); each
step takes the argmax of the last row's logits (lowest id on ties) and stops early at eos.
Prints the prompt ids, the generated ids and `spm_decode` of prompt + generation.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import common  # noqa: E402
from egmla_ref import checkpoint, model  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("prompt")
    parser.add_argument("--tokens", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(2)

    config, weights = checkpoint.read_checkpoint(args.model_dir)
    tokenizer = os.path.join(args.model_dir, "tokenizer.model")
    prompt = common.spm_encode(tokenizer, args.prompt)
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(args.tokens):
            if len(ids) >= config.get("max_position_embeddings", 1 << 30):
                break
            logits = model.forward(config, weights, ids)[-1]
            best = int(torch.argmax(logits).item())  # first maximum = lowest id on ties
            ids.append(best)
            if best == config["eos_token_id"]:
                break
    print(json.dumps({"prompt_ids": prompt, "generated_ids": ids[len(prompt):]}))
    print(common.spm_decode(tokenizer, ids))


if __name__ == "__main__":
    main()
