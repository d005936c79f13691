"""Two egmla-server replicas behind Debian's nginx, configured with deploy/nginx/egmla.conf, and
Debian's Prometheus with deploy/prometheus/*.yml (DESIGN §5 drain, docs/deploy.md).

On loopback:
  1. two replicas of the default model (models/default.config.json, random weights), each with
     --drain-timeout 10s (and OMP_NUM_THREADS=1: two replicas share this machine's cores);
  2. nginx with the repository's site config, its upstream and listen ports replaced;
  3. Prometheus with the repository's scrape config (targets replaced, 1 s interval) and the
     Kubernetes job's relabelling over a file that lists fake pods: both replicas up in both;
  4. load through nginx: 8 clients doing short generations back to back and 2 doing longer ones,
     for ~12 s; replica A gets SIGTERM while it has streams in flight;
  5. then: no call failed (every one ended OK with a Complete(LENGTH) and all its tokens), A's
     in-flight streams finished, every call that reached A after the SIGTERM was one nginx had
     sent it before A closed its listener, A exited 0 within --drain-timeout, and Prometheus saw
     A go down and B stay up;
  6. every PromQL query of deploy/grafana/egmla-dashboard.json runs on that Prometheus.
With --stress-rounds N it runs instead NginxDrainStressTest: N SIGTERMs under a high rate of
one-token calls, zero failed calls (docs/deploy.md, "The drain instant").

  /usr/bin/python3 nginx_drain_test.py --server-bin BIN --cli-bin BIN --stubs DIR
Exit 0 pass, 1 fail, 77 skip (nginx or prometheus missing). EGMLA_KEEP_TMP=1 keeps the logs.
"""
import argparse
import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import deploy_common as dc

parser = argparse.ArgumentParser(add_help=False)
parser.add_argument("--server-bin", required=True)
parser.add_argument("--cli-bin", required=True)
parser.add_argument("--stubs", required=True)
parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
parser.add_argument("--duration", type=float, default=12.0, help="seconds of load")
parser.add_argument("--stress-rounds", type=int, default=0,
                    help="run only the stress test, with this many SIGTERMs (see its class)")
FLAGS, _rest = parser.parse_known_args()
sys.argv[1:] = _rest

dc.import_stubs(FLAGS.stubs)
import grpc  # noqa: E402
from egmla.v1 import generation_pb2 as pb  # noqa: E402
from egmla.v1 import generation_pb2_grpc as pb_grpc  # noqa: E402
from grpc.health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

DRAIN_TIMEOUT_S = 10
SHORT_CLIENTS = 8
LONG_CLIENTS = 2
SIGTERM_AT_S = 4.0
LISTENER_CLOSED_WITHIN_S = 0.5
VOCAB = 512
LOG_FORMAT = ("$msec call=$http_x_test_call status=$status upstream=[$upstream_addr] "
              "upstream_status=[$upstream_status] grpc_status=$upstream_http_grpc_status"
              "/$upstream_trailer_grpc_status rt=$request_time")


class Replica:
    def __init__(self, name, tmp, model, ports=None):
        self.name = name
        self.port, self.metrics_port = ports or dc.free_ports(2)
        self.log_path = os.path.join(tmp, "replica-%s.log" % name)
        self._log = open(self.log_path, "ab")
        env = dict(os.environ, OMP_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [FLAGS.server_bin, "--model", model, "--host", "127.0.0.1", "--port", str(self.port),
             "--metrics-port", str(self.metrics_port), "--http-port", "0", "--drain-timeout",
             "%ds" % DRAIN_TIMEOUT_S], stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=env)
        self.address = "127.0.0.1:%d" % self.port
        self.exit_code = None
        self.exited_at = None

    def ready(self):
        with grpc.insecure_channel(self.address) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service="egmla.v1.Generation"), timeout=1)
                return reply.status == health_pb2.HealthCheckResponse.SERVING
            except grpc.RpcError:
                return False

    def load(self):
        with grpc.insecure_channel(self.address) as channel:
            return pb_grpc.GenerationStub(channel).GetLoad(pb.GetLoadRequest(), timeout=2)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._log.close()


