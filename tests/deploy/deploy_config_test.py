"""Static checks of deploy/ (fast; no server): the Dockerfiles agree with scripts/setup.sh and
with each other, the Kubernetes manifests hold the drain arithmetic and the probes DESIGN §5
asks for, nginx and Prometheus accept their configs, the Grafana dashboard is valid and uses
only exported metrics.

  /usr/bin/python3 tests/deploy/deploy_config_test.py
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import deploy_common as dc

DOCKERFILE = os.path.join(dc.DEPLOY, "Dockerfile")
PREBUILT = os.path.join(dc.DEPLOY, "Dockerfile.prebuilt")
K8S = os.path.join(dc.DEPLOY, "k8s")


def read(path):
    with open(path) as f:
        return f.read()


def instructions(path):
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in read(path).splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current += (" " if current else "") + line.rstrip("\\").strip()
        if not line.endswith("\\"):
            lines.append(re.sub(r"\s+", " ", current))
            current = ""
    return lines


def stages(path):
    out, name = {}, None
    for ins in instructions(path):
        m = re.match(r"FROM \S+(?: AS (\S+))?$", ins, re.I)
        if m:
            name = m.group(1) or "stage%d" % len(out)
            out[name] = []
        elif name:
            out[name].append(ins)
    return out


def setup_packages():
    text = read(os.path.join(dc.REPO, "scripts", "setup.sh"))
    body = re.search(r"PACKAGES=\((.*?)\n\)", text, re.S).group(1)
    return [w for line in body.splitlines() for w in line.split("#")[0].split()
            if "# dev-only" not in line]  # formatter and fuzzer: not needed to build the image


def duration_seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m)", text)
    assert m, text
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(2)]


class DockerfileTest(unittest.TestCase):
    def test_build_stage_installs_every_build_dependency_of_setup_sh(self):
        build = " ".join(stages(DOCKERFILE)["build"])
        needed = [p for p in setup_packages()
                  if p.endswith("-dev") or p.startswith("protobuf-compiler") or
                  p in ("build-essential", "cmake", "ninja-build", "pkg-config")]
        self.assertGreater(len(needed), 10)
        missing = [p for p in needed if not re.search(r"(?<![\w.+-])%s(?![\w.+-])" %
                                                       re.escape(p), build)]
        self.assertEqual(missing, [], "scripts/setup.sh installs these build dependencies; add "
                                      "them to the build stage of deploy/Dockerfile")

    def test_bases_are_build_args_with_matching_cuda_defaults(self):
        text = read(DOCKERFILE)
        build = re.search(r"^ARG BUILD_BASE=(\S+)$", text, re.M).group(1)
        runtime = re.search(r"^ARG RUNTIME_BASE=(\S+)$", text, re.M).group(1)
        self.assertRegex(build, r"^nvidia/cuda:[\d.]+-devel-ubuntu[\d.]+$")
        self.assertEqual(runtime, build.replace("-devel-", "-runtime-"))
        self.assertIn("FROM ${BUILD_BASE} AS build", text)
        self.assertIn("FROM ${RUNTIME_BASE} AS runtime", text)
        self.assertEqual(re.search(r"^ARG RUNTIME_BASE=(\S+)$", read(PREBUILT), re.M).group(1),
                         runtime)

    def test_runtime_stage_user_ports_healthcheck_entrypoint(self):
        runtime = stages(DOCKERFILE)["runtime"]
        self.assertIn("USER 10001:10001", runtime)
        self.assertIn("EXPOSE 50051 8000 8002", runtime)
        self.assertIn('ENTRYPOINT ["egmla-server", "--model", "/opt/egmla/models/default", '
                      '"--host", "0.0.0.0"]', runtime)
        health = [i for i in runtime if i.startswith("HEALTHCHECK")]
        self.assertEqual(len(health), 1)
        self.assertTrue(health[0].endswith(
            'CMD ["egmla", "health", "--server", "localhost:50051"]'), health)
        build = " ".join(stages(DOCKERFILE)["build"])
        self.assertIn("random-model --config models/default.config.json --seed 0 --out "
                      "/opt/egmla/models/default", build)

    def test_prebuilt_runtime_matches_the_multistage_runtime(self):
        def tail(path):
            ins = stages(path)["runtime"]
            start = next(i for i, x in enumerate(ins) if x.startswith("RUN sh /tmp/runtime-setup"))
            return ins[start:]
        self.assertEqual(tail(PREBUILT), tail(DOCKERFILE))

    def test_runtime_packages_script_lists_the_packages_of_a_binary(self):
        out = subprocess.run([os.path.join(dc.DEPLOY, "runtime-packages.sh"), "/bin/ls"],
                             capture_output=True, text=True, check=True).stdout.split()
        self.assertIn("libc6", out)


class KubernetesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import yaml
        cls.docs = {}
        for name in sorted(os.listdir(K8S)):
            if name.endswith(".yaml"):
                with open(os.path.join(K8S, name)) as f:
                    for doc in yaml.safe_load_all(f):
                        if doc:
                            cls.docs.setdefault(doc["kind"], []).append(doc)

    def container(self):
        deployment, = self.docs["Deployment"]
        container, = deployment["spec"]["template"]["spec"]["containers"]
        return deployment, container

    def test_kustomization_lists_every_manifest(self):
        kustomization, = self.docs["Kustomization"]
        files = sorted(n for n in os.listdir(K8S)
                       if n.endswith(".yaml") and n != "kustomization.yaml")
        self.assertEqual(sorted(kustomization["resources"]), files)

    def test_probes_are_grpc_health_on_the_right_services(self):
        _, c = self.container()
        ready, live = c["readinessProbe"]["grpc"], c["livenessProbe"]["grpc"]
        self.assertEqual((ready["port"], ready["service"]), (50051, "egmla.v1.Generation"))
        self.assertEqual((live["port"], live["service"]), (50051, ""))
        self.assertEqual(c["startupProbe"]["grpc"]["service"], "")

    def test_grace_period_covers_prestop_and_drain_timeout(self):
        deployment, c = self.container()
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        command = c["lifecycle"]["preStop"]["exec"]["command"]
        self.assertEqual(command[0], "sleep")
        pre_stop = float(command[1])
        self.assertGreaterEqual(pre_stop, 3)
        drain = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--drain-timeout=")]
        self.assertEqual(len(drain), 1, "the Deployment states --drain-timeout")
        self.assertGreater(grace, pre_stop + duration_seconds(drain[0]) + 2,
                           "terminationGracePeriodSeconds > preStop + --drain-timeout + margin")

    def test_gpu_limit_ports_user_and_scrape_annotations(self):
        deployment, c = self.container()
        self.assertEqual(c["resources"]["limits"]["nvidia.com/gpu"], 1)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports, {"grpc": 50051, "metrics": 8002, "http": 8000})
        self.assertIn("--http-port=8000", c["args"])
        self.assertIn("--port=50051", c["args"])
        self.assertIn("--metrics-port=8002", c["args"])
        pod = deployment["spec"]["template"]
        self.assertEqual(pod["spec"]["securityContext"]["runAsUser"], 10001)
        self.assertEqual(pod["metadata"]["annotations"], {
            "prometheus.io/scrape": "true", "prometheus.io/port": "8002",
            "prometheus.io/path": "/metrics"})
        labels = pod["metadata"]["labels"]
        for selector in [deployment["spec"]["selector"]["matchLabels"]] + [
                s["spec"]["selector"] for s in self.docs["Service"]]:
            self.assertTrue(set(selector.items()) <= set(labels.items()), selector)

    def test_services_expose_grpc_and_metrics(self):
        services = {s["metadata"]["name"]: s for s in self.docs["Service"]}
        main = services["egmla-serve"]["spec"]["ports"]
        self.assertEqual({(p["name"], p["port"], p["targetPort"]) for p in main},
                         {("grpc", 50051, "grpc"), ("metrics", 8002, "metrics"),
                          ("http", 8000, "http")})
        self.assertEqual(services["egmla-serve-headless"]["spec"]["clusterIP"], "None")

    def test_hpa_scales_the_deployment_on_queue_depth(self):
        hpa, = self.docs["HorizontalPodAutoscaler"]
        deployment, _ = self.container()
        self.assertEqual(hpa["spec"]["scaleTargetRef"]["name"], deployment["metadata"]["name"])
        self.assertEqual(hpa["spec"]["metrics"][0]["pods"]["metric"]["name"],
                         "egmla_requests_waiting")


class NginxPrometheusGrafanaTest(unittest.TestCase):
    def test_nginx_config_directives(self):
        text = read(dc.NGINX_CONF)
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        self.assertRegex(code, r"grpc_pass\s+grpc://egmla_replicas;")
        self.assertRegex(code, r"grpc_next_upstream\s+error\s+timeout\s+non_idempotent;")
        upstream = re.search(r"(?s)upstream\s+egmla_replicas\s*\{(.*?)\n\}", code).group(1)
        self.assertNotRegex(upstream, r"\bkeepalive\b",
                            "no upstream keepalive: see the comment in egmla.conf")
        self.assertRegex(code, r"listen\s+\d+\s+http2;")

    @unittest.skipUnless(shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"),
                         "nginx is not installed")
    def test_nginx_accepts_the_config(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        with tempfile.TemporaryDirectory() as tmp:
            site = os.path.join(tmp, "egmla.conf")
            with open(site, "w") as f:
                f.write(dc.nginx_site(["127.0.0.1:1", "127.0.0.1:2"], 3))
            main = os.path.join(tmp, "nginx.conf")
            with open(main, "w") as f:
                f.write(dc.nginx_main_conf(tmp, site, "$status"))
            r = subprocess.run([nginx, "-t", "-p", tmp, "-c", main, "-e",
                                os.path.join(tmp, "error.log")], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)

    @unittest.skipUnless(shutil.which("promtool"), "promtool is not installed")
    def test_promtool_accepts_the_scrape_configs(self):
        r = subprocess.run(["promtool", "check", "config", dc.PROMETHEUS_CONF],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Debian's Prometheus is built without Kubernetes discovery: check the k8s file with its
        # discovery swapped for a file (the relabelling, the part written here, as committed).
        import yaml
        with tempfile.TemporaryDirectory() as tmp:
            config = yaml.safe_load(read(dc.PROMETHEUS_K8S_CONF))
            config["scrape_configs"] = [dc.k8s_job_on_file_sd(os.path.join(tmp, "pods.json"))]
            path = os.path.join(tmp, "k8s.yml")
            with open(path, "w") as f:
                yaml.safe_dump(config, f)
            r = subprocess.run(["promtool", "check", "config", path], capture_output=True,
                               text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_grafana_dashboard(self):
        dashboard = json.loads(read(os.path.join(dc.DEPLOY, "grafana", "egmla-dashboard.json")))
        for key in ("title", "uid", "panels", "schemaVersion", "templating"):
            self.assertIn(key, dashboard)
        ids = [p["id"] for p in dashboard["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids are unique")
        for p in dashboard["panels"]:
            for key in ("h", "w", "x", "y"):
                self.assertIn(key, p["gridPos"])
            self.assertLessEqual(p["gridPos"]["x"] + p["gridPos"]["w"], 24)
        queries = dc.grafana_queries()
        documented = set(re.findall(r"^\| `(egmla_\w+)`",
                                    read(os.path.join(dc.REPO, "docs", "metrics.md")), re.M))
        self.assertGreater(len(documented), 15)
        used = set()
        for _, expr in queries:
            for name in re.findall(r"\b(egmla_\w+)", expr):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                self.assertTrue(name in documented or base in documented,
                                "%s is not an exported metric (docs/metrics.md)" % name)
                used.add(base)
        for needed in ("egmla_time_to_first_token_seconds", "egmla_inter_token_latency_seconds",
                       "egmla_generation_tokens_total", "egmla_requests_finished_total",
                       "egmla_kv_cache_usage_ratio", "egmla_kv_cache_blocks",
                       "egmla_requests_waiting", "egmla_requests_running",
                       "egmla_requests_rejected_total", "egmla_preemptions_total"):
            self.assertIn(needed, used)
        exprs = " ".join(e for _, e in queries)
        self.assertIn("histogram_quantile(0.99, sum by (le) "
                      "(rate(egmla_time_to_first_token_seconds_bucket", exprs)
        self.assertIn("histogram_quantile(0.99, sum by (le) "
                      "(rate(egmla_inter_token_latency_seconds_bucket", exprs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
