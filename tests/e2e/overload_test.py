"""Past --max-queued-requests a request is refused with RESOURCE_EXHAUSTED (DESIGN §4); the rest
run or wait, and cancelling them leaves the server idle."""
import tempfile
import threading
import unittest

import harness
from harness import Server, collect, generate, greedy, grpc, long_request


class OverloadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.server = Server(harness.make_model(cls.tmp.name), "--max-num-seqs", 1,
                            "--max-queued-requests", 2, "--max-context", 4096).start()
        cls.stub = cls.server.stub()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def test_queue_full_is_resource_exhausted(self):
        calls, results = [], {}

        def drive(i, call):
            results[i] = collect(call)

        # One runs first, so the others find it running and queue behind it.
        calls.append(self.stub.Generate(long_request(request_id="run-0"), timeout=120))
        first = next(calls[0])
        threads = [threading.Thread(target=drive, args=(0, calls[0]))]
        for i in range(1, 6):
            calls.append(self.stub.Generate(long_request(request_id="run-%d" % i), timeout=120))
            threads.append(threading.Thread(target=drive, args=(i, calls[i])))
        for t in threads:
            t.start()
        try:
            def settled():  # each of the 5 later requests is queued or refused
                load = self.server.load()
                refused = [i for i, r in list(results.items())
                           if r.code == grpc.StatusCode.RESOURCE_EXHAUSTED]
                return (load, refused) if len(refused) + load.waiting == 5 else None
            state = harness.wait_until(settled, timeout=20)
            self.assertIsNotNone(state, "requests neither queued nor refused: %s, %s"
                                 % (self.server.load(), results))
            load, refused = state
            self.assertTrue(refused, "no request was refused")
            self.assertEqual(load.running, 1)
            self.assertLessEqual(load.waiting, 2)
            for i in refused:
                self.assertEqual(results[i].messages, [])
                self.assertIn("queue", results[i].details.lower())
        finally:
            for call in calls:
                call.cancel()
            for t in threads:
                t.join(timeout=30)
        self.assertEqual(first.request_id, "run-0")
        for i, result in results.items():
            self.assertIn(result.code, (grpc.StatusCode.RESOURCE_EXHAUSTED,
                                        grpc.StatusCode.CANCELLED), (i, result))
        rejected = harness.parse_metrics(harness.scrape(self.server.metrics_port)).get(
            ("egmla_requests_rejected_total", frozenset({("code", "resource_exhausted")})))
        self.assertEqual(rejected, len(refused))
        load = self.server.wait_idle()
        self.assertEqual((load.running, load.waiting, load.kv_cache_usage), (0, 0, 0.0), load)
        ok = generate(self.stub, greedy(max_tokens=3))
        self.assertEqual(len(ok.tokens), 3, "the server serves on after the overload")


if __name__ == "__main__":
    harness.main()
