"""The bundled model (models/egmla-kjv, issue 21) holds up for its whole context: what a new user
sees first is the continuation of "In the beginning".

- Greedy, 250 new tokens (the prompt's 3 + 250 fill nearly all 256 positions of the context): no
  character repeated more than 6 times in a row (the 1,200-step model ended in "...and the
  grolllllllllll...").
- Sampled at temperature 0.8 with seeds 1, 2 and 3 (250 tokens each): on average at least 90% of
  the last 100 words are dictionary words (Debian's wamerican, case-folded; the 1,200-step model
  made about 86%).

eos is ignored so that every continuation runs the whole context: the corpus joins chapters with
eos, so past one the model starts a new chapter, as it did in training.

EGMLA_QUALITY_MODEL=DIR runs the same checks on another model directory (to choose a checkpoint).
"""
import os
import re
import unittest

import grpc

import harness
from harness import Server, generate, pb

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.environ.get("EGMLA_QUALITY_MODEL", os.path.join(REPO, "models", "egmla-kjv"))
DICTIONARY = "/usr/share/dict/american-english"  # Debian's wamerican (scripts/setup.sh)
PROMPT = "In the beginning"
NEW_TOKENS = 250
LONGEST_ALLOWED_RUN = 6
SAMPLE_SEEDS = (1, 2, 3)
LAST_WORDS = 100
MIN_DICTIONARY_SHARE = 0.90


def longest_character_run(text):
    """(length, character) of the longest run of one repeated character in `text`."""
    best, char = 0, ""
    for m in re.finditer(r"(.)\1*", text, re.S):
        if len(m.group(0)) > best:
            best, char = len(m.group(0)), m.group(1)
    return best, char


def words(text):
    """The words of `text`: letters with inner apostrophes or hyphens ("Lord's", "burnt-offering"
    counts as its parts)."""
    return [w for part in re.findall(r"[A-Za-z']+", text) for w in [part.strip("'")] if w]


def load_dictionary():
    with open(DICTIONARY, encoding="utf-8", errors="replace") as f:
        return {line.strip().lower() for line in f if line.strip()}


class BundledModelQualityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dictionary = load_dictionary()
        cls.server = Server(MODEL).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def continuation(self, temperature, seed=None):
        sampling = pb.SamplingParams(temperature=temperature)
        if seed is not None:
            sampling.seed = seed
        req = pb.GenerateRequest(text=PROMPT, sampling=sampling,
                                 stopping=pb.StoppingCriteria(max_tokens=NEW_TOKENS,
                                                              ignore_eos=True))
        result = generate(self.server.stub(), req, timeout=300)
        self.assertEqual(result.code, grpc.StatusCode.OK, result.details)
        self.assertEqual(sum(len(c.token_ids) for c in result.chunks), NEW_TOKENS)
        return "".join(c.text for c in result.chunks)

    def test_greedy_continuation_has_no_long_character_runs(self):
        text = self.continuation(temperature=0.0)
        run, char = longest_character_run(text)
        print("greedy: longest run %d x %r\n%s%s" % (run, char, PROMPT, text))
        self.assertLessEqual(run, LONGEST_ALLOWED_RUN,
                             "%r repeated %d times in: %s" % (char, run, text))

    def test_sampled_continuations_are_mostly_dictionary_words(self):
        shares = []
        for seed in SAMPLE_SEEDS:
            text = self.continuation(temperature=0.8, seed=seed)
            last = words(text)[-LAST_WORDS:]
            self.assertGreaterEqual(len(last), LAST_WORDS, "seed %d: too few words: %s" % (seed, text))
            unknown = [w for w in last if w.lower() not in self.dictionary]
            shares.append(1 - len(unknown) / len(last))
            print("seed %d: %.0f%% dictionary words; not in it: %s\n%s%s"
                  % (seed, 100 * shares[-1], " ".join(unknown), PROMPT, text))
        mean = sum(shares) / len(shares)
        print("mean dictionary share of the last %d words: %.1f%%" % (LAST_WORDS, 100 * mean))
        self.assertGreaterEqual(mean, MIN_DICTIONARY_SHARE)


if __name__ == "__main__":
    harness.main()
