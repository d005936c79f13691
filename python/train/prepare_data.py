"""Corpus and tokenizer for the bundled models (issue 7): the King James Bible from Debian's
`bible-kjv` package, split into train and held-out chapters, and a SentencePiece tokenizer
trained by `spm_train` on the train text only.

    /usr/bin/python3 python/train/prepare_data.py [--out build-train/data]

Needs the `bible` CLI (apt-get install bible-kjv) and spm_train / spm_encode (apt-get install
sentencepiece). Deterministic: the same package versions give byte-identical outputs, wherever --out is.

Corpus: `bible -f Gen1:1-Rev22:21` prints the 31,102 verses as "Ref text" lines. The 1,189
chapters are numbered 0..1188 in canonical order; chapter i is held out when i % 50 == 49
(Genesis 50, Exodus 50 - i.e. every 50th chapter: 23 chapters, about 2% of the text), the
rest is train. A chapter is its verses joined by single spaces (verse numbers dropped).

Token streams (what train.py and evaluate.py read): each chapter is encoded with
`spm_encode --output_format=id` and followed by eos (id 2); the chapters are concatenated in
order. No bos is ever inserted: windows are cut at arbitrary offsets of the stream, so a text
prompt encoded without special tokens (what egmla-server does) is what the model saw in training.

Outputs in --out:
  kjv.txt                    the raw dump, "Ref text" per line
  train_verses.txt           train verses, one per line (the tokenizer's training input)
  train_chapters.txt         train chapters, one per line
  heldout_chapters.txt       held-out chapters, one per line
  split.json                 which chapters are held out, and counts
  tokenizer.model / .vocab   the SentencePiece model
  train.ids / heldout.ids    spm_encode ids, one chapter per line (eos not included)
"""
import argparse
import json
import os
import re
import subprocess
import sys

HELDOUT_EVERY = 50  # chapter i (0-based, canonical order) is held out when i % 50 == 49

SPM_FLAGS = [
    "--model_type=unigram",
    "--character_coverage=1.0",
    "--byte_fallback=true",
    "--split_digits=true",
    "--unk_id=0", "--bos_id=1", "--eos_id=2", "--pad_id=-1",
    "--num_threads=1",          # one thread: the EM sums in a fixed order
    "--random_seed=1234",
    "--input_sentence_size=0",  # every training verse, no sampling
    "--shuffle_input_sentence=false",
    "--max_sentence_length=8192",
]


def dump_bible():
    """-> list of (book, chapter, verse, text) in canonical order."""
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True, capture_output=True,
                         text=True).stdout
    verses = []
    for line in out.splitlines():
        ref, text = line.split(" ", 1)
        m = re.fullmatch(r"(.+?)(\d+):(\d+)", ref)
        if not m:
            raise SystemExit("unexpected reference %r" % ref)
        verses.append((m.group(1), int(m.group(2)), int(m.group(3)), text.strip()))
    return out, verses


def chapters_of(verses):
    """-> list of ((book, chapter), [verse texts]) in order."""
    chapters = []
    for book, chapter, _, text in verses:
        if not chapters or chapters[-1][0] != (book, chapter):
            chapters.append(((book, chapter), []))
        chapters[-1][1].append(text)
    return chapters


def write_lines(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(line + "\n")


def encode(model, text_path, ids_path):
    subprocess.run(["spm_encode", "--model=" + model, "--output_format=id",
                    "--input=" + text_path, "--output=" + ids_path], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="build-train/data")
    parser.add_argument("--vocab-size", type=int, default=2048)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    path = lambda name: os.path.join(args.out, name)  # noqa: E731

    raw, verses = dump_bible()
    with open(path("kjv.txt"), "w") as f:
        f.write(raw)
    chapters = chapters_of(verses)
    heldout = [i for i in range(len(chapters)) if i % HELDOUT_EVERY == HELDOUT_EVERY - 1]
    is_heldout = set(heldout)
    train_chapters = [c for i, c in enumerate(chapters) if i not in is_heldout]
    heldout_chapters = [c for i, c in enumerate(chapters) if i in is_heldout]

    write_lines(path("train_verses.txt"), [v for _, vs in train_chapters for v in vs])
    write_lines(path("train_chapters.txt"), [" ".join(vs) for _, vs in train_chapters])
    write_lines(path("heldout_chapters.txt"), [" ".join(vs) for _, vs in heldout_chapters])

    # Run in --out with relative names: the .model records its trainer flags, paths included.
    subprocess.run(["spm_train", "--input=train_verses.txt", "--model_prefix=tokenizer",
                    "--vocab_size=%d" % args.vocab_size] + SPM_FLAGS, cwd=args.out,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    encode(path("tokenizer.model"), path("train_chapters.txt"), path("train.ids"))
    encode(path("tokenizer.model"), path("heldout_chapters.txt"), path("heldout.ids"))

    def count_tokens(name):
        with open(path(name)) as f:
            return sum(len(line.split()) + 1 for line in f)  # + eos per chapter

    split = {
        "source": "bible -f Gen1:1-Rev22:21 (Debian bible-kjv)",
        "rule": "chapter i (0-based, canonical order) held out when i %% %d == %d"
                % (HELDOUT_EVERY, HELDOUT_EVERY - 1),
        "heldout_chapters": ["%s %d" % chapters[i][0] for i in heldout],
        "chapters": {"train": len(train_chapters), "heldout": len(heldout_chapters)},
        "verses": {"train": sum(len(vs) for _, vs in train_chapters),
                   "heldout": sum(len(vs) for _, vs in heldout_chapters)},
        "tokens_with_eos": {"train": count_tokens("train.ids"),
                            "heldout": count_tokens("heldout.ids")},
        "spm_train": ["--vocab_size=%d" % args.vocab_size] + SPM_FLAGS,
    }
    with open(path("split.json"), "w") as f:
        json.dump(split, f, indent=2)
        f.write("\n")
    json.dump({k: split[k] for k in ("chapters", "verses", "tokens_with_eos")}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
