"""The /metrics scrape after known traffic: every name of DESIGN §7, counts that match the
traffic, and a text `promtool check metrics` accepts."""
import subprocess
import tempfile
import unittest

import harness
from harness import Server, collect, generate, greedy, grpc, long_request, parse_metrics, pb

GAUGES = ["egmla_requests_running", "egmla_requests_waiting", "egmla_kv_cache_usage_ratio",
          "egmla_kv_cache_blocks", "egmla_kv_cache_bytes_per_token",
          "egmla_kv_cache_elements_per_token", "egmla_gate_table_bytes", "egmla_draining"]
COUNTERS = ["egmla_prompt_tokens_total", "egmla_generation_tokens_total",
            "egmla_prefix_cache_queries_total", "egmla_prefix_cache_hits_total",
            "egmla_preemptions_total", "egmla_requests_finished_total",
            "egmla_requests_rejected_total"]
SECONDS_HISTOGRAMS = ["egmla_time_to_first_token_seconds", "egmla_inter_token_latency_seconds",
                      "egmla_e2e_request_latency_seconds", "egmla_queue_time_seconds",
                      "egmla_step_duration_seconds"]
HISTOGRAMS = SECONDS_HISTOGRAMS + ["egmla_step_batch_tokens"]
FINISH_REASONS = ["length", "stop", "stop_sequence", "aborted", "context_limit"]


def declared_types(text):
    """{name: type} from the # TYPE lines."""
    types = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            types[name] = kind
    return types


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.server = Server(harness.make_model(cls.tmp.name)).start()
        stub = cls.server.stub()
        cls.info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
        cls.results = []

        def run(req):
            result = generate(stub, req)
            assert result.code == grpc.StatusCode.OK, result
            cls.results.append(result)
            return result

        for ids, n in (([1, 2, 3], 5), ([7, 8], 9), ([4], 3)):  # 3 x LENGTH
            run(greedy(ids, n, stopping=dict(ignore_eos=True)))
        stop_id = cls.results[0].tokens[2]
        run(greedy([1, 2, 3], 5, stopping=dict(stop_token_ids=[stop_id])))  # STOP
        call = stub.Generate(long_request([9, 9, 9, 9], request_id="aborted"), timeout=60)
        first = [next(call), next(call)]
        stub.Abort(pb.AbortRequest(request_id="aborted"), timeout=10)
        cls.results.append(collect(call, first))  # ABORTED
        cls.bad = generate(stub, greedy([1, 512]))  # INVALID_ARGUMENT
        cls.server.wait_idle()
        cls.text = harness.scrape(cls.server.metrics_port)
        cls.samples = parse_metrics(cls.text)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def value(self, name, **labels):
        key = (name, frozenset(labels.items()))
        self.assertIn(key, self.samples, "%s%s is not in the scrape" % (name, labels or ""))
        return self.samples[key]

    def test_the_traffic_was_as_planned(self):
        reasons = [r.complete.finish_reason for r in self.results]
        self.assertEqual(reasons, [harness.LENGTH] * 3 + [harness.STOP, harness.ABORTED])
        self.assertEqual(self.bad.code, grpc.StatusCode.INVALID_ARGUMENT)

    def test_every_name_of_design_section_7_is_there_with_its_type(self):
        types = declared_types(self.text)
        for name in GAUGES:
            self.assertEqual(types.get(name), "gauge", name)
        for name in COUNTERS:
            self.assertEqual(types.get(name), "counter", name)
        for name in HISTOGRAMS:
            self.assertEqual(types.get(name), "histogram", name)
            self.value(name + "_count")
            self.value(name + "_sum")
            self.value(name + "_bucket", le="+Inf")

    def test_seconds_histograms_start_at_a_millisecond(self):
        for name in SECONDS_HISTOGRAMS:
            bounds = sorted(float(dict(labels)["le"]) for (n, labels) in self.samples
                            if n == name + "_bucket" and dict(labels)["le"] != "+Inf")
            self.assertTrue(bounds, name)
            self.assertLessEqual(bounds[0], 0.001, name)
            self.assertGreaterEqual(bounds[-1], 60, name)

    def test_token_counters_match_the_traffic(self):
        generated = sum(r.complete.completion_tokens for r in self.results)
        self.assertEqual(generated, sum(len(r.tokens) for r in self.results))
        self.assertEqual(self.value("egmla_generation_tokens_total"), generated)
        self.assertEqual(self.value("egmla_prompt_tokens_total"),
                         sum(r.complete.prompt_tokens for r in self.results))
        self.assertGreaterEqual(self.value("egmla_prefix_cache_queries_total"),
                                self.value("egmla_prefix_cache_hits_total"))

    def test_finished_and_rejected_counts_by_label(self):
        expected = dict(length=3, stop=1, aborted=1, stop_sequence=0, context_limit=0)
        for reason in FINISH_REASONS:
            self.assertEqual(self.value("egmla_requests_finished_total", finish_reason=reason),
                             expected[reason], reason)
        self.assertEqual(self.value("egmla_requests_rejected_total", code="invalid_argument"), 1)
        self.assertEqual(self.value("egmla_e2e_request_latency_seconds_count"), 5)
        self.assertEqual(self.value("egmla_time_to_first_token_seconds_count"), 5)
        self.assertGreaterEqual(self.value("egmla_step_duration_seconds_count"), 1)
        self.assertGreaterEqual(self.value("egmla_step_batch_tokens_sum"),
                                sum(r.complete.prompt_tokens for r in self.results))

    def test_idle_gauges(self):
        self.assertEqual(self.value("egmla_requests_running"), 0)
        self.assertEqual(self.value("egmla_requests_waiting"), 0)
        self.assertEqual(self.value("egmla_kv_cache_usage_ratio"), 0)
        self.assertEqual(self.value("egmla_draining"), 0)
        blocks = {s: self.value("egmla_kv_cache_blocks", state=s)
                  for s in ("used", "cached", "free")}
        self.assertEqual(blocks["used"], 0)
        self.assertEqual(sum(blocks.values()), self.info.num_blocks)

    def test_cache_geometry_gauges_match_model_info(self):
        self.assertEqual(self.value("egmla_kv_cache_bytes_per_token"),
                         self.info.kv_cache_bytes_per_token)
        self.assertEqual(self.value("egmla_kv_cache_elements_per_token"),
                         self.info.kv_cache_elements_per_token)
        self.assertEqual(self.value("egmla_gate_table_bytes"), self.info.gate_table_bytes)

    def test_promtool_accepts_the_scrape(self):
        proc = subprocess.run(["promtool", "check", "metrics"], input=self.text,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


if __name__ == "__main__":
    harness.main()
