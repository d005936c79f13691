"""Shared pieces of the end-to-end tests (DESIGN §8.4): a small random model, a real egmla-server
on loopback, and helpers to call it.

Every test file is run as
  /usr/bin/python3 tests/e2e/<file>.py --server-bin BIN --cli-bin BIN --stubs DIR [unittest args]
The three flags are read here, when the file imports this module, so that the generated stubs
(DIR) can be imported right below; the remaining arguments go to unittest.
Without the flags, EGMLA_SERVER_BIN, EGMLA_CLI_BIN and EGMLA_PYTHON_STUBS or ./build are used.
"""
import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The default config's architecture with 2 layers and a long context, so that an ignore_eos
# generation runs for many seconds (cancel, abort, drain) while short ones stay fast.
CONFIG = os.path.join(HERE, "model.config.json")
VOCAB_SIZE = 512
EOS_ID = 2
READY_SERVICE = "egmla.v1.Generation"


def _parse_flags():
    parser = argparse.ArgumentParser(add_help=False)
    build = os.path.join(REPO, "build")
    parser.add_argument("--server-bin", default=os.environ.get(
        "EGMLA_SERVER_BIN", os.path.join(build, "server", "egmla-server")))
    parser.add_argument("--cli-bin", default=os.environ.get(
        "EGMLA_CLI_BIN", os.path.join(build, "tools", "egmla")))
    parser.add_argument("--stubs", default=os.environ.get(
        "EGMLA_PYTHON_STUBS", os.path.join(build, "python_stubs")))
    flags, rest = parser.parse_known_args()
    sys.argv[1:] = rest
    return flags


FLAGS = _parse_flags()
sys.path.insert(0, FLAGS.stubs)

import grpc  # noqa: E402

# grpcio is a regular package, so its stubs (DIR/grpc/health/v1) are found only on its path.
grpc.__path__.append(os.path.join(FLAGS.stubs, "grpc"))
from egmla.v1 import generation_pb2 as pb  # noqa: E402
from egmla.v1 import generation_pb2_grpc as pb_grpc  # noqa: E402
from grpc.health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

LENGTH = pb.FINISH_REASON_LENGTH
STOP = pb.FINISH_REASON_STOP
ABORTED = pb.FINISH_REASON_ABORTED
CONTEXT_LIMIT = pb.FINISH_REASON_CONTEXT_LIMIT
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def main():
    unittest.main(verbosity=2)


# ---------------------------------------------------------------------------------------------
# Programs.

