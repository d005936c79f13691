"""The server on the CUDA runner (issue 17), through egmla-server-emu: its --device cuda is the
SIMT emulator's device, the same CUDA runner and kernels compiled for the CPU. The bundled model
streams text, ModelInfo and /metrics report the device, and a cancelled or aborted stream frees
every block (the metrics back to zero). Run with --server-bin egmla-server-emu."""
import os
import subprocess
import unittest

import harness
from harness import ABORTED, Server, collect, grpc, long_request, parse_metrics, pb, scrape

MODEL = os.path.join(harness.REPO, "models", "egmla-kjv")


class CudaEmuTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # 16 MiB of cache: 57 blocks of 64 tokens at 292 bytes per token (bf16).
        cls.server = Server(MODEL, "--device", "cuda", "--kv-cache-memory", "16MiB",
                            "--gate-mode", "table").start()
        cls.stub = cls.server.stub()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def tearDown(self):
        load = self.server.wait_idle(timeout=30)
        self.assertEqual((load.running, load.waiting, load.kv_cache_usage), (0, 0, 0.0), load)
        self.assertEqual(load.free_blocks, load.total_blocks)
        used = parse_metrics(scrape(self.server.metrics_port))
        self.assertEqual(used[("egmla_kv_cache_blocks", frozenset({("state", "used")}))], 0)
        self.assertEqual(used[("egmla_requests_running", frozenset())], 0)

    def test_model_info_reports_the_emulated_device(self):
        info = self.stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
        self.assertEqual(info.device, "cuda:0")
        self.assertIn("emulator", info.device_name)
        self.assertEqual((info.dtype, info.kv_cache_dtype), ("bf16", "bf16"))
        self.assertEqual(info.eg_mla_decode, "grouped")
        # bf16 rows [c ; k_R] (16 + 16) per layer, the id and per layer (μ, rstd): 4 * 32 * 2 +
        # 4 + 4 * 8.
        self.assertEqual(info.kv_cache_bytes_per_token, 292)
        # The gate tables in bf16 on the device: 4 layers of [2048, 4 * (48 + 48)].
        self.assertEqual(info.gate_table_bytes, 4 * 2048 * 384 * 2)

    def test_metrics_report_the_device_and_its_memory(self):
        samples = parse_metrics(scrape(self.server.metrics_port))
        info = [labels for (name, labels), value in samples.items()
                if name == "egmla_device_info" and value == 1]
        self.assertEqual(len(info), 1)
        labels = dict(info[0])
        self.assertEqual((labels["device"], labels["dtype"], labels["kv_cache_dtype"]),
                         ("cuda:0", "bf16", "bf16"))
        self.assertIn("emulator", labels["name"])
        for use in ("weights", "kv_cache", "workspace"):
            self.assertGreater(
                samples[("egmla_device_memory_bytes", frozenset({("use", use)}))], 0, use)

    def test_the_bundled_model_streams_text(self):
        req = pb.GenerateRequest(text="In the beginning",
                                 sampling=pb.SamplingParams(temperature=0.0),
                                 stopping=pb.StoppingCriteria(max_tokens=24, ignore_eos=True))
        result = collect(self.stub.Generate(req, timeout=120))
        self.assertEqual(result.code, grpc.StatusCode.OK, result.details)
        self.assertEqual(len(result.tokens), 24)
        self.assertGreater(len(result.chunks), 1, "streamed, one chunk per step")
        text = "".join(c.text for c in result.chunks)
        self.assertGreater(len(text.split()), 3, text)
        # Greedy is deterministic on the device too.
        again = collect(self.stub.Generate(req, timeout=120))
        self.assertEqual(again.tokens, result.tokens)

    def test_cancel_and_abort_free_every_block(self):
        call = self.stub.Generate(long_request(), timeout=120)
        next(call), next(call)
        self.assertGreater(self.server.load().kv_cache_usage, 0)
        call.cancel()
        self.assertEqual(collect(call).code, grpc.StatusCode.CANCELLED)
        self.server.wait_idle(timeout=30)

        call = self.stub.Generate(long_request(request_id="emu-abort"), timeout=120)
        first = [next(call)]
        self.stub.Abort(pb.AbortRequest(request_id="emu-abort"), timeout=10)
        result = collect(call, first)
        self.assertEqual(result.code, grpc.StatusCode.OK, result)
        self.assertEqual(result.complete.finish_reason, ABORTED)


class CudaEmuFlagsTest(unittest.TestCase):
    def test_auto_picks_the_emulated_device(self):
        with Server(MODEL, "--kv-cache-memory", "16MiB").start() as server:
            info = server.stub().GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
            self.assertEqual(info.device, "cuda:0")
            self.assertIn("--device auto: cuda", server.log())

    def assertStartFails(self, message, *flags):
        proc = subprocess.run([harness.FLAGS.server_bin, "--model", MODEL, "--device", "cuda",
                               "--port", "0", "--metrics-port", "-1", *flags],
                              capture_output=True, text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(message, proc.stderr + proc.stdout)

    def test_cuda_refuses_f32_naming_the_flag(self):
        self.assertStartFails("--dtype: 'f32'", "--dtype", "f32")

    def test_too_little_memory_for_one_sequence_is_a_start_up_error(self):
        self.assertStartFails("one sequence of 256 tokens needs", "--kv-cache-memory", "4KiB")


if __name__ == "__main__":
    harness.main()
