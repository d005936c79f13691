"""The OpenAI-compatible HTTP API at the socket level (DESIGN §4, issue 19), what the openai
client test (openai_client_test.py) does not reach: the drain (503 with Connection: close, the
listener closed, streams in flight finish), metrics of HTTP requests, a whole-answer request cut by
its client, keep-alive, and bodies a careless or hostile client sends."""
import http.client
import json
import signal
import socket
import time
import unittest

import harness
from harness import Server


def post(conn, path, body, headers=None):
    """(status, headers dict, body bytes) of one request on `conn` (http.client)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", path, data, {"Content-Type": "application/json", **(headers or {})})
    reply = conn.getresponse()
    return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()


def raw_exchange(port, data, timeout=10):
    """Sends bytes on a fresh connection; everything received until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        received = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return received
            received += chunk


def metric(server, name, **labels):
    samples = harness.parse_metrics(harness.scrape(server.metrics_port))
    return samples.get((name, frozenset(labels.items())), 0.0)


LONG = {"prompt": [1, 2, 3], "max_tokens": 100000, "ignore_eos": True}


class OpenAiHttpTest(harness.ModelTestCase):
    SERVER_FLAGS = ()

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.server.http_port, timeout=30)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        conn = self.connection()
        for i in range(20):
            status, headers, body = post(conn, "/v1/completions",
                                         {"prompt": [1, 2, 3], "max_tokens": 2, "seed": i})
            self.assertEqual(status, 200, body)
            self.assertNotEqual(headers.get("connection"), "close")
            self.assertEqual(json.loads(body)["usage"]["completion_tokens"], 2)
        conn.close()

    def test_http_requests_are_counted_and_logged(self):
        before_ok = metric(self.server, "egmla_http_requests_total",
                           endpoint="/v1/completions", status="200")
        before_bad = metric(self.server, "egmla_http_requests_total",
                            endpoint="/v1/completions", status="400")
        before_rejected = metric(self.server, "egmla_requests_rejected_total",
                                 code="invalid_argument")
        before_tokens = metric(self.server, "egmla_generation_tokens_total")
        conn = self.connection()
        status, _, body = post(conn, "/v1/completions", {"prompt": [1, 2], "max_tokens": 3,
                                                         "ignore_eos": True})
        self.assertEqual(status, 200)
        request_id = json.loads(body)["id"]
        self.assertEqual(post(conn, "/v1/completions", {"prompt": [1], "top_p": 2})[0], 400)
        conn.request("GET", "/no/such/route")
        self.assertEqual(conn.getresponse().status, 404)
        # The server counts and logs a request just after it sends the answer: wait for it.
        self.assertTrue(harness.wait_until(lambda: any(
            request_id in l for l in self.server.log().splitlines()), 10), self.server.log())
        self.assertTrue(harness.wait_until(lambda: metric(
            self.server, "egmla_http_requests_total", endpoint="/v1/completions",
            status="400") == before_bad + 1, 10))
        self.assertEqual(metric(self.server, "egmla_http_requests_total",
                                endpoint="/v1/completions", status="200"), before_ok + 1)
        self.assertEqual(metric(self.server, "egmla_http_requests_total",
                                endpoint="/v1/completions", status="400"), before_bad + 1)
        self.assertTrue(harness.wait_until(lambda: metric(
            self.server, "egmla_http_requests_total", endpoint="other", status="404") >= 1, 10))
        self.assertEqual(metric(self.server, "egmla_requests_rejected_total",
                                code="invalid_argument"), before_rejected + 1)
        self.assertGreaterEqual(metric(self.server, "egmla_generation_tokens_total"),
                                before_tokens + 3)
        lines = [l for l in self.server.log().splitlines() if request_id in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("api=openai", lines[0])

    def test_a_whole_answer_request_cut_by_its_client_frees_its_blocks(self):
        body = json.dumps(LONG).encode()
        with socket.create_connection(("127.0.0.1", self.server.http_port), timeout=10) as s:
            s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            self.assertTrue(harness.wait_until(lambda: self.server.load().running == 1, 10))
        load = self.server.wait_idle(timeout=10)
        self.assertEqual((load.running, load.waiting, load.kv_cache_usage), (0, 0, 0.0))
        self.assertTrue(harness.wait_until(
            lambda: "finish_reason=aborted" in self.server.log() and "status=499" in
            self.server.log(), 5), self.server.log())

    def test_careless_and_hostile_bodies_get_clear_answers(self):
        port = self.server.http_port
        big = b"x" * (8 << 20)
        reply = raw_exchange(port, b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(big) + big[:1 << 16])
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:100])
        conn = self.connection()
        for body, param in [(b"{not json", None), (b"\xff\xfe", None), (b"[" * 100000, None),
                            (b'{"prompt": {"a": 1}}', "prompt"),
                            (b'{"prompt": [1], "max_tokens": -5}', "max_tokens"),
                            (b'{"prompt": [1], "stop": ["' + b"s" * 300 + b'"]}', "stop[0]"),
                            (b'{"prompt": [1], "seed": 1e400}', None),
                            (b'{"prompt": [' + b"1," * 20000 + b'1]}', "prompt")]:
            status, _, reply = post(conn, "/v1/completions", body)
            self.assertEqual(status, 400, (body[:60], reply))
            error = json.loads(reply)["error"]
            self.assertEqual(error["type"], "invalid_request_error")
            if param:
                self.assertEqual(error["param"], param, error)
        # A bad Content-Length, then a request line of garbage.
        self.assertTrue(raw_exchange(port, b"POST /v1/completions HTTP/1.1\r\nContent-Length: "
                                     b"zz\r\n\r\n").startswith(b"HTTP/1.1 400"))
        self.assertTrue(raw_exchange(port, b"\x00\x01\x02 garbage\r\n\r\n").startswith(
            b"HTTP/1.1 400"))
        status, _, _ = post(self.connection(), "/v1/completions",
                            {"prompt": [1], "max_tokens": 1})
        self.assertEqual(status, 200, "the server goes on serving")


