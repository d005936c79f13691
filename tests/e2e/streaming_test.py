"""Generate streams as DESIGN §4 and §5 specify: messages, Complete fields, sampling, logprobs,
stopping. One server for the file, with --default-max-tokens 7."""
import math
import os
import struct
from concurrent.futures import ThreadPoolExecutor

import harness
from harness import (ABORTED, EOS_ID, LENGTH, STOP, VOCAB_SIZE, cli, cli_greedy, generate,
                     greedy, request)


def log_softmax_row(logits):
    top = max(logits)
    log_sum = top + math.log(sum(math.exp(x - top) for x in logits))
    return [x - log_sum for x in logits]


class StreamingTest(harness.ModelTestCase):
    SERVER_FLAGS = ("--default-max-tokens", 7)

    def generate(self, req):
        result = generate(self.stub, req)
        self.assertEqual(result.code, harness.grpc.StatusCode.OK, result)
        return result

    def score_log_probs(self, ids):
        """Log-softmax rows of `egmla score` (row t predicts token t+1)."""
        path = os.path.join(self.tmp.name, "logits.bin")
        cli("score", "--model", self.model, "--token-ids", ",".join(map(str, ids)),
            "--logits-out", path)
        with open(path, "rb") as f:
            data = f.read()
        values = struct.unpack("<%df" % (len(data) // 4), data)
        return [log_softmax_row(values[t * VOCAB_SIZE:(t + 1) * VOCAB_SIZE])
                for t in range(len(ids))]

    def test_greedy_stream_is_one_chunk_per_token_then_one_complete(self):
        result = self.generate(greedy([1, 2, 3], max_tokens=6))
        kinds = [m.WhichOneof("kind") for m in result.messages]
        self.assertEqual(kinds, ["chunk"] * 6 + ["complete"])
        self.assertTrue(all(len(c.token_ids) == 1 for c in result.chunks))
        ids = {m.request_id for m in result.messages}
        self.assertEqual(len(ids), 1, "every message carries the same request_id")
        self.assertTrue(ids.pop(), "the server makes a request_id when the request has none")
        done = result.complete
        self.assertEqual(done.finish_reason, LENGTH)
        self.assertEqual(done.prompt_tokens, 3)
        self.assertEqual(done.completion_tokens, 6)
        self.assertEqual(done.matched_stop, "")
        self.assertGreater(done.timing.total_seconds, 0)
        self.assertGreaterEqual(done.timing.queue_seconds, 0)
        self.assertGreater(done.timing.time_to_first_token_seconds, 0)
        self.assertLessEqual(done.timing.time_to_first_token_seconds, done.timing.total_seconds)

    def test_given_request_id_is_on_every_message_and_ids_made_by_the_server_differ(self):
        result = self.generate(greedy(max_tokens=3, request_id="my-request-1"))
        self.assertEqual({m.request_id for m in result.messages}, {"my-request-1"})
        a = self.generate(greedy(max_tokens=1)).messages[0].request_id
        b = self.generate(greedy(max_tokens=1)).messages[0].request_id
        self.assertNotEqual(a, b)

    def test_greedy_output_equals_offline_run(self):
        for ids, n in (([1, 2, 3], 12), ([7, 8], 20), ([100, 200, 300, 400, 5], 9)):
            with self.subTest(ids=ids):
                self.assertEqual(self.generate(greedy(ids, max_tokens=n)).tokens,
                                 cli_greedy(self.model, ids, n))

    def test_seeded_sampling_is_reproducible_and_seed_is_echoed(self):
        req = request([9, 10], sampling=dict(temperature=1.0, seed=5),
                      stopping=dict(max_tokens=16, ignore_eos=True))
        first, second = self.generate(req), self.generate(req)
        self.assertEqual(len(first.tokens), 16)
        self.assertEqual(first.tokens, second.tokens)
        self.assertEqual(first.complete.seed, 5)
        offline = cli("run", "--model", self.model, "--token-ids", "9,10", "--max-tokens", 16,
                      "--ignore-eos", "--temperature", 1.0, "--seed", 5).stdout.split()
        self.assertEqual(first.tokens, [int(t) for t in offline],
                         "the server and `egmla run` draw the same Philox uniforms")
        others = {tuple(self.generate(request([9, 10], sampling=dict(temperature=1.0, seed=s),
                                              stopping=dict(max_tokens=16))).tokens)
                  for s in (6, 7, 8)}
        self.assertGreater(len(others | {tuple(first.tokens)}), 1, "the seed changes the draw")

    def test_seeded_sampling_does_not_depend_on_the_batch(self):
        req = request([11, 12, 13], sampling=dict(temperature=0.8, top_p=0.9, seed=42),
                      stopping=dict(max_tokens=24, ignore_eos=True))
        alone = self.generate(req).tokens
        noise = [request([i, i + 1], sampling=dict(temperature=1.0),
                         stopping=dict(max_tokens=40, ignore_eos=True)) for i in range(20, 26)]
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(generate, self.stub, r) for r in noise[:3]]
            batched = pool.submit(generate, self.stub, req)
            futures += [pool.submit(generate, self.stub, r) for r in noise[3:]]
            self.assertEqual(batched.result().tokens, alone)
            for f in futures:
                self.assertEqual(f.result().code, harness.grpc.StatusCode.OK)

    def test_unset_seed_is_returned_and_replays(self):
        req = request([3, 4], sampling=dict(temperature=1.0),
                      stopping=dict(max_tokens=12, ignore_eos=True))
        first = self.generate(req)
        req.sampling.seed = first.complete.seed
        replay = self.generate(req)
        self.assertEqual(replay.tokens, first.tokens)
        self.assertEqual(replay.complete.seed, first.complete.seed)

    def test_logprobs_and_top_logprobs_are_the_models_own(self):
        prompt = [1, 2, 3]
        result = self.generate(greedy(prompt, max_tokens=5, return_logprobs=True, top_logprobs=5))
        tokens = result.tokens
        log_probs = self.score_log_probs(prompt + tokens)
        for i, chunk in enumerate(result.chunks):
            self.assertEqual(len(chunk.logprobs), len(chunk.token_ids))
            self.assertEqual(len(chunk.top_logprobs), len(chunk.token_ids))
            top = chunk.top_logprobs[0]
            self.assertEqual(len(top.token_ids), 5)
            self.assertEqual(len(top.logprobs), 5)
            self.assertEqual(list(top.logprobs), sorted(top.logprobs, reverse=True))
            self.assertEqual(top.token_ids[0], chunk.token_ids[0], "greedy takes the top token")
            self.assertAlmostEqual(chunk.logprobs[0], top.logprobs[0], places=5)
            row = log_probs[len(prompt) - 1 + i]
            self.assertAlmostEqual(chunk.logprobs[0], row[chunk.token_ids[0]], delta=2e-3)
            for token_id, lp in zip(top.token_ids, top.logprobs):
                self.assertAlmostEqual(lp, row[token_id], delta=2e-3)

    def test_logprobs_are_absent_unless_asked(self):
        result = self.generate(greedy(max_tokens=3))
        for chunk in result.chunks:
            self.assertEqual(list(chunk.logprobs), [], "return_logprobs was not set")
            self.assertEqual(len(chunk.top_logprobs), 0)
        self.assertEqual(list(result.complete.prompt_logprobs), [])

    def test_top_logprobs_alone_gives_shapes(self):
        result = self.generate(greedy(max_tokens=2, top_logprobs=3))
        for chunk in result.chunks:
            self.assertEqual([len(t.token_ids) for t in chunk.top_logprobs], [3])

    def test_prompt_logprobs_has_one_entry_per_prompt_token_after_the_first(self):
        prompt = [5, 17, 300, 42, 8, 9]
        result = self.generate(greedy(prompt, max_tokens=2, return_prompt_logprobs=True))
        got = list(result.complete.prompt_logprobs)
        self.assertEqual(len(got), len(prompt) - 1)
        log_probs = self.score_log_probs(prompt)
        for t, lp in enumerate(got):
            self.assertAlmostEqual(lp, log_probs[t][prompt[t + 1]], delta=2e-3)

    def test_stop_token_id_ends_with_stop_and_is_in_the_output(self):
        plain = self.generate(greedy([1, 2, 3], max_tokens=10)).tokens
        stop_id = plain[3]
        k = plain.index(stop_id)
        result = self.generate(greedy([1, 2, 3], max_tokens=10,
                                      stopping=dict(stop_token_ids=[stop_id, 511])))
        self.assertEqual(result.tokens, plain[:k + 1])
        done = result.complete
        self.assertEqual(done.finish_reason, STOP)
        self.assertEqual(done.matched_stop, str(stop_id))
        self.assertEqual(done.completion_tokens, k + 1)

    def find_eos_prompt(self):
        for first in range(3, 200):
            result = self.generate(greedy([first], max_tokens=64))
            if result.complete.finish_reason == STOP:
                return [first], result
        self.skipTest("no single-token prompt of this random model reaches eos in 64 tokens")

    def test_eos_stops_unless_ignore_eos(self):
        prompt, result = self.find_eos_prompt()
        self.assertEqual(result.tokens[-1], EOS_ID)
        self.assertEqual(result.complete.matched_stop, "", "eos has no matched_stop")
        self.assertEqual(result.complete.completion_tokens, len(result.tokens))
        n = len(result.tokens) + 5
        ignored = self.generate(greedy(prompt, max_tokens=n, stopping=dict(ignore_eos=True)))
        self.assertEqual(ignored.complete.finish_reason, LENGTH)
        self.assertEqual(len(ignored.tokens), n)
        self.assertEqual(ignored.tokens[:len(result.tokens)], result.tokens)

    def test_min_tokens_masks_stop_ids(self):
        plain = self.generate(greedy([1, 2, 3], max_tokens=10)).tokens
        result = self.generate(greedy([1, 2, 3], max_tokens=10,
                                      stopping=dict(stop_token_ids=[plain[0]], min_tokens=3)))
        self.assertGreaterEqual(len(result.tokens), 3)
        self.assertNotEqual(result.tokens[0], plain[0], "a stop id is masked before min_tokens")

    def test_max_tokens_zero_is_the_servers_default(self):
        result = self.generate(request([1, 2, 3], sampling=dict(temperature=0.0),
                                       stopping=dict(max_tokens=0, ignore_eos=True)))
        self.assertEqual(len(result.tokens), 7)
        self.assertEqual(result.complete.finish_reason, LENGTH)
        unset = self.generate(request([4, 5], stopping=dict(ignore_eos=True)))
        self.assertEqual(len(unset.tokens), 7)

    def test_penalties_and_filters_are_accepted(self):
        result = self.generate(request(
            [1, 2, 3], sampling=dict(temperature=0.7, top_p=0.95, top_k=40, min_p=0.05,
                                     repetition_penalty=1.3, presence_penalty=0.5,
                                     frequency_penalty=-0.5, seed=1),
            stopping=dict(max_tokens=6, ignore_eos=True)))
        self.assertEqual(len(result.tokens), 6)
        self.assertTrue(all(0 <= t < VOCAB_SIZE for t in result.tokens))
        self.assertNotEqual(result.complete.finish_reason, ABORTED)


if __name__ == "__main__":
    harness.main()
