"""How clients reach the server (DESIGN §5): health (liveness and readiness), server reflection,
GetModelInfo, the API key (UNAUTHENTICATED without it; health and reflection stay open) and
TLS."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import (READY_SERVICE, SERVING, Server, cli, generate, greedy, grpc, health_pb2,
                     pb)

REFLECTION_METHOD = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
# ServerReflectionRequest{list_services: ""}: field 7, wire type 2 (length-delimited), length 0.
LIST_SERVICES = bytes([7 << 3 | 2, 0])


def list_services(channel):
    """The raw ServerReflectionResponse bytes (grpcio has no grpc_reflection client here)."""
    call = channel.stream_stream(REFLECTION_METHOD, request_serializer=lambda b: b,
                                 response_deserializer=lambda b: b)
    return b"".join(call(iter([LIST_SERVICES]), timeout=10))


class OpenServerTest(harness.ModelTestCase):
    """A server without key or TLS."""

    SERVER_FLAGS = ()

    def test_health_liveness_and_readiness(self):
        health = self.server.health_stub()
        for service in ("", READY_SERVICE):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            self.assertEqual(reply.status, SERVING, service)
        with self.assertRaises(grpc.RpcError) as caught:
            health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_reflection_lists_the_services(self):
        reply = list_services(self.server.channel())
        self.assertIn(b"egmla.v1.Generation", reply)
        self.assertIn(b"grpc.health.v1.Health", reply)

    def test_model_info_describes_the_model_and_cache(self):
        info = self.server.stub().GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
        with open(harness.CONFIG) as f:
            config = json.load(f)
        sizes = json.loads(cli("kv-size", "--config", harness.CONFIG).stdout)
        self.assertTrue(info.model_name)
        self.assertEqual(info.attention_type, "eg_mla")
        self.assertEqual(info.vocab_size, 512)
        self.assertEqual(info.num_layers, config["num_hidden_layers"])
        self.assertEqual(info.hidden_size, config["hidden_size"])
        self.assertEqual(info.num_heads, config["num_attention_heads"])
        self.assertEqual(info.kv_lora_rank, config["kv_lora_rank"])
        self.assertEqual(info.qk_rope_head_dim, config["qk_rope_head_dim"])
        self.assertEqual(info.max_context_tokens, config["max_position_embeddings"])
        self.assertEqual(info.kv_cache_elements_per_token, sizes["elements_per_token"])
        self.assertEqual(info.kv_cache_bytes_per_token, sizes["bytes_per_token"])
        self.assertEqual(info.gate_table_bytes, sizes["gate_table_bytes"])
        self.assertEqual(info.block_size, 64)
        # --kv-cache-memory defaults to 1 GiB on CPU.
        self.assertEqual(info.num_blocks, 2**30 // (info.kv_cache_bytes_per_token * 64))
        self.assertEqual(info.device, "cpu")
        self.assertEqual(info.kv_cache_dtype, "f32")
        self.assertEqual(info.dtype, "f32")
        self.assertFalse(info.has_tokenizer)
        load = self.server.load()
        self.assertEqual(load.total_blocks, info.num_blocks)
        self.assertFalse(load.draining)

    def test_model_info_follows_the_cache_flags(self):
        with Server(self.model, "--num-kv-blocks", 100, "--block-size", 16) as server:
            info = server.stub().GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
            self.assertEqual((info.num_blocks, info.block_size), (100, 16))
            self.assertEqual(server.load().total_blocks, 100)
            self.assertLessEqual(info.max_context_tokens, 100 * 16)


class ApiKeyTest(unittest.TestCase):
    KEY = "e2e-secret-key-0123"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        key_file = os.path.join(cls.tmp.name, "api.key")
        with open(key_file, "w") as f:
            f.write(cls.KEY + "\n")
        cls.server = Server(harness.make_model(cls.tmp.name), "--api-key-file", key_file,
                            api_key=cls.KEY).start()
        cls.stub = cls.server.stub()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def test_calls_without_the_right_key_are_unauthenticated(self):
        for metadata in (None, (("authorization", "Bearer wrong"),),
                         (("authorization", self.KEY),), (("x-api-key", self.KEY),)):
            with self.subTest(metadata=metadata):
                result = generate(self.stub, greedy(max_tokens=2), timeout=10, metadata=metadata)
                self.assertEqual(result.code, grpc.StatusCode.UNAUTHENTICATED, result)
                self.assertEqual(result.messages, [])
                for rpc, req in ((self.stub.GetModelInfo, pb.GetModelInfoRequest()),
                                 (self.stub.GetLoad, pb.GetLoadRequest()),
                                 (self.stub.Abort, pb.AbortRequest(request_id="x"))):
                    with self.assertRaises(grpc.RpcError) as caught:
                        rpc(req, timeout=10, metadata=metadata)
                    self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_refusals_are_counted_by_code(self):
        before = self.unauthenticated()
        generate(self.stub, greedy(max_tokens=1), timeout=10)
        self.assertEqual(self.unauthenticated(), before + 1)

    def unauthenticated(self):
        return harness.parse_metrics(harness.scrape(self.server.metrics_port))[
            ("egmla_requests_rejected_total", frozenset({("code", "unauthenticated")}))]

    def test_the_right_key_works(self):
        metadata = (("authorization", "Bearer " + self.KEY),)
        result = generate(self.stub, greedy(max_tokens=3), timeout=10, metadata=metadata)
        self.assertEqual(result.code, grpc.StatusCode.OK, result)
        self.assertEqual(len(result.tokens), 3)
        info = self.stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10, metadata=metadata)
        self.assertEqual(info.vocab_size, 512)

    def test_health_and_reflection_stay_open(self):
        reply = self.server.health_stub().Check(
            health_pb2.HealthCheckRequest(service=READY_SERVICE), timeout=10)
        self.assertEqual(reply.status, SERVING)
        self.assertIn(b"egmla.v1.Generation", list_services(self.server.channel()))

    def test_the_key_is_never_logged(self):
        generate(self.stub, greedy(max_tokens=1), timeout=10)  # a refused call
        self.assertNotIn(self.KEY, self.server.log())


@unittest.skipIf(shutil.which("openssl") is None, "openssl is not installed: no certificate")
class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cert, key = (os.path.join(cls.tmp.name, n) for n in ("cert.pem", "key.pem"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1"],
                       check=True, capture_output=True, timeout=60)
        with open(cert, "rb") as f:
            cls.cert_pem = f.read()
        cls.cert_path = cert
        cls.server = Server(harness.make_model(cls.tmp.name), "--tls-cert", cert, "--tls-key",
                            key, root_cert=cls.cert_pem).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def test_a_client_trusting_the_cert_gets_through(self):
        stub = self.server.stub()  # a TLS channel with the cert as root
        result = generate(stub, greedy(max_tokens=3), timeout=10)
        self.assertEqual(result.code, grpc.StatusCode.OK, result)
        self.assertEqual(len(result.tokens), 3)
        self.assertEqual(stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10).vocab_size, 512)

    def test_the_openai_api_is_https_too(self):
        import ssl
        import urllib.request
        context = ssl.create_default_context(cafile=self.cert_path)
        url = "https://localhost:%d/v1/completions" % self.server.http_port
        body = json.dumps({"prompt": [1, 2, 3], "max_tokens": 3, "temperature": 0}).encode()
        with urllib.request.urlopen(url, body, timeout=30, context=context) as reply:
            self.assertEqual(json.load(reply)["usage"]["completion_tokens"], 3)
        # Plain HTTP on the HTTPS port gets nowhere.
        with self.assertRaises(Exception):
            urllib.request.urlopen("http://127.0.0.1:%d/health" % self.server.http_port,
                                   timeout=5)

    def test_an_insecure_client_fails(self):
        stub = self.server.stub(self.server.channel(secure=False))
        with self.assertRaises(grpc.RpcError) as caught:
            stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=3)
        self.assertIn(caught.exception.code(), (grpc.StatusCode.UNAVAILABLE,
                                                grpc.StatusCode.DEADLINE_EXCEEDED))

    def test_a_client_not_trusting_the_cert_fails(self):
        channel = grpc.secure_channel(self.server.address, grpc.ssl_channel_credentials())
        try:
            with self.assertRaises(grpc.RpcError) as caught:
                pb_stub = harness.pb_grpc.GenerationStub(channel)
                pb_stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=3)
            self.assertIn(caught.exception.code(), (grpc.StatusCode.UNAVAILABLE,
                                                    grpc.StatusCode.DEADLINE_EXCEEDED))
        finally:
            channel.close()


if __name__ == "__main__":
    harness.main()
