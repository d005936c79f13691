#!/usr/bin/env bash
# Reproduces docs/models.md by hand (never in CI): corpus and tokenizer, the three models, their
# evaluation, and the shipped EG-MLA model in models/egmla-kjv with its parity reference.
# About 35-40 minutes on an idle 2-core machine; run from the repository root:
#   bash python/train/run_all.sh
# train.py writes each model to $OUT/NAME/best (lowest held-out loss; at 1,200 steps that was the
# last step for all three) and resumes from $OUT/NAME/last.pt when run again.
# The longer runs of issue 21 (4,800 steps, the equal-cache controls, two seeds): run_table.sh.
set -euo pipefail
PY=/usr/bin/python3
OUT=${OUT:-build-train}

$PY python/train/prepare_data.py --out "$OUT/data"
for name in egmla_kv16 mla_kv64 mha; do
  $PY python/train/train.py "python/train/configs/$name.json" --data "$OUT/data" --out "$OUT/$name" \
    2>&1 | tee -a "$OUT/$name.log"
  $PY python/train/evaluate.py "$OUT/$name/best" --data "$OUT/data" --json "$OUT/$name.eval.json"
done

# The shipped model: config.json, model.safetensors (f32), tokenizer.model.
mkdir -p models/egmla-kjv
cp "$OUT/egmla_kv16/best/config.json" "$OUT/egmla_kv16/best/model.safetensors" "$OUT/egmla_kv16/best/tokenizer.model" \
  models/egmla-kjv/
# The held-out passage (John 3:1-7, in the held-out chapter John 3) and its reference logprobs.
grep '^John3:[1-7] ' "$OUT/data/kjv.txt" | sed 's/^[^ ]* //' | paste -sd' ' > models/egmla-kjv/heldout_passage.txt
$PY python/train/reference_logprobs.py models/egmla-kjv --passage-file models/egmla-kjv/heldout_passage.txt \
  --out models/egmla-kjv/heldout_passage.json
$PY python/train/evaluate.py models/egmla-kjv --data "$OUT/data"
$PY python/train/sample.py models/egmla-kjv "In the beginning" --tokens 30
