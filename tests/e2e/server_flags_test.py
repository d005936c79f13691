"""egmla-server's flags (DESIGN §5.1): an unknown or invalid flag, or a port that is taken, gets a
message naming it and a non-zero exit."""
import os
import socket
import subprocess

import harness
from harness import Server


class ServerFlagsTest(harness.ModelTestCase):
    def run_server(self, *flags, port=None, timeout=30):
        """Runs egmla-server expecting it to exit by itself; returns (exit status, output)."""
        args = [harness.FLAGS.server_bin, "--model", self.model, "--host", "127.0.0.1",
                "--port", str(port or harness.free_port()),
                "--metrics-port", str(harness.free_port()), "--http-port", "0", *map(str, flags)]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("egmla-server %s kept running" % " ".join(map(str, flags)))
        return proc.returncode, proc.stdout + proc.stderr

    def assertRefused(self, flags, *names):
        """Exits non-zero with a message naming one of `names`."""
        code, message = self.run_server(*flags)
        self.assertNotEqual(code, 0, flags)
        self.assertTrue(any(n in message for n in names), "%s: %r" % (flags, message))
        self.assertNotIn("Segmentation", message)
        self.assertLess(code, 128, "killed by a signal: %s" % message)

    def test_invalid_values(self):
        cases = [
            (["--port", -5], "--port"),
            (["--port", 70000], "--port"),
            (["--port", "fifty"], "port"),
            (["--metrics-port", -2], "--metrics-port"),
            (["--kv-cache-memory", "lots"], "--kv-cache-memory"),
            (["--kv-cache-memory", "0"], "--kv-cache-memory"),
            (["--device", "cuda"], "--device"),
            (["--device", "tpu"], "--device"),
            (["--dtype", "f64"], "--dtype"),
            (["--dtype", "bf16"], "--dtype"),  # spelled right, but the CPU runner is f32
            (["--kv-cache-dtype", "f16"], "--kv-cache-dtype"),
            (["--block-size", 0], "--block-size"),
            (["--max-num-seqs", 0], "--max-num-seqs"),
            (["--max-queued-requests", 0], "--max-queued-requests"),
            (["--default-max-tokens", 0], "--default-max-tokens"),
            (["--gate-mode", "sometimes"], "--gate-mode"),
            (["--eg-mla-decode", "fast"], "--eg-mla-decode"),
            (["--gpu-memory-utilization", 1.5], "--gpu-memory-utilization"),
            (["--drain-timeout", "forever"], "drain_timeout", "drain-timeout"),
            (["--log-format", "xml"], "log-format", "log_format"),
            (["--tls-key", "/nonexistent.pem"], "--tls-cert"),
            (["--cpu-threads", -1], "--cpu-threads"),
            (["--engine-stall-timeout", "-5s"], "--engine-stall-timeout"),
            (["--metrics-host", "not-an-address.invalid"], "--metrics-port",
             "not-an-address.invalid"),
        ]
        for flags, *names in cases:
            with self.subTest(flags=flags):
                self.assertRefused(flags, *names)

    def test_cpu_threads_sizes_the_pool_and_serves(self):
        for threads in (1, 3):
            with Server(self.model, "--cpu-threads", threads) as server:
                result = harness.generate(server.stub(), harness.greedy([1, 2, 3], 4))
                self.assertEqual(result.code, harness.grpc.StatusCode.OK, result)
                self.assertEqual(len(result.tokens), 4)

    def test_eg_mla_decode_modes_give_the_same_tokens(self):
        """--eg-mla-decode: ModelInfo says which decode serves; grouped gives the greedy tokens of
        the recompute reference (the default model is eg_mla with the up-projected gate)."""
        tokens = {}
        for mode in ("grouped", "recompute"):
            with Server(self.model, "--eg-mla-decode", mode) as server:
                info = server.stub().GetModelInfo(harness.pb.GetModelInfoRequest(), timeout=10)
                self.assertEqual(info.eg_mla_decode, mode)
                result = harness.generate(server.stub(), harness.greedy([5, 6, 7, 5, 6, 5], 24))
                self.assertEqual(result.code, harness.grpc.StatusCode.OK, result)
                tokens[mode] = list(result.tokens)
        self.assertEqual(len(tokens["grouped"]), 24)
        self.assertEqual(tokens["grouped"], tokens["recompute"])

    def test_unknown_flag_and_stray_argument(self):
        self.assertRefused(["--no-such-flag"], "no-such-flag", "no_such_flag")
        self.assertRefused(["--no-such-flag=3"], "no-such-flag", "no_such_flag")
        self.assertRefused(["serve"], "serve")

    def test_unreadable_files(self):
        self.assertRefused(["--model", os.path.join(self.tmp.name, "absent")], "absent")
        empty = os.path.join(self.tmp.name, "empty.key")
        open(empty, "w").close()
        self.assertRefused(["--api-key-file", empty], "--api-key-file")
        self.assertRefused(["--api-key-file", empty + ".absent"], "--api-key-file")

    def test_port_held_by_another_socket(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            code, message = self.run_server(port=port)
        self.assertNotEqual(code, 0)
        self.assertIn("127.0.0.1:%d" % port, message)

    def test_port_held_by_another_server(self):
        with Server(self.model) as first:
            code, message = self.run_server(port=first.port, timeout=5)
        self.assertNotEqual(code, 0)
        self.assertIn("127.0.0.1:%d" % first.port, message)

    def test_metrics_port_held(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            code, message = self.run_server("--metrics-port", port)
        self.assertNotEqual(code, 0)
        self.assertIn(str(port), message)


if __name__ == "__main__":
    harness.main()
