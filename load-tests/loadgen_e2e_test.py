#!/usr/bin/python3
"""End-to-end test of egmla-loadgen (ctest label e2e): a real egmla-server with the default
model's architecture (random weights, made here with `egmla random-model`) on a free loopback
port, ~5 s of load at a modest rate, and checks of the --output-json file.

  loadgen_e2e_test.py --loadgen BIN --server BIN --cli BIN --config models/default.config.json
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(cli, address, server, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        if subprocess.run([cli, "health", "--server", address, "--timeout", "1"],
                          capture_output=True).returncode == 0:
            return True
        time.sleep(0.1)
    return False


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def check_report(report):
    check(report["failed"] == 0, "failed requests: %s" % report["failures"])
    check(report["failures"] == {}, "failures: %s" % report["failures"])
    check(report["completed"] >= 10, "only %d requests completed" % report["completed"])
    check(report["completed"] == len(report["requests"]), "a record per request")
    for metric in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
        d = report[metric]
        for stat in ("mean", "median", "p50", "p90", "p99"):
            check(isinstance(d[stat], (int, float)) and d[stat] > 0, "%s.%s = %r" %
                  (metric, stat, d[stat]))
        check(d["p50"] <= d["p90"] <= d["p99"] <= d["max"], "%s percentiles out of order" % metric)
    for key in ("request_throughput", "output_throughput", "total_token_throughput"):
        check(report[key] > 0, "%s = %r" % (key, report[key]))
    check(report["token_count_mismatches"] == 0, "completion_tokens differs from tokens streamed")
    for r in report["requests"]:
        check(r["status"] == "OK" and r["finish_reason"] == "LENGTH", "request %s" % r)
        check(r["input_tokens"] >= 24 and r["input_tokens"] <= 40, "input_tokens %s" % r)
        check(r["output_tokens"] >= 12 and r["output_tokens"] <= 20, "output_tokens %s" % r)
        check(len(r["itl_ms"]) >= 1, "itl per request")
        check(r["ttft_ms"] <= r["e2e_ms"], "ttft <= e2e")
    check(report["model_info"]["vocab_size"] == 512, "model_info is the server's")


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--loadgen", "--server", "--cli", "--config"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="loadgen-e2e-") as tmp:
        model = os.path.join(tmp, "model")
        subprocess.run([args.cli, "random-model", "--config", args.config, "--seed", "1",
                        "--out", model], check=True)
        port = free_port()
        address = "127.0.0.1:%d" % port
        log_path = os.path.join(tmp, "server.log")
        with open(log_path, "w") as log:
            server = subprocess.Popen(
                [args.server, "--model", model, "--host", "127.0.0.1", "--port", str(port),
                 "--metrics-port", "-1", "--kv-cache-memory", "64MiB"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            if not wait_ready(args.cli, address, server):
                sys.exit("egmla-server did not become ready:\n" + open(log_path).read())
            out = os.path.join(tmp, "report.json")
            run = subprocess.run(
                [args.loadgen, "--target", address, "--request-rate", "4", "--duration", "5",
                 "--random-input-len", "32", "--random-output-len", "16",
                 "--random-range-ratio", "0.25", "--slo-ttft", "10000", "--seed", "3",
                 "--output-json", out],
                capture_output=True, text=True, timeout=120)
            sys.stdout.write(run.stdout)
            sys.stderr.write(run.stderr)
            check(run.returncode == 0, "egmla-loadgen exited %d" % run.returncode)
            for needle in ("Serving Benchmark Result", "P99 TTFT (ms):", "Mean TPOT (ms):",
                           "P90 ITL (ms):", "Request goodput (req/s):"):
                check(needle in run.stdout, "summary lacks %r" % needle)
            with open(out) as f:
                check_report(json.load(f))

            # Text prompts need a tokenizer: a clear error, exit 1, before any load.
            prompts = os.path.join(tmp, "prompts.txt")
            with open(prompts, "w") as f:
                f.write("1 2 3\nOnce upon a time\n")
            run = subprocess.run([args.loadgen, "--target", address, "--dataset", prompts,
                                  "--num-requests", "2"], capture_output=True, text=True,
                                 timeout=60)
            check(run.returncode == 1 and "has_tokenizer" in run.stderr,
                  "text dataset on a model without tokenizer: %d %s" % (run.returncode,
                                                                         run.stderr))
        finally:
            server.kill()
            server.wait(timeout=30)
    print("loadgen_e2e: OK")


if __name__ == "__main__":
    main()
