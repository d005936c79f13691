"""The client subcommands of `egmla` against a running server (DESIGN §5.1): generate, info,
load, health."""
import json
import os

import harness
from harness import Server, cli, generate, greedy


def cli_has(subcommand):
    proc = cli(subcommand, "--server", "127.0.0.1:1", "--timeout", 1, check=False, timeout=30)
    return "unknown subcommand" not in proc.stderr


class CliClientTest(harness.ModelTestCase):
    SERVER_FLAGS = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server_flag = ("--server", cls.server.address)

    def setUp(self):
        name = self._testMethodName.split("_")[1]
        if not cli_has(name):
            self.skipTest("`egmla %s` is not in this CLI yet" % name)

    def test_generate_prints_the_greedy_ids(self):
        out = cli("generate", *self.server_flag, "--token-ids", "1,2,3", "--max-tokens", 5).stdout
        ids = [int(t) for t in out.split()]
        self.assertEqual(len(ids), 5)
        self.assertEqual(ids, generate(self.server.stub(), greedy([1, 2, 3], 5)).tokens)
        self.assertEqual(ids, harness.cli_greedy(self.model, [1, 2, 3], 5))

    def test_generate_json_prints_one_object_per_message(self):
        out = cli("generate", *self.server_flag, "--token-ids", "4,5", "--max-tokens", 3,
                  "--json", "--request-id", "cli-json").stdout
        messages = [json.loads(line) for line in out.splitlines() if line.strip()]
        self.assertEqual(len(messages), 4, out)
        self.assertTrue(all(m["request_id"] == "cli-json" for m in messages))
        self.assertTrue(all("chunk" in m for m in messages[:3]))
        self.assertEqual(messages[3]["complete"]["finish_reason"], "FINISH_REASON_LENGTH")

    def test_generate_error_exits_non_zero_with_the_status(self):
        proc = cli("generate", *self.server_flag, "--token-ids", "1,512", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("INVALID_ARGUMENT", proc.stderr.upper().replace(" ", "_"))

    def test_health_exits_zero_when_ready_and_non_zero_when_nothing_listens(self):
        self.assertEqual(cli("health", *self.server_flag, check=False).returncode, 0)
        nobody = cli("health", "--server", "127.0.0.1:%d" % harness.free_port(), "--timeout", 2,
                     check=False)
        self.assertNotEqual(nobody.returncode, 0)

    def test_info_prints_model_info_as_json(self):
        info = json.loads(cli("info", *self.server_flag).stdout)
        self.assertEqual(info["attention_type"], "eg_mla")
        self.assertEqual(info["vocab_size"], 512)

    def test_load_prints_load_as_json(self):
        load = json.loads(cli("load", *self.server_flag).stdout)
        self.assertIn("total_blocks", load)
        self.assertEqual(int(load["total_blocks"]), int(json.loads(
            cli("info", *self.server_flag).stdout)["num_blocks"]))

    def test_generate_with_an_api_key_file(self):
        key_file = os.path.join(self.tmp.name, "cli.key")
        with open(key_file, "w") as f:
            f.write("cli-key\n")
        with Server(self.model, "--api-key-file", key_file) as server:
            flag = ("--server", server.address)
            self.assertNotEqual(cli("generate", *flag, "--token-ids", "1", "--max-tokens", 1,
                                    check=False).returncode, 0)
            out = cli("generate", *flag, "--api-key-file", key_file, "--token-ids", "1,2,3",
                      "--max-tokens", 2).stdout
            self.assertEqual(len(out.split()), 2)


if __name__ == "__main__":
    harness.main()
