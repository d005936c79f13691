"""The official OpenAI Node client against the OpenAI-compatible HTTP API (docs/api.md): runs
tests/e2e/openai/client_test.mjs (node:test) with the `openai` npm package that scripts/setup.sh
installs from tests/e2e/openai/package-lock.json into BUILD/node/openai-client, against two
servers made here:
  main:  a text model whose config.json names "chat_format": "chatml", with an API key;
  small: the same weights without a chat format, --max-num-seqs 1 --max-queued-requests 1 (429).
Then checks that the streams the client cut (client_test.mjs cuts one on main, two on small)
left both servers idle with no cache block held.

Extra flag: --openai-client DIR (the npm install folder; default BUILD/node/openai-client)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import Server

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_TEST = os.path.join(HERE, "openai", "client_test.mjs")


def _parse_flags():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--openai-client", default=os.path.join(
        os.path.dirname(os.path.dirname(harness.FLAGS.server_bin)), "node", "openai-client"))
    flags, rest = parser.parse_known_args()
    sys.argv[1:] = rest
    return flags


FLAGS = _parse_flags()
KEY = "oai-test-key-0123"


def set_config(model, **fields):
    """Changes fields of MODEL/config.json; a None value removes the field."""
    path = os.path.join(model, "config.json")
    with open(path) as f:
        config = json.load(f)
    for name, value in fields.items():
        if value is None:
            config.pop(name, None)
        else:
            config[name] = value
    with open(path, "w") as f:
        json.dump(config, f)


class OpenAIClientTest(unittest.TestCase):
    def test_openai_node_client(self):
        client_dir = os.path.abspath(FLAGS.openai_client)
        if not os.path.isfile(os.path.join(client_dir, "node_modules", "openai", "package.json")):
            self.fail("the openai npm package is not installed in %s: run scripts/setup.sh "
                      "(with BUILD_DIR set when the build folder is not ./build)" % client_dir)
        node = shutil.which("node")
        if node is None:
            self.fail("node (Node.js 20 or later) is not on PATH: install it, then run "
                      "scripts/setup.sh")

        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        made = harness.make_text_model(tmp.name)
        chat_model = os.path.join(tmp.name, "chat-model")
        plain_model = os.path.join(tmp.name, "plain-model")
        os.rename(made, chat_model)
        shutil.copytree(chat_model, plain_model)
        set_config(chat_model, chat_format="chatml")
        set_config(plain_model, chat_format=None)

        key_file = os.path.join(tmp.name, "api-key")
        with open(key_file, "w") as f:
            f.write(KEY + "\n")
        main = Server(chat_model, "--api-key-file", key_file, api_key=KEY).start()
        self.addCleanup(main.stop)
        small = Server(plain_model, "--max-num-seqs", 1, "--max-queued-requests", 1).start()
        self.addCleanup(small.stop)

        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        env.update(
            EGMLA_OAI_CLIENT_DIR=client_dir,
            EGMLA_OAI_URL=main.http_base,
            EGMLA_OAI_METRICS="http://127.0.0.1:%d/metrics" % main.metrics_port,
            EGMLA_OAI_MODEL="chat-model",
            EGMLA_OAI_KEY=KEY,
            EGMLA_OAI_SMALL_URL=small.http_base,
            EGMLA_OAI_SMALL_METRICS="http://127.0.0.1:%d/metrics" % small.metrics_port,
            EGMLA_OAI_SMALL_MODEL="plain-model",
            NO_COLOR="1")
        try:
            proc = subprocess.run([node, "--test-reporter=spec", CLIENT_TEST], env=env,
                                  cwd=os.path.dirname(CLIENT_TEST), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=240)
        except subprocess.TimeoutExpired as e:
            self.fail("client_test.mjs ran over 240 s:\n%s\nmain server log:\n%s\nsmall "
                      "server log:\n%s" % (e.output, main.log()[-4000:], small.log()[-4000:]))
        print(proc.stdout)
        if proc.returncode != 0:
            self.fail("client_test.mjs exited %d (its report is above)\nmain server log "
                      "(tail):\n%s\nsmall server log (tail):\n%s"
                      % (proc.returncode, main.log()[-4000:], small.log()[-4000:]))

        # The cut streams were aborted and freed their blocks.
        for name, server in (("main", main), ("small", small)):
            load = server.wait_idle()
            self.assertEqual((load.running, load.waiting, load.kv_cache_usage), (0, 0, 0.0),
                             "%s: %s" % (name, load))


if __name__ == "__main__":
    harness.main()
