"""The curl examples of docs/api.md, "OpenAI-compatible HTTP API", run as written: every ```sh
block of that section that uses $EGMLA_HTTP runs with bash against a real server (EGMLA_HTTP set
to its http://127.0.0.1:PORT) and must exit 0 and print a sensible response: JSON of the right
object, an OpenAI error body for the example without --fail-with-body, server-sent events ending
with `data: [DONE]` for a streamed one. A block goes to the server of the model it names:
`egmla-kjv` is the bundled trained model (what `make run` serves), any other name a random text
model of that name whose config.json names "chat_format": "chatml"."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import Server

REPO = harness.REPO
API_MD = os.path.join(REPO, "docs", "api.md")
SECTION = "## OpenAI-compatible HTTP API"
BUNDLED = "egmla-kjv"


def examples():
    """The ```sh blocks of SECTION (up to the next level-2 heading) that use $EGMLA_HTTP."""
    with open(API_MD) as f:
        text = f.read()
    start = text.find("\n" + SECTION + "\n")
    if start < 0:
        raise AssertionError("docs/api.md has no section %r" % SECTION)
    body = text[start + len(SECTION) + 2:]
    end = re.search(r"^## ", body, re.M)
    body = body[:end.start()] if end else body
    blocks = re.findall(r"^```sh\n(.*?)^```$", body, re.S | re.M)
    return [b for b in blocks if "$EGMLA_HTTP" in b]


def model_of(block):
    match = re.search(r'"model":\s*"([^"]+)"', block)
    return match.group(1) if match else BUNDLED


def request_body(block):
    """The JSON of the block's -d '…' (None without one)."""
    match = re.search(r"-d '(.*?)'", block, re.S)
    return json.loads(match.group(1)) if match else None


def events(stdout):
    """The `data:` payloads of a server-sent event stream."""
    payloads = []
    for event in stdout.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in event.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        assert all(line.startswith("data: ") for line in lines), event
        payloads.append("\n".join(line[len("data: "):] for line in lines))
    return payloads


class CurlDocsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.blocks = examples()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.servers = {}
        try:
            for name in sorted({model_of(b) for b in cls.blocks}):
                if name == BUNDLED:
                    model = os.path.join(REPO, "models", BUNDLED)
                else:
                    directory = os.path.join(cls.tmp.name, "made-" + name)
                    os.mkdir(directory)
                    model = os.path.join(cls.tmp.name, name)
                    os.rename(harness.make_text_model(directory, chat_format="chatml"), model)
                cls.servers[name] = Server(model).start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for server in cls.servers.values():
            server.stop()
        cls.tmp.cleanup()

    def run_block(self, block):
        server = self.servers[model_of(block)]
        env = dict(os.environ, EGMLA_HTTP="http://127.0.0.1:%d" % server.http_port)
        proc = subprocess.run(["bash", "-e", "-c", block], env=env, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 0, "exit %d\n%s\nstdout: %s\nstderr: %s"
                         % (proc.returncode, block, proc.stdout, proc.stderr))
        return proc.stdout

    def test_the_section_has_the_examples(self):
        self.assertTrue(shutil.which("curl"), "curl is not installed")
        kinds = set()
        for block in self.blocks:
            body = request_body(block) or {}
            if "/v1/models" in block:
                kinds.add("models")
            elif "--fail-with-body" not in block:
                kinds.add("error")
            elif body.get("stream"):
                kinds.add("stream")
            elif "/v1/chat/completions" in block:
                kinds.add("chat")
            elif "/v1/completions" in block:
                kinds.add("completion")
        self.assertEqual(kinds, {"models", "completion", "stream", "chat", "error"}, self.blocks)

    def test_each_example_runs(self):
        self.assertTrue(self.blocks)
        for block in self.blocks:
            with self.subTest(block=block):
                self.check(block, self.run_block(block))

    def check(self, block, stdout):
        body = request_body(block)
        model = model_of(block)
        if body and body.get("stream"):
            payloads = events(stdout)
            self.assertGreaterEqual(len(payloads), 2, stdout)
            self.assertEqual(payloads[-1], "[DONE]", stdout)
            chunks = [json.loads(p) for p in payloads[:-1]]
            chat = "/v1/chat/completions" in block
            for chunk in chunks:
                self.assertNotIn("error", chunk)
                self.assertEqual(chunk["object"],
                                 "chat.completion.chunk" if chat else "text_completion")
                self.assertEqual(chunk["model"], model)
            texts = [c["choices"][0]["delta"].get("content") or "" if chat
                     else c["choices"][0]["text"] for c in chunks if c["choices"]]
            self.assertTrue(texts, stdout)
            self.assertTrue(all(isinstance(t, str) for t in texts))
            if body.get("stream_options", {}).get("include_usage"):
                usage = chunks[-1].get("usage")
                self.assertTrue(usage, chunks[-1])
                self.assertLessEqual(usage["completion_tokens"], body["max_tokens"])
                self.assertEqual(usage["total_tokens"],
                                 usage["prompt_tokens"] + usage["completion_tokens"])
            return
        reply = json.loads(stdout)
        if "--fail-with-body" not in block:  # an example of an error
            error = reply["error"]
            self.assertIsInstance(error["message"], str)
            self.assertTrue(error["message"])
            self.assertIn("type", error)
            self.assertIn("code", error)
            self.assertIn(error["param"], body, "param names a field of the request")
            return
        self.assertNotIn("error", reply)
        if "/v1/models" in block:
            self.assertEqual(reply["object"], "list")
            self.assertEqual([m["id"] for m in reply["data"]], [model])
        elif "/v1/chat/completions" in block:
            self.assertEqual(reply["object"], "chat.completion")
            self.assertEqual(reply["model"], model)
            self.assertEqual(reply["choices"][0]["message"]["role"], "assistant")
            self.assertIsInstance(reply["choices"][0]["message"]["content"], str)
            self.assertIn(reply["choices"][0]["finish_reason"], ("stop", "length"))
        else:
            self.assertEqual(reply["object"], "text_completion")
            self.assertEqual(reply["model"], model)
            self.assertIsInstance(reply["choices"][0]["text"], str)
            self.assertIn(reply["choices"][0]["finish_reason"], ("stop", "length"))
            self.assertLessEqual(reply["usage"]["completion_tokens"], body["max_tokens"])


if __name__ == "__main__":
    harness.main()
