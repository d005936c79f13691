"""Shared pieces of the deploy tests: the repository's deploy/ files templated with a test's own
ports, free ports, waiting, and the egmla gRPC stubs.

Nothing here edits the committed files: each function reads one and returns the text (or the
YAML object) a test writes into its own temporary folder.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEPLOY = os.path.join(REPO, "deploy")
SKIP = 77  # ctest SKIP_RETURN_CODE of every deploy test


def skip(message):
    print("SKIP: " + message, flush=True)
    sys.exit(SKIP)


def import_stubs(stubs_dir):
    """Makes `egmla.v1` and `grpc.health.v1` importable from the build's generated stubs."""
    sys.path.insert(0, stubs_dir)
    import grpc
    grpc.__path__.append(os.path.join(stubs_dir, "grpc"))


def free_ports(n):
    """n distinct ports nothing listens on right now (all sockets held open until all are
    picked, so the kernel does not hand out one twice)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_until(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def http_text(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


# ------------------------------------------------------------------------------------------
# nginx

NGINX_CONF = os.path.join(DEPLOY, "nginx", "egmla.conf")
_UPSTREAM_SERVER = re.compile(r"(?m)^(\s*server\s+)(\S+?)(\s|;)")
_LISTEN = re.compile(r"(?m)^(\s*listen\s+)(\d+)(\s+http2\s*;)")


def nginx_site(replica_addresses, listen_port, conf=NGINX_CONF):
    """deploy/nginx/egmla.conf with the upstream's `server` addresses replaced by
    `replica_addresses` (as many as the file lists) and the listen port by `listen_port`;
    every other directive as committed."""
    with open(conf) as f:
        text = f.read()
    upstream = re.search(r"(?s)upstream\s+\w+\s*\{.*?\n\}", text)
    if not upstream:
        raise AssertionError("%s: no upstream block" % conf)
    block = upstream.group(0)
    found = _UPSTREAM_SERVER.findall(block)
    if len(found) != len(replica_addresses):
        raise AssertionError("%s: the upstream lists %d servers, the test has %d replicas"
                             % (conf, len(found), len(replica_addresses)))
    addresses = iter(replica_addresses)
    block = _UPSTREAM_SERVER.sub(lambda m: m.group(1) + next(addresses) + m.group(3), block)
    text = text[:upstream.start()] + block + text[upstream.end():]
    text, n = _LISTEN.subn(lambda m: m.group(1) + str(listen_port) + m.group(3), text)
    if n != 1:
        raise AssertionError("%s: expected one 'listen PORT http2;', found %d" % (conf, n))
    return text


def nginx_main_conf(tmp, site_path, log_format_fields):
    """A minimal nginx.conf around the site file: everything in `tmp`, in the foreground."""
    paths = {name: os.path.join(tmp, name) for name in
             ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for p in paths.values():
        os.makedirs(p, exist_ok=True)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return """%sdaemon off;
