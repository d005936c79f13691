#!/usr/bin/env bash
# Reproduces docs/models.md by hand (never in CI): corpus and tokenizer, the first table's three
# models (1,200 steps), the equal-cache table (run_table.sh: 3,000 steps), their evaluation, and
# the shipped EG-MLA model in models/egmla-kjv (EG-MLA kv16, seed 1, 3,000 steps) with its parity
# reference. Several hours on a 2-core machine; run from the repository root:
#   bash python/train/run_all.sh
# train.py writes each model to $OUT/NAME/best (lowest held-out loss) and resumes from
# $OUT/NAME/last.pt when run again.
set -euo pipefail
PY=/usr/bin/python3
OUT=${OUT:-build-train}

$PY python/train/prepare_data.py --out "$OUT/data"
for name in egmla_kv16 mla_kv64 mha; do
  $PY python/train/train.py "python/train/configs/$name.json" --data "$OUT/data" --out "$OUT/$name" \
    2>&1 | tee -a "$OUT/$name.log"
  $PY python/train/evaluate.py "$OUT/$name/best" --data "$OUT/data" --json "$OUT/$name.eval.json"
done

# The equal-cache table (issue 21), in the foreground.
STEPS=3000 ROOT="$OUT/t3000" DATA="$OUT/data" bash python/train/run_table.sh

# The shipped model: config.json (bos_token_id set to null: the models never saw bos),
# model.safetensors (f32), tokenizer.model.
mkdir -p models/egmla-kjv
best="$OUT/t3000/egmla_kv16_seed1/best"  # the lowest held-out loss of the EG-MLA rows
$PY -c 'import json, sys; c = json.load(open(sys.argv[1])); c["bos_token_id"] = None; json.dump(c, open(sys.argv[2], "w"), indent=2, sort_keys=True); open(sys.argv[2], "a").write("\n")' \
  "$best/config.json" models/egmla-kjv/config.json
cp "$best/model.safetensors" "$best/tokenizer.model" models/egmla-kjv/
# The held-out passage (John 3:1-7, in the held-out chapter John 3) and its reference logprobs.
grep '^John3:[1-7] ' "$OUT/data/kjv.txt" | sed 's/^[^ ]* //' | paste -sd' ' > models/egmla-kjv/heldout_passage.txt
$PY python/train/reference_logprobs.py models/egmla-kjv --passage-file models/egmla-kjv/heldout_passage.txt \
  --out models/egmla-kjv/heldout_passage.json
$PY python/train/evaluate.py models/egmla-kjv --data "$OUT/data"
$PY python/train/sample.py models/egmla-kjv "In the beginning" --tokens 30