class OpenAiDrainTest(harness.ModelTestCase):
    def test_a_drain_answers_503_closes_the_listener_and_aborts_streams_at_its_timeout(self):
        server = Server(self.model, "--drain-timeout", "3s").start()
        self.addCleanup(server.stop)
        port = server.http_port
        idle = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.assertEqual(post(idle, "/v1/completions", {"prompt": [1], "max_tokens": 1})[0], 200)
        stream = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        stream.request("POST", "/v1/completions", json.dumps(
            {"prompt": [1, 2, 3], "max_tokens": 100000, "ignore_eos": True, "stream": True}))
        reply = stream.getresponse()
        self.assertEqual(reply.status, 200)
        first = reply.read1(4096)
        self.assertTrue(first.startswith(b"data: {"), first)

        server.signal(signal.SIGTERM)
        signalled = time.monotonic()
        # The open keep-alive connection: 503, and the server closes it.
        self.assertTrue(harness.wait_until(lambda: "draining" in server.log(), 10))
        status, headers, body = post(idle, "/v1/completions", {"prompt": [1]})
        self.assertEqual(status, 503, body)
        self.assertEqual(headers.get("connection"), "close")
        self.assertEqual(json.loads(body)["error"]["type"], "service_unavailable")
        idle.close()
        # New connections are refused: a load balancer sends them elsewhere.
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        # The stream in flight runs until the drain timeout, then ends aborted, as a stream.
        rest = reply.read()
        self.assertGreater(time.monotonic() - signalled, 2.0, "the stream had the drain timeout")
        self.assertTrue(rest.endswith(b"data: [DONE]\n\n"), rest[-200:])
        self.assertIn(b'"finish_reason":"abort"', rest)
        self.assertEqual(server.wait_exit(timeout=30), 0, server.log())


if __name__ == "__main__":
    harness.main()
