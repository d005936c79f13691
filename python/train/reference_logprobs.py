"""The PyTorch reference's prompt logprobs of a passage, for the C++ parity test (issue 7):
the server's `prompt_logprobs` for the same prompt must match these.

    /usr/bin/python3 python/train/reference_logprobs.py models/egmla-kjv \\
        --passage-file models/egmla-kjv/heldout_passage.txt --out models/egmla-kjv/heldout_passage.json

The passage file holds one line of text (a trailing newline is ignored). Its prompt ids are
`spm_encode --model=MODEL_DIR/tokenizer.model --output_format=id` of that line, with NO bos
prepended: egmla-server's tokenizer adds no special tokens, and the models were trained on
windows cut at arbitrary offsets of a bos-free stream. So sending the passage as text, or the
ids listed in the JSON as token_ids, gives the same prompt.

JSON written: prompt_token_ids (T ids), prompt_logprobs (T-1 values: entry t is
log p(ids[t+1] | ids[0..t]), as DESIGN 5 defines prompt_logprobs: log-softmax of the raw
logits), mean_loss (= -mean(prompt_logprobs), nats), and how they were computed: the reference
forward in fp32 on CPU over the checkpoint's stored weights (decoded exactly to fp32), the
log-softmax in fp64.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import common  # noqa: E402
from egmla_ref import checkpoint  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("--passage-file", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)

    with open(args.passage_file) as f:
        text = f.read()
    if text.endswith("\n"):
        text = text[:-1]
    if "\n" in text or not text:
        raise SystemExit("%s: expected one non-empty line of text" % args.passage_file)
    config, weights = checkpoint.read_checkpoint(args.model_dir)
    ids = common.spm_encode(os.path.join(args.model_dir, "tokenizer.model"), text)
    limit = config.get("max_position_embeddings")
    if limit is not None and len(ids) >= limit:
        raise SystemExit("passage is %d tokens; the model's context is %d (leave room for one)"
                         % (len(ids), limit))
    logprobs = common.prompt_logprobs(config, weights, ids)
    result = {
        "model_dir": os.path.normpath(args.model_dir),
        "passage_file": os.path.normpath(args.passage_file),
        "text": text,
        "bos_prepended": False,
        "num_prompt_tokens": len(ids),
        "prompt_token_ids": ids,
        "prompt_logprobs": logprobs,
        "mean_loss": -sum(logprobs) / len(logprobs),
        "computed_with": "python/egmla_ref/model.py forward, fp32 on CPU; log_softmax in fp64",
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print("%d prompt tokens, %d logprobs, mean loss %.6f nats -> %s"
          % (len(ids), len(logprobs), result["mean_loss"], args.out))


if __name__ == "__main__":
    main()
