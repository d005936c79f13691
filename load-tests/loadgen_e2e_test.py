#!/usr/bin/python3
"""End-to-end test of egmla-loadgen (ctest label e2e): a real egmla-server with the default
model's architecture (random weights, made here with `egmla random-model`) on free loopback
ports, ~5 s of load at a modest rate over gRPC and ~3 s over the OpenAI-compatible HTTP API
(--api openai), and checks of the --output-json files; then HTTP errors (unknown model, a full
queue: HTTP_429) and Ctrl-C of an --api openai run.

  loadgen_e2e_test.py --loadgen BIN --server BIN --cli BIN --config models/default.config.json
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port(*taken):
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken:
            return port


def start_server(args, model, log_path, *flags):
    """egmla-server on free gRPC and HTTP ports; returns (process, grpc address, http address)."""
    port = free_port()
    http_port = free_port(port)
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [args.server, "--model", model, "--host", "127.0.0.1", "--port", str(port),
             "--http-port", str(http_port), "--metrics-port", "-1", *flags],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    address = "127.0.0.1:%d" % port
    if not wait_ready(args.cli, address, server):
        server.kill()
        server.wait(timeout=30)
        sys.exit("egmla-server did not become ready:\n" + open(log_path).read())
    return server, address, "127.0.0.1:%d" % http_port


def stop(server):
    server.kill()
    server.wait(timeout=30)


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


def check_report(report, api="grpc"):
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
    check(report["config"]["api"] == api, "config.api")


def run_loadgen(args, *flags, timeout=120):
    run = subprocess.run([args.loadgen, *flags], capture_output=True, text=True,
                         timeout=timeout)
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    return run


def check_openai(args, model, tmp, http_address):
    """The same load over POST /v1/completions; the model name from GET /v1/models."""
    out = os.path.join(tmp, "openai.json")
    run = run_loadgen(args, "--api", "openai", "--target", http_address, "--vocab-size", "512",
                      "--request-rate", "4", "--duration", "3", "--random-input-len", "32",
                      "--random-output-len", "16", "--random-range-ratio", "0.25",
                      "--slo-ttft", "10000", "--seed", "3", "--output-json", out)
    check(run.returncode == 0, "egmla-loadgen --api openai exited %d" % run.returncode)
    check("(OpenAI API, vocab 512, context " in run.stdout, "the model line names the API")
    check("HTTP connections opened" in run.stderr, "the connection count")
    with open(out) as f:
        report = json.load(f)
    check_report(report, api="openai")
    check(report["model_info"]["model_name"] == os.path.basename(model),
          "model from /v1/models: %s" % report["model_info"])
    check(all(r["request_id"].startswith("cmpl-") for r in report["requests"]),
          "request ids are the server's")

    # A model the server does not serve: a warning, then the warm-up's HTTP 404, exit 1.
    run = run_loadgen(args, "--api", "openai", "--target", http_address, "--vocab-size", "512",
                      "--model", "no-such-model", "--num-requests", "1", timeout=60)
    check(run.returncode == 1 and "HTTP_404" in run.stderr,
          "unknown model: %d %s" % (run.returncode, run.stderr))
    # Random prompts without --vocab-size: /v1/models's vocab_size is used.
    run = run_loadgen(args, "--api", "openai", "--target", http_address, "--num-requests", "1",
                      timeout=60)
    check(run.returncode == 0 and "vocab 512" in run.stderr,
          "vocab size from /v1/models: %d %s" % (run.returncode, run.stderr))


def check_openai_queue_full(args, model, tmp):
    """A queue of one: of 24 requests sent at once most get 429, counted as HTTP_429."""
    server, _, http_address = start_server(args, model, os.path.join(tmp, "server429.log"),
                                           "--kv-cache-memory", "16MiB", "--max-num-seqs", "1",
                                           "--max-queued-requests", "1")
    try:
        out = os.path.join(tmp, "openai429.json")
        run = run_loadgen(args, "--api", "openai", "--target", http_address, "--vocab-size",
                          "512", "--num-requests", "24", "--random-input-len", "32",
                          "--random-output-len", "64", "--warmup-requests", "0",
                          "--progress=false", "--output-json", out)
        check(run.returncode == 0, "exit %d" % run.returncode)
        with open(out) as f:
            report = json.load(f)
        check(report["completed"] >= 1, "some complete: %s" % report["failures"])
        check(set(report["failures"]) == {"HTTP_429"} and report["failed"] >= 1,
              "failures: %s" % report["failures"])
        check("HTTP_429" in run.stdout, "the summary lists HTTP_429")
        failed = [r for r in report["requests"] if r["status"] == "HTTP_429"]
        check(all(r["error"] for r in failed), "429s carry the server's message")
    finally:
        stop(server)


def check_openai_interrupt(args, http_address, tmp):
    """Ctrl-C: the streams in flight are cancelled, the summary printed, exit 130."""
    out = os.path.join(tmp, "interrupted.json")
    proc = subprocess.Popen(
        [args.loadgen, "--api", "openai", "--target", http_address, "--vocab-size", "512",
         "--num-requests", "100000", "--max-concurrency", "4", "--random-input-len", "16",
         "--random-output-len", "64",
         "--progress=false", "--output-json", out],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    sys.stderr.write(stderr)
    check(proc.returncode == 130, "interrupted run exited %d" % proc.returncode)
    check("Interrupted" in stdout, "the summary says interrupted")
    with open(out) as f:
        report = json.load(f)
    check(report["interrupted"], "interrupted in the JSON")
    check(report["completed"] >= 1 and report["failures"].get("CANCELLED", 0) >= 1,
          "completed %d, failures %s" % (report["completed"], report["failures"]))
    check(len(report["requests"]) == report["completed"] + report["failed"],
          "a record per request sent")


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--loadgen", "--server", "--cli", "--config"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="loadgen-e2e-") as tmp:
        model = os.path.join(tmp, "model")
        subprocess.run([args.cli, "random-model", "--config", args.config, "--seed", "1",
                        "--out", model], check=True)
        server, address, http_address = start_server(
            args, model, os.path.join(tmp, "server.log"), "--kv-cache-memory", "64MiB")
        try:
            out = os.path.join(tmp, "report.json")
            run = run_loadgen(
                args, "--target", address, "--request-rate", "4", "--duration", "5",
                "--random-input-len", "32", "--random-output-len", "16",
                "--random-range-ratio", "0.25", "--slo-ttft", "10000", "--seed", "3",
                "--output-json", out)
            check(run.returncode == 0, "egmla-loadgen exited %d" % run.returncode)
            for needle in ("Serving Benchmark Result", "P99 TTFT (ms):", "Mean TPOT (ms):",
                           "P90 ITL (ms):", "Request goodput (req/s):"):
                check(needle in run.stdout, "summary lacks %r" % needle)
            with open(out) as f:
                check_report(json.load(f))

            check_openai(args, model, tmp, http_address)
            check_openai_interrupt(args, http_address, tmp)

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
            stop(server)
        check_openai_queue_full(args, model, tmp)
    print("loadgen_e2e: OK")


if __name__ == "__main__":
    main()
