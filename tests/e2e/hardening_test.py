"""The faults an adversarial probe found (issue 12), each held by a regression test against the
real server: requests to the metrics port that are not `GET /metrics`, slow or idle metrics
clients, huge text prompts, oversized metadata, tiny temperatures, broken checkpoint and
tokenizer files, invalid UTF-8 and truncated messages, long Abort ids, unusable API keys, and the
open-file limit. docs/reliability.md lists what the server promises and which test holds it."""
import os
import resource
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import harness
from harness import collect, generate, greedy, grpc, pb



def http(port, path, method="GET", host="127.0.0.1", timeout=10):
    """(status, headers, body) of one HTTP request to the metrics port."""
    req = urllib.request.Request("http://%s:%d%s" % (host, port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def raw_call(channel, method, payload, timeout=10, stream=True):
    """Sends `payload` (bytes) as the request message of /egmla.v1.Generation/METHOD; returns
    (code, details)."""
    path = "/egmla.v1.Generation/" + method
    try:
        if stream:
            call = channel.unary_stream(path, request_serializer=lambda b: b,
                                        response_deserializer=pb.GenerateResponse.FromString)
            for _ in call(payload, timeout=timeout):
                pass
        else:
            call = channel.unary_unary(path, request_serializer=lambda b: b,
                                       response_deserializer=pb.AbortResponse.FromString)
            call(payload, timeout=timeout)
    except grpc.RpcError as e:
        return e.code(), e.details()
    return grpc.StatusCode.OK, ""


def field(number, payload):
    """A length-delimited protobuf field (wire type 2) with a one-byte length."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def alive(server):
    """Readiness over gRPC, and the process still running. A connection the server has just
    closed (after refusing oversized metadata) may still be in grpc-python's process-wide
    subchannel pool and answer UNAVAILABLE "Socket closed" once: retried on a fresh connect."""
    for attempt in range(3):
        if server.proc.poll() is not None:
            return False
        channel = server.channel()
        try:
            reply = server.health_stub(channel).Check(
                harness.health_pb2.HealthCheckRequest(service=harness.READY_SERVICE), timeout=5)
            return reply.status == harness.SERVING
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE or attempt == 2:
                raise
            time.sleep(0.2)
    return False


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class MetricsPortTest(harness.ModelTestCase):
    SERVER_FLAGS = ()

    def test_requests_other_than_get_metrics_get_404_or_405_and_the_server_lives(self):
        # Each of these crashed the server with SIGSEGV when civetweb served the port.
        port = self.server.metrics_port
        for path in ("/", "/healthz", "/favicon.ico", "/metrics/x"):
            self.assertEqual(http(port, path)[0], 404, path)
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            status, headers, _ = http(port, "/metrics", method)
            self.assertEqual(status, 405, method)
            self.assertEqual(headers.get("Allow"), "GET, HEAD")
        status, headers, body = http(port, "/metrics", "HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertTrue(alive(self.server))
        self.assertIn("egmla_requests_running", harness.scrape(port))

    def test_garbage_bytes_on_the_metrics_port(self):
        port = self.server.metrics_port
        for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 64,
                     b"GET\r\n\r\n", os.urandom(4096)):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                try:  # the server may answer 400 and close (or reset) before we are done
                    s.sendall(junk)
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(4096):
                        pass
                except OSError:
                    pass
        self.assertTrue(alive(self.server))
        self.assertIn("egmla_requests_running", harness.scrape(port))

    def test_idle_and_slow_connections_do_not_stall_a_scrape(self):
        # Two idle connections stalled /metrics for ~30 s with civetweb.
        port = self.server.metrics_port
        held = []
        try:
            for i in range(20):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                if i % 2:
                    s.sendall(b"GET /metrics HTTP/1.1\r\nHo")
                held.append(s)
            start = time.monotonic()
            text = harness.scrape(port, timeout=10)
            self.assertLess(time.monotonic() - start, 2.0)
            self.assertIn("egmla_requests_running", text)
        finally:
            for s in held:
                s.close()

    def test_build_info_names_the_version_and_commit(self):
        samples = harness.parse_metrics(harness.scrape(self.server.metrics_port))
        info = [labels for (name, labels), value in samples.items()
                if name == "egmla_build_info" and value == 1]
        self.assertEqual(len(info), 1, samples.keys())
        labels = dict(info[0])
        self.assertRegex(labels["version"], r"^\d+\.\d+\.\d+$")
        self.assertTrue(labels["git_sha"])

    def test_the_open_file_limit_is_raised_to_the_hard_limit(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard <= 256:
            self.skipTest("the hard limit (%d) leaves nothing to raise" % hard)

        def low_soft_limit():  # as a shell's default of 1024 would be
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        proc = subprocess.Popen([harness.FLAGS.server_bin, "--model", self.model, "--host",
                                 "127.0.0.1", "--port", "0", "--metrics-port", "-1",
                                 "--http-port", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                preexec_fn=low_soft_limit)
        try:
            for line in proc.stdout:  # the limit is raised before the "serving" line
                if "serving" in line:
                    break
            with open("/proc/%d/limits" % proc.pid) as f:
                limits = next(l for l in f if l.startswith("Max open files")).split()[3:5]
        finally:
            proc.kill()
            proc.wait()
        self.assertEqual(limits[0], limits[1])


class MetricsHostTest(harness.ModelTestCase):
    SERVER_FLAGS = ("--metrics-host", "127.0.0.2")

    def test_metrics_listen_on_the_metrics_host_only(self):
        port = self.server.metrics_port
        self.assertEqual(http(port, "/metrics", host="127.0.0.2")[0], 200)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


class RequestTest(harness.ModelTestCase):
    """A model with a SentencePiece tokenizer, so that text prompts are served."""

    SERVER_FLAGS = ()
    TEXT_MODEL = dict(max_position_embeddings=1024)

    def test_text_that_cannot_fit_is_refused_before_tokenizing(self):
        # A 50 MB prompt cost 12.7 s of CPU and 2 GB of memory before INVALID_ARGUMENT.
        before = peak_rss_kib(self.server.proc.pid)
        start = time.monotonic()
        result = generate(self.stub, pb.GenerateRequest(text="a b " * (2 << 20)))  # 8 MiB
        self.assertLess(time.monotonic() - start, 5.0)
        self.assertIn(result.code, (grpc.StatusCode.INVALID_ARGUMENT,
                                    grpc.StatusCode.RESOURCE_EXHAUSTED), result)
        # Just over the text bound but within gRPC's receive limit: the validation's own answer.
        # 20,000 bytes: over 1024 tokens × the tiny tokenizer's longest token (14 bytes), under
        # the receive limit.
        result = generate(self.stub, pb.GenerateRequest(text="x" * 20000))
        self.assertEqual(result.code, grpc.StatusCode.INVALID_ARGUMENT, result)
        self.assertIn("text", result.details)
        self.assertIn("cannot fit", result.details)
        self.assertLess(peak_rss_kib(self.server.proc.pid) - before, 200 << 10)
        ok = generate(self.stub, pb.GenerateRequest(
            text="hello", stopping=pb.StoppingCriteria(max_tokens=2)))
        self.assertEqual(ok.code, grpc.StatusCode.OK, ok)

    def test_a_message_larger_than_any_valid_request_is_resource_exhausted(self):
        result = generate(self.stub, pb.GenerateRequest(text="x" * (50 << 20)))
        self.assertEqual(result.code, grpc.StatusCode.RESOURCE_EXHAUSTED, result)
        self.assertTrue(alive(self.server))

    def test_invalid_utf8_names_the_field(self):
        channel = self.server.channel()
        ids = field(3, b"\x08\x05")  # token_ids {ids: 5}
        cases = {
            "text": field(2, b"ab\xff"),
            "request_id": field(1, b"\xc3") + ids,
            "stopping.stop_sequences[1]": ids + field(5, field(4, b"ok") + field(4, b"\xe2\x82")),
        }
        for name, payload in cases.items():
            code, details = raw_call(channel, "Generate", payload)
            self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT, name)
            self.assertIn(name + ": not valid UTF-8", details)
        code, details = raw_call(channel, "Abort", field(1, b"\xff\xfe"), stream=False)
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("request_id: not valid UTF-8", details)

    def test_a_truncated_message_is_invalid_argument(self):
        channel = self.server.channel()
        for payload in (b"\x12\x10abc", b"\x1a\x05\x08", b"\xff"):
            code, details = raw_call(channel, "Generate", payload)
            self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT, payload)
            self.assertIn("GenerateRequest", details)
        code, _ = raw_call(channel, "Abort", b"\x0a\x09abc", stream=False)
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertTrue(alive(self.server))

    def test_abort_ids_over_128_bytes_are_refused_without_being_echoed(self):
        for size in (129, 7000, 20000):
            with self.assertRaises(grpc.RpcError) as caught:
                self.stub.Abort(pb.AbortRequest(request_id="r" * size), timeout=10)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("request_id", caught.exception.details())
            self.assertLess(len(caught.exception.details()), 200)
        self.assertTrue(alive(self.server))

    def test_metadata_under_the_limit_works_and_spares_other_calls(self):
        # 9 KB of metadata failed every other stream on the same connection (gRPC's 8 KiB).
        stub = self.server.stub()
        for size in (9 << 10, 32 << 10):
            running = stub.Generate(harness.request(stopping=dict(max_tokens=60, ignore_eos=True)),
                                    timeout=60)
            first = next(running)
            load = stub.GetLoad(pb.GetLoadRequest(), metadata=(("x-big", "a" * size),),
                                timeout=10)
            self.assertGreaterEqual(load.total_blocks, 1)
            result = collect(running, [first])
            self.assertEqual(result.code, grpc.StatusCode.OK, (size, result))

    def test_metadata_over_the_limit_is_resource_exhausted(self):
        channel = self.server.channel()
        with self.assertRaises(grpc.RpcError) as caught:
            self.server.stub(channel).GetLoad(pb.GetLoadRequest(),
                                              metadata=(("x-big", "a" * (80 << 10)),), timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertTrue(alive(self.server))

    def test_a_temperature_below_1e_5_is_greedy(self):
        # 1e-38 sampled near-impossible tokens (logprobs -19 to -24).
        want = generate(self.stub, greedy([5, 6, 7], 12, stopping=dict(ignore_eos=True))).tokens
        for temperature in (1e-38, 1e-30, 9e-6):
            for seed in (1, 2):
                req = harness.request([5, 6, 7], sampling=dict(temperature=temperature, seed=seed),
                                      stopping=dict(max_tokens=12, ignore_eos=True))
                self.assertEqual(generate(self.stub, req).tokens, want, (temperature, seed))

    def test_stop_token_ids_have_a_count_limit(self):
        req = greedy(stopping=dict(stop_token_ids=[3] * 1025))
        result = generate(self.stub, req)
        self.assertEqual(result.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("stopping.stop_token_ids", result.details)


class StartupTest(harness.ModelTestCase):
    """Broken model directories and key files: a clear error and a non-zero exit, never a hang."""

    def run_server(self, model, *flags, timeout=20):
        proc = subprocess.run([harness.FLAGS.server_bin, "--model", model, "--host", "127.0.0.1",
                               "--port", "0", "--metrics-port", "-1", "--http-port", "0",
                               *map(str, flags)],
                              capture_output=True, text=True, timeout=timeout)
        return proc.returncode, proc.stderr + proc.stdout

    def copy_model(self, name):
        path = os.path.join(self.tmp.name, name)
        shutil.copytree(self.model, path)
        return path

    def test_a_fifo_as_a_checkpoint_file_is_refused_not_waited_on(self):
        # Start-up hung forever in open(2).
        for name in ("config.json", "model.safetensors"):
            model = self.copy_model("fifo-" + name)
            os.remove(os.path.join(model, name))
            os.mkfifo(os.path.join(model, name))
            code, message = self.run_server(model)
            self.assertNotEqual(code, 0)
            self.assertIn(name, message)
            self.assertIn("FIFO", message)

    def test_a_tokenizer_file_that_is_not_a_file_is_an_error(self):
        # It was silently ignored: has_tokenizer=false, no log line.
        model = self.copy_model("tokenizer-dir")
        os.mkdir(os.path.join(model, "tokenizer.json"))
        code, message = self.run_server(model)
        self.assertNotEqual(code, 0)
        self.assertIn("tokenizer.json", message)
        model = self.copy_model("tokenizer-dangling")
        os.symlink(os.path.join(model, "absent"), os.path.join(model, "tokenizer.model"))
        code, message = self.run_server(model)
        self.assertNotEqual(code, 0)
        self.assertIn("tokenizer.model", message)

    def key_file(self, name, content):
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(content)
        return path

    def test_an_api_key_no_client_can_send_is_refused(self):
        for name, content in (("non-ascii", "clé-secrète".encode()), ("newline", b"abc\ndef"),
                              ("space", b"abc def"), ("control", b"abc\x01def")):
            code, message = self.run_server(self.model, "--api-key-file",
                                            self.key_file(name, content))
            self.assertNotEqual(code, 0, name)
            self.assertIn("--api-key-file", message, name)
            self.assertNotIn("def", message, name)  # the key is never printed
        code, message = self.run_server(self.model, "--api-key-file", self.tmp.name)
        self.assertNotEqual(code, 0)
        self.assertIn("directory", message)

    def test_clients_refuse_an_unusable_key_file_without_crashing(self):
        bad = self.key_file("client-bad", "clé".encode())
        for argv in ((harness.FLAGS.cli_bin, "load", "--server", "127.0.0.1:1",
                      "--api-key-file", bad),
                     (harness.FLAGS.cli_bin, "generate", "--server", "127.0.0.1:1",
                      "--api-key-file", bad, "--token-ids", "1,2")):
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            self.assertGreater(proc.returncode, 0, proc)  # < 0 is a signal (SIGABRT was seen)
            self.assertIn("--api-key-file", proc.stderr)
        proc = subprocess.run((harness.FLAGS.cli_bin, "load", "--server", "127.0.0.1:1",
                               "--api-key-file", self.tmp.name),
                              capture_output=True, text=True, timeout=30)
        self.assertGreater(proc.returncode, 0)
        self.assertIn("directory", proc.stderr)


if __name__ == "__main__":
    harness.main()