Call = collections.namedtuple("Call", "id kind start end code details tokens finish max_tokens")


class NginxReplicasBase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="egmla-nginx-drain-")
        os.chmod(self.tmp, 0o755)  # nginx workers (another user) read and write below it
        self.procs = []
        self.replicas = []
        self.addCleanup(self.cleanup)

    def cleanup(self):
        for r in self.replicas:
            r.kill()
        for p, log in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            log.close()
        if os.environ.get("EGMLA_KEEP_TMP"):
            print("kept " + self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def file(self, name):
        with open(os.path.join(self.tmp, name), errors="replace") as f:
            return f.read()

    # -- setup -------------------------------------------------------------------------------
    def start_replicas(self):
        model = os.path.join(self.tmp, "model")
        subprocess.run([FLAGS.cli_bin, "random-model", "--config",
                        os.path.join(dc.REPO, "models", "default.config.json"), "--seed", "0",
                        "--out", model], check=True, capture_output=True)
        self.replicas = [Replica("A", self.tmp, model), Replica("B", self.tmp, model)]
        for r in self.replicas:
            if not dc.wait_until(r.ready, timeout=60, interval=0.1):
                self.fail("replica %s did not become ready:\n%s" % (r.name, r.log()))

    def start_nginx(self):
        self.nginx_port, = dc.free_ports(1)
        site = os.path.join(self.tmp, "egmla.conf")
        with open(site, "w") as f:
            f.write(dc.nginx_site([r.address for r in self.replicas], self.nginx_port))
        main = os.path.join(self.tmp, "nginx.conf")
        with open(main, "w") as f:
            f.write(dc.nginx_main_conf(self.tmp, site, LOG_FORMAT))
        error_log = os.path.join(self.tmp, "nginx-error.log")
        cmd = [FLAGS.nginx, "-p", self.tmp, "-c", main, "-e", error_log]
        test = subprocess.run(cmd + ["-t"], capture_output=True, text=True)
        self.assertEqual(test.returncode, 0, "nginx -t:\n" + test.stderr)
        log = open(os.path.join(self.tmp, "nginx-stdout.log"), "wb")
        self.procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL), log))
        self.assertTrue(dc.wait_until(lambda: dc.port_open(self.nginx_port), timeout=10),
                        "nginx did not listen:\n" + self.file("nginx-error.log"))

    def parse_access_log(self):
        served = {}
        for line in self.file("nginx-access.log").splitlines():
            fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
            upstream = line.split("upstream=[", 1)[1].split("]", 1)[0]
            status = line.split("upstream_status=[", 1)[1].split("]", 1)[0]
            served[fields["call"]] = ([u.strip() for u in upstream.split(",") if u.strip()],
                                      [u.strip() for u in status.split(",") if u.strip()],
                                      fields.get("grpc_status", "-/-"))
        return served


