"""Every bad request of DESIGN §5 gets its status code and a message naming the field. One
server with --max-context 32, on a model without a tokenizer. (ALREADY_EXISTS needs a long
stream: cancel_test.py.)"""
import tempfile
import unittest

import harness
from harness import Server, generate, greedy, grpc, pb, request

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.server = Server(harness.make_model(cls.tmp.name), "--max-context", 32).start()
        cls.stub = cls.server.stub()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def assertRefused(self, req, code, field):
        result = generate(self.stub, req, timeout=20)
        self.assertEqual(result.code, code, result)
        self.assertEqual(result.messages, [], "an error ends the stream before any message")
        self.assertIn(field, result.details)

    def test_empty_input(self):
        self.assertRefused(pb.GenerateRequest(), INVALID, "input")
        empty = pb.GenerateRequest()
        empty.token_ids.SetInParent()
        self.assertRefused(empty, INVALID, "token_ids")

    def test_token_id_outside_the_vocabulary(self):
        self.assertRefused(request([1, 512]), INVALID, "token_ids")
        self.assertRefused(request([1, 2**32 - 1]), INVALID, "token_ids")
        self.assertRefused(request([1], stopping=dict(stop_token_ids=[512])), INVALID,
                           "stop_token_ids")

    def test_sampling_values_out_of_range(self):
        cases = [("temperature", float("nan")), ("temperature", float("inf")),
                 ("temperature", -0.5), ("temperature", 100.5),
                 ("top_p", 0.0), ("top_p", 1.5), ("top_p", float("nan")),
                 ("min_p", 2.0), ("min_p", -0.1),
                 ("repetition_penalty", 0.0), ("repetition_penalty", 11.0),
                 ("presence_penalty", 3.0), ("frequency_penalty", -3.0)]
        for field, value in cases:
            with self.subTest(field=field, value=value):
                self.assertRefused(request([1, 2], sampling={field: value}), INVALID, field)

    def test_sampling_values_at_the_edges_are_accepted(self):
        for sampling in (dict(temperature=0.0), dict(temperature=100.0), dict(top_p=1.0),
                         dict(min_p=0.0), dict(min_p=1.0), dict(repetition_penalty=10.0),
                         dict(presence_penalty=-2.0), dict(frequency_penalty=2.0)):
            with self.subTest(**sampling):
                result = generate(self.stub, request([1, 2], sampling=sampling,
                                                     stopping=dict(max_tokens=2)))
                self.assertEqual(result.code, grpc.StatusCode.OK, result)

    def test_top_logprobs_over_20(self):
        self.assertRefused(greedy(max_tokens=1, top_logprobs=21), INVALID, "top_logprobs")
        ok = generate(self.stub, greedy(max_tokens=1, top_logprobs=20))
        self.assertEqual(ok.code, grpc.StatusCode.OK, ok)

    def test_stop_sequences_too_many_or_too_long(self):
        self.assertRefused(request([1], stopping=dict(stop_sequences=["s%d" % i
                                                                      for i in range(17)])),
                           INVALID, "stop_sequences")
        self.assertRefused(request([1], stopping=dict(stop_sequences=["x" * 257])), INVALID,
                           "stop_sequences")

    def test_request_id_over_128_bytes(self):
        self.assertRefused(greedy(request_id="r" * 129), INVALID, "request_id")
        ok = generate(self.stub, greedy(max_tokens=1, request_id="r" * 128))
        self.assertEqual(ok.code, grpc.StatusCode.OK, ok)
        self.assertEqual(ok.messages[0].request_id, "r" * 128)

    def test_prompt_too_long_for_the_context(self):
        self.assertRefused(greedy(list(range(3, 35))), INVALID, "token_ids")  # 32 tokens
        self.assertRefused(greedy(list(range(3, 36))), INVALID, "token_ids")  # 33 tokens
        # 31 tokens leave room for exactly one: the context limit ends it, or max_tokens when
        # both bind at once (DESIGN §4).
        at_limit = generate(self.stub, greedy(list(range(3, 34)), max_tokens=8,
                                              stopping=dict(ignore_eos=True)))
        self.assertEqual(at_limit.code, grpc.StatusCode.OK, at_limit)
        self.assertEqual(len(at_limit.tokens), 1)
        self.assertEqual(at_limit.complete.finish_reason, harness.CONTEXT_LIMIT)
        both = generate(self.stub, greedy(list(range(3, 34)), max_tokens=1,
                                          stopping=dict(ignore_eos=True)))
        self.assertEqual(both.complete.finish_reason, harness.LENGTH)

    def test_text_and_stop_sequences_need_a_tokenizer(self):
        self.assertRefused(pb.GenerateRequest(text="hello"), PRECONDITION, "text")
        self.assertRefused(request([1], stopping=dict(stop_sequences=["\n"])), PRECONDITION,
                           "stop_sequences")

    def test_abort_of_an_unknown_id_is_not_found(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.Abort(pb.AbortRequest(request_id="nobody"), timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertIn("nobody", caught.exception.details())

    def test_the_server_still_serves_after_bad_requests(self):
        ok = generate(self.stub, greedy(max_tokens=3))
        self.assertEqual(ok.code, grpc.StatusCode.OK, ok)
        self.assertEqual(len(ok.tokens), 3)


if __name__ == "__main__":
    harness.main()