worker_processes 2;
pid %s;
error_log %s warn;
events { worker_connections 1024; }
http {
    log_format egmla_test '%s';
    access_log %s egmla_test;
    client_body_temp_path %s;
    proxy_temp_path %s;
    fastcgi_temp_path %s;
    uwsgi_temp_path %s;
    scgi_temp_path %s;
    include %s;
}
""" % (user, os.path.join(tmp, "nginx.pid"), os.path.join(tmp, "nginx-error.log"),
       log_format_fields, os.path.join(tmp, "nginx-access.log"), paths["client_body"],
       paths["proxy"], paths["fastcgi"], paths["uwsgi"], paths["scgi"], site_path)


# ------------------------------------------------------------------------------------------
# Prometheus

PROMETHEUS_CONF = os.path.join(DEPLOY, "prometheus", "prometheus.yml")
PROMETHEUS_K8S_CONF = os.path.join(DEPLOY, "prometheus", "prometheus-k8s.yml")


def prometheus_config(targets, interval="1s"):
    """deploy/prometheus/prometheus.yml with the egmla job's targets replaced and a short
    scrape interval (so that a test sees targets within seconds)."""
    import yaml
    with open(PROMETHEUS_CONF) as f:
        config = yaml.safe_load(f)
    config["global"]["scrape_interval"] = interval
    config["global"]["scrape_timeout"] = interval
    config["global"]["evaluation_interval"] = interval
    jobs = [j for j in config["scrape_configs"] if j["job_name"] == "egmla"]
    if len(jobs) != 1 or len(jobs[0]["static_configs"]) != 1:
        raise AssertionError("%s: expected one egmla job with one static_configs entry"
                             % PROMETHEUS_CONF)
    jobs[0]["static_configs"][0]["targets"] = list(targets)
    return config


def k8s_job_on_file_sd(sd_file, job_name="egmla-k8s"):
    """The egmla job of deploy/prometheus/prometheus-k8s.yml, its relabelling as committed, but
    with Kubernetes discovery swapped for a file listing what Kubernetes' pod discovery would
    list (Debian's Prometheus is built without Kubernetes discovery, and there is no cluster)."""
    import yaml
    with open(PROMETHEUS_K8S_CONF) as f:
        config = yaml.safe_load(f)
    jobs = [j for j in config["scrape_configs"] if j["job_name"] == "egmla"]
    if len(jobs) != 1 or "kubernetes_sd_configs" not in jobs[0]:
        raise AssertionError("%s: expected one egmla job with kubernetes_sd_configs"
                             % PROMETHEUS_K8S_CONF)
    job = dict(jobs[0])
    assert job["kubernetes_sd_configs"] == [{"role": "pod"}], job["kubernetes_sd_configs"]
    del job["kubernetes_sd_configs"]
    job["job_name"] = job_name
    job["file_sd_configs"] = [{"files": [sd_file], "refresh_interval": "1s"}]
    return job


def fake_pod(name, ip, container_ports, annotations, phase="Running", namespace="default"):
    """The targets Kubernetes' `role: pod` discovery makes for one pod: one per declared
    container port, each with the pod's meta labels."""
    labels = {
        "__meta_kubernetes_namespace": namespace,
        "__meta_kubernetes_pod_name": name,
        "__meta_kubernetes_pod_ip": ip,
        "__meta_kubernetes_pod_phase": phase,
        "__meta_kubernetes_pod_node_name": "node-1",
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": "egmla-serve",
    }
    for key, value in annotations.items():
        labels["__meta_kubernetes_pod_annotation_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)] = value
        labels["__meta_kubernetes_pod_annotationpresent_" +
               re.sub(r"[^a-zA-Z0-9_]", "_", key)] = "true"
    groups = []
    for port_name, port in container_ports:
        groups.append({"targets": ["%s:%d" % (ip, port)], "labels": dict(
            labels, __meta_kubernetes_pod_container_name="egmla-server",
            __meta_kubernetes_pod_container_port_name=port_name,
            __meta_kubernetes_pod_container_port_number=str(port),
            __meta_kubernetes_pod_container_port_protocol="TCP")})
    return groups


def prometheus_query(web_port, expr, timeout=5):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (web_port,
                                                      urllib.parse.urlencode({"query": expr}))
    try:
        return http_json(url, timeout)
    except urllib.error.HTTPError as e:  # 400 with a JSON body on a bad expression
        return json.loads(e.read().decode())


def start_prometheus(tmp, config, web_port, log):
    import yaml
    path = os.path.join(tmp, "prometheus.yml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    check = subprocess.run(["promtool", "check", "config", path], capture_output=True, text=True)
    if check.returncode != 0:
        raise AssertionError("promtool check config:\n" + check.stdout + check.stderr)
    return subprocess.Popen(
        ["prometheus", "--config.file=" + path,
         "--storage.tsdb.path=" + os.path.join(tmp, "prometheus-data"),
         "--web.listen-address=127.0.0.1:%d" % web_port, "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def grafana_queries(path=os.path.join(DEPLOY, "grafana", "egmla-dashboard.json")):
    """(panel title, PromQL) of every target of the dashboard, with its variables replaced as
    Grafana would: $job and $instance by 'all', $__rate_interval by a window."""
    with open(path) as f:
        dashboard = json.load(f)
    out = []

    def walk(panels):
        for p in panels:
            walk(p.get("panels", []))
            for t in p.get("targets", []):
                out.append((p["title"], t["expr"]))
    walk(dashboard["panels"])
    return out


def grafana_expand(expr, job="egmla", instance=".*", rate_interval="30s"):
    return (expr.replace("$__rate_interval", rate_interval).replace("$job", job)
            .replace("$instance", instance))
