#!/usr/bin/env bash
# Issue 21: the rows of the models.md table trained closer to convergence (STEPS steps each, the
# cosine ending at the last step), with the equal-cache controls and a second seed for the
# MLA / EG-MLA pairs. Never in CI. Run from the repository root, detached:
#   STEPS=3000 setsid nohup nice -n 19 bash python/train/run_table.sh > build-train/run_table.out 2>&1 < /dev/null &
# Relaunch it the same way after an interruption: finished rows are skipped, partial ones resume
# from their last.pt (train.py), missing eval JSONs are written. JOBS rows run at a time, in the
# priority order below, each on one torch thread at nice 19.
#
# Per row NAME, under $ROOT (default build-train/t$STEPS):
#   NAME/best/          the output model (lowest held-out loss), NAME/last.pt (to resume),
#   NAME/train_log.json (every held-out loss), NAME.log (train.py's output, appended per launch),
#   NAME.eval.json      evaluate.py on NAME/best.
set -euo pipefail
PY=/usr/bin/python3
DATA=${DATA:-build-train/data}
STEPS=${STEPS:-3000}
ROOT=${ROOT:-build-train/t$STEPS}
JOBS=${JOBS:-2}
SEED_A=${SEED_A:-0}
SEED_B=${SEED_B:-1}
export PY DATA STEPS ROOT OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

if [ "${1:-}" = --row ]; then  # one row: NAME CONFIG SEED
  name=$2 config=python/train/configs/$3.json seed=$4
  out=$ROOT/$name
  echo "$(date -u +%FT%TZ) start $name ($config, seed $seed, $STEPS steps)"
  {
    echo "=== $(date -u +%FT%TZ) $name: $PY python/train/train.py $config --data $DATA --out $out --steps $STEPS --seed $seed --threads 1"
    nice -n 19 $PY python/train/train.py "$config" --data "$DATA" --out "$out" --steps "$STEPS" \
      --seed "$seed" --threads 1
  } >> "$ROOT/$name.log" 2>&1 || { echo "$(date -u +%FT%TZ) FAILED $name (see $ROOT/$name.log)"; exit 1; }
  if [ ! -f "$ROOT/$name.eval.json" ] || [ "$out/best/model.safetensors" -nt "$ROOT/$name.eval.json" ]; then
    nice -n 19 $PY python/train/evaluate.py "$out/best" --data "$DATA" --threads 1 \
      --json "$ROOT/$name.eval.json" > /dev/null 2>> "$ROOT/$name.log" \
      || { echo "$(date -u +%FT%TZ) FAILED evaluating $name"; exit 1; }
  fi
  echo "$(date -u +%FT%TZ) done $name: $($PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print("held-out loss %.4f at step %d" % (r["heldout_loss"], r["training"]["steps"]))' "$ROOT/$name.eval.json")"
  exit 0
fi

mkdir -p "$ROOT"
exec 9> "$ROOT/run_table.lock"
flock -n 9 || { echo "another run_table.sh is running on $ROOT"; exit 1; }
[ -f "$DATA/train.ids" ] || $PY python/train/prepare_data.py --out "$DATA"
echo "$(date -u +%FT%TZ) run_table: $STEPS steps, $JOBS at a time, into $ROOT"

# NAME CONFIG SEED, highest priority first.
xargs -P "$JOBS" -L 1 bash "$0" --row <<EOF && status=0 || status=$?
egmla_kv16 egmla_kv16 $SEED_A
mla_kv16 mla_kv16 $SEED_A
egmla_kv16_seed$SEED_B egmla_kv16 $SEED_B
mla_kv16_seed$SEED_B mla_kv16 $SEED_B
mla_kv64 mla_kv64 $SEED_A
egmla_kv64 egmla_kv64 $SEED_A
mha mha $SEED_A
egmla_latent_kv16 egmla_latent_kv16 $SEED_A
mla_kv64_seed$SEED_B mla_kv64 $SEED_B
egmla_kv64_seed$SEED_B egmla_kv64 $SEED_B
EOF
echo "$(date -u +%FT%TZ) run_table: finished (status $status)"
exit $status
