"""The shipped trained model (models/egmla-kjv, issue 7): the server's prompt logprobs on a
held-out passage match the PyTorch reference's (python/train/reference_logprobs.py wrote them
to heldout_passage.json), and the passage's mean loss equals the reference's and the figure
docs/models.md gives. (The whole held-out set's loss, 3.0875, comes from the reference alone;
CI checks the passage, a held-out chapter's first 226 tokens.)

Tolerance: 2e-3 absolute per logprob. The reference runs fp32 PyTorch (log-softmax in fp64), the
server fp32 with its own summation order over 4 layers and a 2048-way softmax; observed
differences are around 1e-5, so 2e-3 only allows for other BLAS/CPU paths, while any real
divergence (a wrong layer, gate or RoPE) moves logprobs by 0.1 or more.
"""
import json
import os
import re
import unittest

import grpc

import harness
from harness import Server, collect, pb

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(REPO, "models", "egmla-kjv")
LOGPROB_TOLERANCE = 2e-3
LOSS_TOLERANCE = 1e-4


class TrainedModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(MODEL, "heldout_passage.json")) as f:
            cls.reference = json.load(f)
        cls.server = Server(MODEL).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_prompt_logprobs_and_loss_match_the_reference(self):
        ids = self.reference["prompt_token_ids"]
        req = pb.GenerateRequest(token_ids=pb.TokenIds(ids=ids), return_prompt_logprobs=True,
                                 sampling=pb.SamplingParams(temperature=0.0),
                                 stopping=pb.StoppingCriteria(max_tokens=1))
        result = collect(self.server.stub().Generate(req, timeout=120))
        self.assertEqual(result.code, grpc.StatusCode.OK, result.details)
        got = list(result.complete.prompt_logprobs)
        want = self.reference["prompt_logprobs"]
        self.assertEqual(len(got), len(ids) - 1)
        worst = max(abs(a - b) for a, b in zip(got, want))
        self.assertLessEqual(worst, LOGPROB_TOLERANCE)
        loss = -sum(got) / len(got)
        self.assertAlmostEqual(loss, self.reference["mean_loss"], delta=LOSS_TOLERANCE)
        # ... and the figure docs/models.md states for this passage.
        with open(os.path.join(REPO, "docs", "models.md")) as f:
            documented = re.search(r"mean loss: \*\*([0-9.]+) nats\*\* on this passage", f.read())
        self.assertIsNotNone(documented, "docs/models.md no longer states the passage loss")
        self.assertAlmostEqual(loss, float(documented.group(1)), delta=LOSS_TOLERANCE)
        print("max |logprob diff| %.2e; held-out passage loss %.6f (reference %.6f, docs %s)"
              % (worst, loss, self.reference["mean_loss"], documented.group(1)))

    def test_model_info(self):
        info = self.server.stub().GetModelInfo(pb.GetModelInfoRequest())
        self.assertTrue(info.has_tokenizer)
        self.assertEqual(info.attention_type, "eg_mla")


if __name__ == "__main__":
    harness.main()
