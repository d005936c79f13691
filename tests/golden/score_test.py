"""Golden test: `egmla score` must reproduce the PyTorch reference logits of every variant.

    /usr/bin/python3 tests/golden/score_test.py --egmla build/tools/egmla --golden DIR [--generate]

DIR is written by python/egmla_ref/golden.py. Tolerance per variant:
max |C++ - reference| <= 1e-4 * max |reference|.
"""
import os
import tempfile
import unittest

import numpy as np

import harness

RELATIVE_TOLERANCE = 1e-4
ARGS = None


class ScoreTest(unittest.TestCase):
    def test_variants_match_reference(self):
        names = harness.variants(ARGS.golden)
        self.assertTrue(names, "variants.json lists no variants")
        with tempfile.TemporaryDirectory() as tmp:
            for name in names:
                with self.subTest(variant=name):
                    self.check_variant(name, os.path.join(tmp, name + ".f32"))

    def check_variant(self, name, logits_out):
        variant_dir = os.path.join(ARGS.golden, name)
        ids = harness.prompt(variant_dir)
        want = np.fromfile(os.path.join(variant_dir, "logits.f32"), dtype="<f4")
        want = want.reshape(len(ids), -1)
        proc = harness.score(ARGS.egmla, variant_dir, ids, logits_out)
        if proc.returncode != 0:
            print("%-24s FAILED: exit %d\n%s" % (name, proc.returncode, proc.stderr.strip()))
        self.assertEqual(proc.returncode, 0, "%s: egmla score exited %d: %s"
                         % (name, proc.returncode, proc.stderr.strip()))
        got = np.fromfile(logits_out, dtype="<f4")
        self.assertEqual(got.size, want.size, "%s: %d floats written, want T*vocab = %d*%d"
                         % (name, got.size, want.shape[0], want.shape[1]))
        got = got.reshape(want.shape)
        self.assertTrue(np.isfinite(got).all(), "%s: non-finite logits" % name)
        err = np.abs(got.astype(np.float64) - want).max()
        tol = RELATIVE_TOLERANCE * np.abs(want).max()
        row, col = np.unravel_index(np.argmax(np.abs(got - want)), want.shape)
        verdict = "ok" if err <= tol else "MISMATCH"
        print("%-24s max abs err %.3g (tol %.3g, worst at token %d, id %d) %s"
              % (name, err, tol, row, col, verdict))
        self.assertLessEqual(err, tol, "%s: max abs error %.6g > tolerance %.6g (worst at row %d "
                             "col %d: got %.6f want %.6f)" % (name, err, tol, row, col,
                                                               got[row, col], want[row, col]))


if __name__ == "__main__":
    ARGS, argv = harness.parse_args(__doc__.splitlines()[0])
    unittest.main(argv=argv)