def cli(*args, check=True, timeout=120):
    """Runs `egmla ARGS`; returns the CompletedProcess (text mode)."""
    proc = subprocess.run([FLAGS.cli_bin, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError("egmla %s exited %d: %s" % (" ".join(map(str, args)),
                                                         proc.returncode, proc.stderr))
    return proc


def make_model(directory, config=CONFIG, seed=0):
    """A deterministic random-weight checkpoint in `directory`/model; returns its path."""
    out = os.path.join(directory, "model")
    cli("random-model", "--config", config, "--seed", seed, "--out", out)
    return out


TINY_SP = os.path.join(REPO, "tests", "data", "tokenizers", "tiny_sp.model")


def make_text_model(directory, **config_fields):
    """A random model with the tiny SentencePiece tokenizer (600 pieces) as tokenizer.model, the
    default config changed by `config_fields`; returns its path."""
    import json
    import shutil
    with open(CONFIG) as f:
        config = json.load(f)
    config.update(vocab_size=600, **config_fields)
    config_path = os.path.join(directory, "config.json")
    with open(config_path, "w") as f:
        json.dump(config, f)
    model = make_model(directory, config=config_path)
    shutil.copy(TINY_SP, os.path.join(model, "tokenizer.model"))
    return model


class ModelTestCase(unittest.TestCase):
    """Tests over one random model made once per class: cls.model, in cls.tmp; with
    TEXT_MODEL (a dict of config fields, empty for the defaults) a make_text_model one. With
    SERVER_FLAGS (a tuple, empty for the defaults) the class also gets one server of it,
    cls.server, and a stub on it, cls.stub."""
    SERVER_FLAGS = None
    TEXT_MODEL = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        if cls.TEXT_MODEL is None:
            cls.model = make_model(cls.tmp.name)
        else:
            cls.model = make_text_model(cls.tmp.name, **cls.TEXT_MODEL)
        if cls.SERVER_FLAGS is not None:
            cls.server = Server(cls.model, *cls.SERVER_FLAGS).start()
            cls.stub = cls.server.stub()

    @classmethod
    def tearDownClass(cls):
        if cls.SERVER_FLAGS is not None:
            cls.server.stop()
        cls.tmp.cleanup()


def _die_with_parent():
    """In the child before exec: SIGKILL it when the test process dies (a ctest timeout, say),
    so that no server outlives its test."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    """A port nothing listens on right now (the server is not asked for port 0: it would not
    tell us which one it took)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, interval=0.05):
    """Polls `predicate` until it returns a truthy value (returned) or `timeout` passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Server:
    """One egmla-server process on 127.0.0.1 with free gRPC, metrics and HTTP (OpenAI API) ports.

    Use as a context manager, or call start() and register stop() with addCleanup: the process
    is always killed at the end, also when a test fails.
    """

    def __init__(self, model, *flags, root_cert=None, api_key=None):
        self.model = model
        self.flags = [str(f) for f in flags]
        self.root_cert = root_cert  # PEM bytes: the server uses TLS
        self.api_key = api_key      # sent by the helper's own calls (health needs none)
        self.proc = None
        self.port = self.metrics_port = self.http_port = None
        self._channels = []
        self._log = None

    # Lifecycle.
    def start(self, ready_timeout=60):
        for attempt in range(3):  # a port picked free may be taken before the server binds it
            self.port = free_port()
            self.metrics_port = self.http_port = self.port
            while self.metrics_port == self.port:
                self.metrics_port = free_port()
            while self.http_port in (self.port, self.metrics_port):
                self.http_port = free_port()
            self._log = tempfile.NamedTemporaryFile(prefix="egmla-server-", suffix=".log",
                                                    delete=False)
            cmd = [FLAGS.server_bin, "--model", self.model, "--host", "127.0.0.1",
                   "--port", str(self.port), "--metrics-port", str(self.metrics_port),
                   "--http-port", str(self.http_port), *self.flags]
            self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
            if self._wait_ready(ready_timeout):
                return self
            log = self.log()
            if self.proc.poll() is None or attempt == 2 or not (
                    str(self.port) in log or str(self.metrics_port) in log or
                    str(self.http_port) in log):
                break
            self._remove_log()
        log = self.log()
        self.stop()
        raise AssertionError("egmla-server %s did not become ready:\n%s" % (" ".join(cmd), log))

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            # A fresh channel each time: one that found the port closed backs off for seconds.
            channel = self.channel()
            try:
                reply = self.health_stub(channel).Check(
                    health_pb2.HealthCheckRequest(service=READY_SERVICE), timeout=1)
                if reply.status == SERVING:
                    return True
            except grpc.RpcError:
                pass
            finally:
                channel.close()
                self._channels.remove(channel)
            time.sleep(0.05)
        return False

    def stop(self):
        for channel in self._channels:
            channel.close()
        self._channels = []
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._remove_log()

    def _remove_log(self):
        if self._log is not None:
            self._log.close()
            os.unlink(self._log.name)
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def signal(self, signum=signal.SIGTERM):
        self.proc.send_signal(signum)

    def wait_exit(self, timeout=30):
        """The exit status, or None if the process still runs after `timeout`."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def log(self):
        if self._log is None:
            return ""
        with open(self._log.name, errors="replace") as f:
            return f.read()

    # Clients.
    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def http_base(self):
        """The OpenAI-compatible API's base URL (http://127.0.0.1:PORT/v1)."""
        return "http://127.0.0.1:%d/v1" % self.http_port

    def channel(self, secure=None, options=None):
        """A new channel; TLS when the server has a cert (or `secure` says so)."""
        secure = self.root_cert is not None if secure is None else secure
        if secure:
            creds = grpc.ssl_channel_credentials(root_certificates=self.root_cert)
            channel = grpc.secure_channel(self.address, creds, options=options)
        else:
            channel = grpc.insecure_channel(self.address, options=options)
        self._channels.append(channel)
        return channel

    def stub(self, channel=None):
        return pb_grpc.GenerationStub(channel or self.channel())

    def health_stub(self, channel=None):
        return health_pb2_grpc.HealthStub(channel or self.channel())

    def metadata(self):
        return (("authorization", "Bearer " + self.api_key),) if self.api_key else None

    def load(self, stub=None):
        return (stub or self.stub()).GetLoad(pb.GetLoadRequest(), timeout=10,
                                              metadata=self.metadata())

    def wait_idle(self, timeout=10):
        """Waits until GetLoad shows nothing running or waiting and no block held; returns the
        last Load."""
        stub = self.stub()
        last = []

        def idle():
            load = self.load(stub)
            last.append(load)
            return load.running == 0 and load.waiting == 0 and load.kv_cache_usage == 0
        wait_until(idle, timeout)
        return last[-1]


# ---------------------------------------------------------------------------------------------
# Requests and responses.

def request(ids=(1, 2, 3), *, request_id="", sampling=None, stopping=None, **fields):
    """A GenerateRequest for token ids; `sampling` and `stopping` are dicts of their fields."""
    req = pb.GenerateRequest(request_id=request_id, **fields)
    req.token_ids.ids.extend(ids)
    if sampling is not None:
        req.sampling.CopyFrom(pb.SamplingParams(**sampling))
    if stopping is not None:
        req.stopping.CopyFrom(pb.StoppingCriteria(**stopping))
    return req


def greedy(ids=(1, 2, 3), max_tokens=8, **fields):
    stopping = dict(fields.pop("stopping", {}), max_tokens=max_tokens)
    return request(ids, sampling=dict(temperature=0.0), stopping=stopping, **fields)


def long_request(ids=(1, 2, 3), **fields):
    """Runs until the context limit (many seconds on CPU) unless stopped."""
    return request(ids, stopping=dict(max_tokens=100000, ignore_eos=True), **fields)


class Result:
    """A finished Generate call: every message, the status code and its details."""

    def __init__(self, messages, code, details):
        self.messages, self.code, self.details = messages, code, details

    @property
    def chunks(self):
        return [m.chunk for m in self.messages if m.WhichOneof("kind") == "chunk"]

    @property
    def tokens(self):
        return [t for c in self.chunks for t in c.token_ids]

    @property
    def complete(self):
        """The Complete message; asserts it is exactly one and the last message."""
        kinds = [m.WhichOneof("kind") for m in self.messages]
        assert kinds.count("complete") == 1 and kinds[-1] == "complete", kinds
        return self.messages[-1].complete

    def __repr__(self):
        return "Result(code=%s, details=%r, %d messages)" % (self.code, self.details,
                                                            len(self.messages))


def collect(call, messages=None):
    """Reads a Generate call to its end."""
    messages = list(messages or [])
    try:
        for message in call:
            messages.append(message)
    except grpc.RpcError as e:
        return Result(messages, e.code(), e.details())
    return Result(messages, call.code(), call.details())


def generate(stub, req, timeout=60, metadata=None):
    return collect(stub.Generate(req, timeout=timeout, metadata=metadata))


def cli_greedy(model, ids, max_tokens, *extra):
    """`egmla run` (offline) greedy output as a list of ids."""
    out = cli("run", "--model", model, "--token-ids", ",".join(map(str, ids)), "--max-tokens",
              max_tokens, "--temperature", 0, *extra).stdout
    return [int(t) for t in out.split()]


def scrape(port, timeout=10):
    """The text of http://127.0.0.1:PORT/metrics."""
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=timeout) as r:
        return r.read().decode()


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} of a Prometheus text exposition."""
    import re
    samples = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        if m:
            labels = frozenset(label_re.findall(m.group(2) or ""))
            samples[(m.group(1), labels)] = float(m.group(3))
    return samples

