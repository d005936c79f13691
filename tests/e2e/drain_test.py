"""SIGTERM and SIGINT drain the server as DESIGN §5 says: readiness NOT_SERVING (or the port
closed), new calls UNAVAILABLE, in-flight streams finish within --drain-timeout and the rest end
with Complete(ABORTED), exit 0."""
import signal
import time

import harness
from harness import (ABORTED, LENGTH, NOT_SERVING, READY_SERVICE, Server, collect, generate,
                     greedy, grpc, health_pb2, long_request, request)


class DrainTest(harness.ModelTestCase):
    def start(self, *flags):
        server = Server(self.model, "--max-context", 4096, *flags).start()
        self.addCleanup(server.stop)
        return server

    def assertBecomesNotReady(self, server, channel, timeout=0.8):
        """Readiness turns NOT_SERVING, or the listener closes: either way a balancer stops
        sending calls. (The signal is handled an instant after it is sent.)"""
        def not_ready():
            try:
                reply = server.health_stub(channel).Check(
                    health_pb2.HealthCheckRequest(service=READY_SERVICE), timeout=1)
                return reply.status == NOT_SERVING
            except grpc.RpcError as e:
                return e.code() == grpc.StatusCode.UNAVAILABLE
        self.assertTrue(harness.wait_until(not_ready, timeout=timeout, interval=0.02),
                        "still SERVING %.1f s after SIGTERM" % timeout)

    def test_past_the_drain_timeout_in_flight_streams_end_aborted(self):
        server = self.start("--drain-timeout", "1s")
        channel = server.channel()
        stub = server.stub(channel)
        call = stub.Generate(long_request(request_id="in-flight"), timeout=60)
        first = [next(call), next(call)]
        server.signal(signal.SIGTERM)
        signalled = time.monotonic()

        self.assertBecomesNotReady(server, channel)
        for c in (channel, server.channel()):  # the open connection, and a new one
            refused = generate(server.stub(c), greedy(max_tokens=2), timeout=5)
            self.assertEqual(refused.code, grpc.StatusCode.UNAVAILABLE, refused)
            self.assertEqual(refused.messages, [])

        result = collect(call, first)
        ended = time.monotonic() - signalled
        self.assertEqual(result.code, grpc.StatusCode.OK, result)
        self.assertEqual(result.complete.finish_reason, ABORTED)
        self.assertEqual(result.complete.completion_tokens, len(result.tokens))
        self.assertGreater(ended, 0.5, "the stream had --drain-timeout to finish")
        self.assertLess(ended, 10)
        self.assertEqual(server.wait_exit(timeout=30), 0, server.log())

    def test_short_in_flight_stream_completes_with_the_default_drain_timeout(self):
        server = self.start()
        stub = server.stub()
        started = time.monotonic()
        call = stub.Generate(request([1, 2, 3], sampling=dict(temperature=0.0),
                                     stopping=dict(max_tokens=300, ignore_eos=True)),
                             timeout=60)
        first = next(call)
        server.signal(signal.SIGTERM)
        signalled = time.monotonic() - started
        result = collect(call, [first])
        self.assertEqual(result.code, grpc.StatusCode.OK, result)
        self.assertEqual(result.complete.finish_reason, LENGTH)
        self.assertEqual(len(result.tokens), 300)
        self.assertGreater(result.complete.timing.total_seconds, signalled,
                           "the stream was still running when SIGTERM came")
        self.assertEqual(server.wait_exit(timeout=20), 0, server.log())

    def test_the_first_call_of_a_connection_made_before_the_sigterm_is_served(self):
        """Behind a load balancer a call follows its connect by moments: a drain closes the
        listener first, then serves the call of every connection it had already accepted (the
        balancer could not retry it), and only then refuses new calls (docs/deploy.md)."""
        server = self.start("--drain-timeout", "5s")
        # A connection of its own (gRPC shares one between channels to the same address).
        early = server.channel(options=[("grpc.use_local_subchannel_pool", 1)])
        grpc.channel_ready_future(early).result(timeout=10)  # connected, no call yet
        server.signal(signal.SIGTERM)
        self.assertBecomesNotReady(server, server.channel())  # a new connect is refused
        result = generate(server.stub(early), greedy(max_tokens=2), timeout=5)
        self.assertEqual(result.code, grpc.StatusCode.OK, result)
        self.assertEqual(result.complete.completion_tokens, len(result.tokens))
        self.assertGreater(len(result.tokens), 0)
        self.assertEqual(server.wait_exit(timeout=10), 0, server.log())

    def test_an_idle_client_connection_does_not_hold_up_the_exit(self):
        """A Python channel between calls does not read the GOAWAY, and gRPC's Shutdown waits
        for every connection to close: the drain closes such connections itself once nothing
        is in flight (1 s of grace). Before, this exit took 4 s."""
        server = self.start()
        idle = server.channel(options=[("grpc.use_local_subchannel_pool", 1)])
        server.load(server.stub(idle))  # one call, then the connection stays open, idle
        server.signal(signal.SIGTERM)
        signalled = time.monotonic()
        self.assertEqual(server.wait_exit(timeout=10), 0, server.log())
        self.assertLess(time.monotonic() - signalled, 3.0, server.log())

    def test_sigint_on_an_idle_server_exits_zero_at_once(self):
        server = self.start()
        server.signal(signal.SIGINT)
        self.assertEqual(server.wait_exit(timeout=10), 0, server.log())

    def test_draining_shows_in_metrics(self):
        server = self.start("--drain-timeout", "2s")
        call = server.stub().Generate(long_request(), timeout=60)
        first = next(call)
        server.signal(signal.SIGTERM)

        def draining():
            try:
                return harness.parse_metrics(harness.scrape(server.metrics_port, timeout=2)).get(
                    ("egmla_draining", frozenset())) == 1
            except OSError:
                return False
        self.assertTrue(harness.wait_until(draining, timeout=1.5),
                        "egmla_draining is not 1 while draining")
        self.assertEqual(collect(call, [first]).complete.finish_reason, ABORTED)
        self.assertEqual(server.wait_exit(timeout=30), 0, server.log())


if __name__ == "__main__":
    harness.main()
