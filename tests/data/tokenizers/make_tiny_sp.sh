#!/bin/bash
# Trains tests/data/tokenizers/tiny_sp.model (a small SentencePiece BPE model with byte fallback,
# identity normalization and whitespace kept, so encode/decode round-trips exactly) and writes
# tiny_sp_expected.json: the ids `spm_encode --output_format=id` gives for each line of TEXTS.
# Needs Debian's `sentencepiece` package (spm_train, spm_encode). Run from anywhere.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

spm_train --input=/usr/share/common-licenses/GPL-3 --model_prefix="$tmp/tiny_sp" \
  --vocab_size=600 --model_type=bpe --byte_fallback=true --character_coverage=1.0 \
  --normalization_rule_name=identity --remove_extra_whitespaces=false --num_threads=1 \
  --minloglevel=2
cp "$tmp/tiny_sp.model" "$here/tiny_sp.model"

cat > "$tmp/texts.txt" <<'EOF'
Hello world
The GNU General Public License is a free, copyleft license.
  two  spaces and	tab
café naïve 日本語 😀 👍🏽
numbers 12345 and symbols #@!
You should have received a copy of the GNU General Public License
Привет, мир! Ελληνικά עברית
👨‍👩‍👧‍👦 family, 🇩🇪 flag
EOF
spm_encode --model="$here/tiny_sp.model" --output_format=id < "$tmp/texts.txt" > "$tmp/ids.txt"
/usr/bin/python3 - "$tmp/texts.txt" "$tmp/ids.txt" > "$here/tiny_sp_expected.json" <<'EOF'
import json, sys
texts = open(sys.argv[1], encoding="utf-8").read().split("\n")[:-1]
ids = [[int(x) for x in line.split()] for line in open(sys.argv[2]).read().split("\n")[:-1]]
assert len(texts) == len(ids)
print("[\n" + ",\n".join(json.dumps({"text": t, "ids": i}) for t, i in zip(texts, ids)) + "\n]")
EOF
echo "wrote $here/tiny_sp.model and $here/tiny_sp_expected.json"
