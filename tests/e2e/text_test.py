"""Text in, text out through the real server (DESIGN §4, §5): a model directory with a
SentencePiece tokenizer.model takes text prompts, streams Chunk.text, honours stop sequences
across chunks; `egmla generate TEXT` prints the text; `egmla run` agrees."""
import json

import grpc

import harness
from harness import cli, collect, pb

TINY_SP = harness.TINY_SP


def text_request(text, max_tokens=24, stop=(), **fields):
    return pb.GenerateRequest(text=text, sampling=pb.SamplingParams(temperature=0.0),
                              stopping=pb.StoppingCriteria(max_tokens=max_tokens,
                                                           ignore_eos=True,
                                                           stop_sequences=list(stop)),
                              **fields)


class TextTest(harness.ModelTestCase):
    SERVER_FLAGS = ()
    TEXT_MODEL = {}

    def generate(self, req):
        return collect(self.stub.Generate(req, timeout=60))

    def test_model_info_reports_the_tokenizer(self):
        self.assertTrue(self.stub.GetModelInfo(pb.GetModelInfoRequest()).has_tokenizer)

    def test_text_prompt_streams_text(self):
        result = self.generate(text_request("This program is free software"))
        self.assertEqual(result.code, grpc.StatusCode.OK, result.details)
        self.assertEqual(len(result.tokens), 24)
        self.assertGreater(len("".join(c.text for c in result.chunks)), 0)
        # The same prompt as ids gives the same tokens; the server puts the model's bos (1, not its
        # eos) in front of a text prompt.
        ids = [1] + json.loads(cli("tokenize", "--tokenizer", TINY_SP, "--",
                             "This program is free software").stdout)
        by_ids = collect(self.stub.Generate(harness.greedy(ids, max_tokens=24,
                                                           stopping={"ignore_eos": True})))
        self.assertEqual(by_ids.tokens, result.tokens)

    def test_stop_sequence_cuts_the_text_and_ends_the_stream(self):
        free = self.generate(text_request("Everyone is permitted", max_tokens=30))
        text = "".join(c.text for c in free.chunks)
        self.assertGreater(len(text), 12)
        stop = text[8:12]
        result = self.generate(text_request("Everyone is permitted", max_tokens=30, stop=[stop]))
        self.assertEqual(result.code, grpc.StatusCode.OK, result.details)
        self.assertEqual("".join(c.text for c in result.chunks), text[:text.find(stop)])
        self.assertEqual(result.complete.finish_reason, pb.FINISH_REASON_STOP_SEQUENCE)
        self.assertEqual(result.complete.matched_stop, stop)

    def test_cli_generate_prints_the_streamed_text(self):
        result = self.generate(text_request("Everyone is permitted", max_tokens=10))
        out = cli("generate", "--server", self.server.address, "--max-tokens", 10,
                  "--ignore-eos", "Everyone is permitted").stdout
        self.assertEqual(out, "".join(c.text for c in result.chunks) + "\n")


if __name__ == "__main__":
    harness.main()