class NginxDrainTest(NginxReplicasBase):
    def start_prometheus(self):
        self.prom_port, = dc.free_ports(1)
        a, b = self.replicas
        config = dc.prometheus_config(["127.0.0.1:%d" % r.metrics_port for r in self.replicas])
        sd_file = os.path.join(self.tmp, "pods.json")
        annotations = lambda r: {"prometheus.io/scrape": "true",  # noqa: E731
                                 "prometheus.io/port": str(r.metrics_port),
                                 "prometheus.io/path": "/metrics"}
        pods = (dc.fake_pod("egmla-a", "127.0.0.1", [("grpc", a.port),
                                                      ("metrics", a.metrics_port)],
                            annotations(a)) +
                dc.fake_pod("egmla-b", "127.0.0.1", [("grpc", b.port),
                                                      ("metrics", b.metrics_port)],
                            annotations(b)) +
                # Not annotated, and annotated but still Pending: both must be dropped.
                dc.fake_pod("other-app", "127.0.0.1", [("http", a.metrics_port)], {}) +
                dc.fake_pod("egmla-pending", "127.0.0.1", [("metrics", b.metrics_port)],
                            annotations(b), phase="Pending"))
        with open(sd_file, "w") as f:
            json.dump(pods, f)
        config["scrape_configs"].append(dc.k8s_job_on_file_sd(sd_file))
        log = open(os.path.join(self.tmp, "prometheus.log"), "wb")
        self.procs.append((dc.start_prometheus(self.tmp, config, self.prom_port, log), log))

    def prometheus_targets(self):
        try:
            data = dc.http_json("http://127.0.0.1:%d/api/v1/targets" % self.prom_port)
        except OSError:
            return None
        return data["data"]

    def wait_targets_up(self):
        expected = {"127.0.0.1:%d" % r.metrics_port for r in self.replicas}
        last = {}

        def all_up():
            data = self.prometheus_targets()
            if data is None:
                return False
            by_job = collections.defaultdict(dict)
            for t in data["activeTargets"]:
                by_job[t["labels"]["job"]][t["labels"]["instance"]] = t
            last.update(by_job)
            return all(set(by_job.get(job, {})) == expected and
                       all(t["health"] == "up" for t in by_job[job].values())
                       for job in ("egmla", "egmla-k8s"))
        ok = dc.wait_until(all_up, timeout=30, interval=0.25)
        self.assertTrue(ok, "Prometheus targets not all up: %s\n%s" % (
            json.dumps({j: {i: (t["health"], t.get("lastError")) for i, t in ts.items()}
                        for j, ts in last.items()}), self.file("prometheus.log")))
        k8s = last["egmla-k8s"]
        self.assertEqual({t["labels"].get("pod") for t in k8s.values()}, {"egmla-a", "egmla-b"})
        for t in k8s.values():
            self.assertEqual(t["labels"].get("namespace"), "default")
            self.assertTrue(t["scrapeUrl"].endswith("/metrics"), t["scrapeUrl"])
        dropped = [t for t in self.prometheus_targets()["droppedTargets"]
                   if t["discoveredLabels"].get("job") == "egmla-k8s"]
        dropped_pods = {t["discoveredLabels"]["__meta_kubernetes_pod_name"] for t in dropped}
        self.assertEqual(dropped_pods, {"other-app", "egmla-pending"})

    # -- load --------------------------------------------------------------------------------
    def client(self, kind, index, stop, calls, lock):
        rng = random.Random(index)
        with grpc.insecure_channel("127.0.0.1:%d" % self.nginx_port) as channel:
            stub = pb_grpc.GenerationStub(channel)
            n = 0
            while not stop.is_set():
                n += 1
                call_id = "%s%d-%d" % (kind, index, n)
                max_tokens = rng.randint(8, 32) if kind == "s" else rng.randint(30, 50)
                req = pb.GenerateRequest(request_id=call_id)
                req.token_ids.ids.extend(rng.randrange(3, VOCAB)
                                         for _ in range(rng.randint(4, 48)))
                req.sampling.temperature = 0.0
                req.stopping.max_tokens = max_tokens
                req.stopping.ignore_eos = True
                start = time.monotonic()
                tokens, finish, code, details = 0, None, None, ""
                try:
                    stream = stub.Generate(req, timeout=60, metadata=(("x-test-call", call_id),))
                    for msg in stream:
                        if msg.WhichOneof("kind") == "chunk":
                            tokens += len(msg.chunk.token_ids)
                        else:
                            finish = msg.complete.finish_reason
                    code = stream.code()
                except grpc.RpcError as e:
                    code, details = e.code(), e.details()
                with lock:
                    calls.append(Call(call_id, kind, start, time.monotonic(), code, details,
                                      tokens, finish, max_tokens))

    def watch_exit(self, replica):
        replica.exit_code = replica.proc.wait()
        replica.exited_at = time.monotonic()

    # -- the test ----------------------------------------------------------------------------
    @unittest.skipIf(FLAGS.stress_rounds, "--stress-rounds runs only the stress test")
    def test_sigterm_one_replica_under_load_loses_no_call(self):
        t_setup = time.monotonic()
        self.start_replicas()
        self.start_nginx()
        self.start_prometheus()
        self.wait_targets_up()
        a, b = self.replicas
        print("setup: %.1f s (replicas %s, %s; nginx :%d; prometheus :%d)" % (
            time.monotonic() - t_setup, a.address, b.address, self.nginx_port, self.prom_port),
            flush=True)

        stop = threading.Event()
        calls, lock = [], threading.Lock()
        threads = [threading.Thread(target=self.client, args=("s", i, stop, calls, lock))
                   for i in range(SHORT_CLIENTS)]
        threads += [threading.Thread(target=self.client, args=("l", i, stop, calls, lock))
                    for i in range(LONG_CLIENTS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()

        # SIGTERM A at SIGTERM_AT_S, once it has streams in flight.
        time.sleep(SIGTERM_AT_S)
        in_flight = dc.wait_until(lambda: a.load().running, timeout=5, interval=0.01)
        self.assertTrue(in_flight, "replica A never had a stream in flight")
        a.proc.send_signal(signal.SIGTERM)
        t_term = time.monotonic()
        watcher = threading.Thread(target=self.watch_exit, args=(a,))
        watcher.start()

        time.sleep(max(0.0, FLAGS.duration - (t_term - t0)))
        stop.set()
        for t in threads:
            t.join(timeout=120)
        t_end = time.monotonic()
        watcher.join(timeout=DRAIN_TIMEOUT_S + 30)

        served = {cid: hops for cid, (hops, _, _) in self.parse_access_log().items()}
        failed = [c for c in calls if c.code != grpc.StatusCode.OK or
                  c.finish != pb.FINISH_REASON_LENGTH or c.tokens != c.max_tokens]
        last_hop = {cid: hops[-1] for cid, hops in served.items() if hops}
        retried = [cid for cid, hops in served.items() if len(hops) > 1]
        by_replica = collections.Counter(last_hop.values())
        # A closes its listener within milliseconds of the signal; a call nginx connected to A
        # before that is A's to serve. Later than LISTENER_CLOSED_WITHIN_S, none may reach A.
        a_after = [c for c in calls if c.start > t_term + LISTENER_CLOSED_WITHIN_S and
                   last_hop.get(c.id) == a.address]
        a_in_flight = [c for c in calls if c.start < t_term < c.end and
                       last_hop.get(c.id) == a.address]
        print("load: %.1f s, %d calls (%d short, %d long), %d failed; served "
              "by A %d, by B %d; %d retried by nginx on the other replica" % (
                  t_end - t0, len(calls), sum(c.kind == "s" for c in calls),
                  sum(c.kind == "l" for c in calls), len(failed),
                  by_replica[a.address],
                  by_replica[b.address], len(retried)), flush=True)
        print("SIGTERM at +%.2f s with %d stream(s) running on A (GetLoad); %d stream(s) in "
              "flight on A then all ended %s; A exited %s after %.2f s" % (
                  t_term - t0, in_flight, len(a_in_flight),
                  "OK" if all(c.code == grpc.StatusCode.OK for c in a_in_flight) else "BADLY",
                  a.exit_code, (a.exited_at or float("nan")) - t_term), flush=True)
        for cid in retried[:10]:
            print("  retried: %s -> %s" % (cid, served[cid]))

        self.assertEqual(failed, [], "failed calls (of %d):\n%s\nnginx errors:\n%s" % (
            len(calls), "\n".join(
                "  %s +%.3f..+%.3f s (SIGTERM at +%.3f): %s %r, %d/%d tokens, finish %s, "
                "upstreams %s" % (c.id, c.start - t0, c.end - t0, t_term - t0, c.code,
                                  c.details, c.tokens, c.max_tokens, c.finish,
                                  served.get(c.id)) for c in failed[:20]),
            self.file("nginx-error.log")[-4000:]))
        self.assertEqual(len(served), len(calls), "nginx logged every call once")
        self.assertGreater(by_replica[a.address], 0, "A served calls before the SIGTERM")
        self.assertGreater(len([c for c in calls if c.start > t_term]), 20,
                           "load went on after the SIGTERM")
        self.assertEqual(a_after, [], "calls that started %.1f s after the SIGTERM went to A" %
                         LISTENER_CLOSED_WITHIN_S)
        self.assertGreater(len(a_in_flight), 0, "A had streams in flight at SIGTERM")
        self.assertTrue(all(c.code == grpc.StatusCode.OK for c in a_in_flight),
                        "A's in-flight streams all finished")
        self.assertEqual(a.exit_code, 0, "replica A's exit status\n" + a.log()[-3000:])
        self.assertLess(a.exited_at - t_term, DRAIN_TIMEOUT_S + 2,
                        "A exited within --drain-timeout")
        self.assertIsNone(b.proc.poll(), "B still serves")
        self.assertTrue(b.ready())

        self.check_prometheus_after_drain()
        self.check_dashboard_queries()

    def check_prometheus_after_drain(self):
        a, b = self.replicas
        want = {"127.0.0.1:%d" % a.metrics_port: "0", "127.0.0.1:%d" % b.metrics_port: "1"}
        seen = {}

        def a_down_b_up():
            reply = dc.prometheus_query(self.prom_port, 'up{job="egmla"}')
            seen.clear()
            seen.update({r["metric"]["instance"]: r["value"][1]
                         for r in reply["data"]["result"]})
            return seen == want
        self.assertTrue(dc.wait_until(a_down_b_up, timeout=15, interval=0.25),
                        "up{job=\"egmla\"} after the drain: %s, want %s" % (seen, want))
        print("prometheus: up{job=\"egmla\"} = %s (A drained and gone, B up)" % seen, flush=True)

    def check_dashboard_queries(self):
        queries = dc.grafana_queries()
        self.assertGreater(len(queries), 20)
        errors, empty = [], []
        for title, expr in queries:
            reply = dc.prometheus_query(self.prom_port, dc.grafana_expand(expr, rate_interval="1m"))
            if reply.get("status") != "success":
                errors.append("%s: %s: %s" % (title, expr, reply.get("error")))
            elif not reply["data"]["result"]:
                empty.append(title)
        self.assertEqual(errors, [], "dashboard queries Prometheus refused")
        # The load produced tokens, requests and latencies: those panels have data.
        for title in ("Generation tokens/s", "Time to first token", "Inter-token latency",
                      "Tokens/s", "KV-cache blocks by state", "Requests running and waiting",
                      "Replicas up"):
            self.assertNotIn(title, empty, "dashboard panel without data")
        print("grafana: %d dashboard queries run on Prometheus, %d with data" % (
            len(queries), len(queries) - len(empty)), flush=True)


class NginxDrainStressTest(NginxReplicasBase):
    """Many SIGTERMs under a high rate of one-token calls, to catch what happens to the calls
    that reach a replica in the instant it starts draining. The main test's load rarely has
    a call in that instant; this one has dozens per SIGTERM.

    What it asserts: no call fails. A call nginx sent to the draining replica is served by it
    (nginx never retries a gRPC call once sent: its gRPC proxy does not buffer request bodies);
    every other call goes to the other replica, because the draining one refuses its connect.
    It tells apart, when a call does fail, an error status the replica answered and nginx's
    own HTTP 502 (the replica broke the connection).
    """

    @unittest.skipUnless(FLAGS.stress_rounds, "needs --stress-rounds N")
    def test_calls_reaching_a_draining_replica_are_served_or_refused_at_the_transport(self):
        self.start_replicas()
        self.start_nginx()
        a, b = self.replicas
        fail_timeout = float(re.search(r"fail_timeout=(\d+)s", dc.nginx_site(
            [a.address, b.address], self.nginx_port)).group(1))
        results, rounds = [], []
        for r in range(FLAGS.stress_rounds):
            stop, lock, calls = threading.Event(), threading.Lock(), []

            def client(i):
                with grpc.insecure_channel("127.0.0.1:%d" % self.nginx_port) as channel:
                    stub = pb_grpc.GenerationStub(channel)
                    n = 0
                    while not stop.is_set():
                        n += 1
                        cid = "r%d-c%d-%d" % (r, i, n)
                        req = pb.GenerateRequest(request_id=cid)
                        req.token_ids.ids.extend([1, 2, 3])
                        req.sampling.temperature = 0.0
                        req.stopping.max_tokens = 1
                        try:
                            msgs = list(stub.Generate(req, timeout=30,
                                                      metadata=(("x-test-call", cid),)))
                            code = ("OK" if msgs and msgs[-1].WhichOneof("kind") == "complete"
                                    else "NO_COMPLETE")
                            details = ""
                        except grpc.RpcError as e:
                            code, details = e.code().name, e.details()
                        with lock:
                            calls.append((cid, code, details, time.monotonic()))
            threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
            for t in threads:
                t.start()
            time.sleep(0.7 + 0.3 * random.random())
            a.proc.send_signal(signal.SIGTERM)
            t_term = time.monotonic()
            exit_code = a.proc.wait(timeout=60)
            time.sleep(0.3)
            stop.set()
            for t in threads:
                t.join(timeout=60)
            results += [(c, t - t_term) for c in calls for t in [c[3]]]
            rounds.append((len(calls), sum(c[1] != "OK" for c in calls), exit_code))
            self.assertEqual(exit_code, 0, a.log()[-2000:])
            a.kill()
            a = Replica("A", self.tmp, os.path.join(self.tmp, "model"), (a.port, a.metrics_port))
            self.replicas[0] = a
            self.assertTrue(dc.wait_until(a.ready, timeout=60, interval=0.05), a.log())
            time.sleep(fail_timeout + 0.5)  # nginx sends to A again

        served = self.parse_access_log()
        by_replica, by_nginx = collections.Counter(), collections.Counter()
        examples = []
        for (cid, code, details, _), dt in results:
            if code == "OK":
                continue
            hops, statuses, grpc_status = served.get(cid, ([], [], "-/-"))
            key = "%s %r (upstream status %s, grpc-status header/trailer %s)" % (
                code, details, ",".join(statuses), grpc_status)
            if statuses and statuses[-1] == "200":
                by_replica[key] += 1
            else:
                by_nginx[key] += 1
            if len(examples) < 20:
                # Where nginx sent it, and what each replica logged of it (its request log line
                # names the request_id), to tell a call lost in a drain from one a replica hung.
                logged = [r.name for r in self.replicas if ("id=%s " % cid) in r.log()]
                examples.append("  %s at SIGTERM%+.4f s: %s; nginx sent it to %s; logged by "
                                "replica %s" % (cid, dt, key, hops or "-", logged or "none"))
        total = sum(n for n, _, _ in rounds)
        print("stress: %d SIGTERMs, %d calls, %d failed: %d answered with an error by the "
              "replica, %d nginx 502s" % (len(rounds), total, sum(f for _, f, _ in rounds),
                                          sum(by_replica.values()), sum(by_nginx.values())),
              flush=True)
        for key, n in sorted(by_replica.items()) + sorted(by_nginx.items()):
            print("  %4d x %s" % (n, key))
        print("\n".join(examples), flush=True)
        self.assertEqual(dict(by_replica), {}, "calls a draining replica accepted and then "
                         "answered with an error status (nginx cannot retry those)")
        self.assertEqual(dict(by_nginx), {}, "calls nginx had sent to a replica that then "
                         "broke the connection (HTTP 502), or that no replica answered; "
                         "replicas A, B: %s\nnginx errors:\n%s" % (
                             [r.address for r in self.replicas],
                             self.file("nginx-error.log")[-4000:]))


if __name__ == "__main__":
    for tool in (FLAGS.nginx, "prometheus", "promtool"):
        if not shutil.which(tool):
            dc.skip("%s is not installed (scripts/setup.sh installs it)" % tool)
    unittest.main(verbosity=2)
