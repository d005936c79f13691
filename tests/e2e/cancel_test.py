"""A cancelled call, Abort and a passed deadline end a long generation and free its KV-cache
blocks (DESIGN §5); a request_id is taken while in flight (ALREADY_EXISTS) and free after."""
import tempfile
import time
import unittest

import harness
from harness import ABORTED, Server, collect, generate, greedy, grpc, long_request, pb


class CancelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        # 4096 tokens of context: a long request needs 64 of the 256 blocks and runs for tens of
        # seconds on CPU unless stopped.
        cls.server = Server(harness.make_model(cls.tmp.name), "--max-context", 4096,
                            "--num-kv-blocks", 256).start()
        cls.stub = cls.server.stub()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def tearDown(self):
        self.assertIdle()

    def assertIdle(self):
        load = self.server.wait_idle(timeout=10)
        self.assertEqual((load.running, load.waiting, load.kv_cache_usage), (0, 0, 0.0), load)
        self.assertEqual(load.free_blocks, load.total_blocks)
        self.assertEqual(load.total_blocks, 256)

    def start_long(self, n_chunks=3, **fields):
        """A long call that has streamed `n_chunks` messages, and those messages."""
        call = self.stub.Generate(long_request(**fields), timeout=120)
        messages = [next(call) for _ in range(n_chunks)]
        return call, messages

    def test_running_request_holds_blocks(self):
        call, _ = self.start_long()
        try:
            load = self.server.load()
            self.assertEqual(load.running, 1)
            self.assertGreater(load.kv_cache_usage, 0)
            self.assertLess(load.free_blocks, load.total_blocks)
        finally:
            call.cancel()

    def test_client_cancel_frees_the_blocks(self):
        call, _ = self.start_long()
        call.cancel()
        self.assertEqual(collect(call).code, grpc.StatusCode.CANCELLED)
        self.assertIdle()
        ok = generate(self.stub, greedy(max_tokens=4))
        self.assertEqual(len(ok.tokens), 4, "the server serves on after a cancel")

    def test_abort_ends_the_stream_with_complete_aborted_then_ok(self):
        call, first = self.start_long(request_id="to-abort")
        self.stub.Abort(pb.AbortRequest(request_id="to-abort"), timeout=10)
        result = collect(call, first)
        self.assertEqual(result.code, grpc.StatusCode.OK, result)
        done = result.complete
        self.assertEqual(done.finish_reason, ABORTED)
        self.assertEqual(done.completion_tokens, len(result.tokens))
        self.assertLess(len(result.tokens), 4096 - 3, "aborted long before the context limit")
        self.assertEqual({m.request_id for m in result.messages}, {"to-abort"})
        self.assertIdle()

        def abort_status():
            try:
                self.stub.Abort(pb.AbortRequest(request_id="to-abort"), timeout=10)
                return None
            except grpc.RpcError as e:
                return e.code()
        # An instant after the stream's end at most (see the reuse test below).
        self.assertEqual(harness.wait_until(abort_status, timeout=5), grpc.StatusCode.NOT_FOUND,
                         "a finished request is no longer in flight")

    def test_deadline_exceeded_frees_the_blocks(self):
        start = time.monotonic()
        result = generate(self.stub, long_request(), timeout=0.3)
        self.assertEqual(result.code, grpc.StatusCode.DEADLINE_EXCEEDED, result)
        self.assertLess(time.monotonic() - start, 5)
        self.assertIdle()

    def test_request_id_in_flight_is_already_exists_and_free_after(self):
        call, _ = self.start_long(request_id="twice")
        try:
            second = generate(self.stub, greedy(request_id="twice"), timeout=10)
            self.assertEqual(second.code, grpc.StatusCode.ALREADY_EXISTS, second)
            self.assertIn("request_id", second.details)
            self.assertEqual(second.messages, [])
            self.assertEqual(self.server.load().running, 1, "the first call goes on")
        finally:
            call.cancel()
        self.assertIdle()
        # The id is released when the cancelled call is done (an instant later at most).
        again = harness.wait_until(
            lambda: (lambda r: r if r.code == grpc.StatusCode.OK else None)(
                generate(self.stub, greedy(max_tokens=2, request_id="twice"), timeout=10)),
            timeout=5)
        self.assertIsNotNone(again, "request_id 'twice' stays taken after its call ended")
        self.assertEqual(len(again.tokens), 2)



class RequestIdReuseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.server = Server(harness.make_model(cls.tmp.name)).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def test_request_id_is_free_as_soon_as_its_stream_has_ended(self):
        stub = self.server.stub()
        for i in range(1000):
            result = generate(stub, greedy(max_tokens=1, request_id="reused"), timeout=10)
            self.assertEqual(result.code, grpc.StatusCode.OK, "call %d: %s" % (i, result))


if __name__ == "__main__":
    harness.main()
