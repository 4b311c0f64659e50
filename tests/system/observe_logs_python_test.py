"""Issue 12's structured logs (--log-format json, --log-level): every stderr line a JSON object,
the levels filtered, and refused calls logged at most once a second per shard.
Usage: observe_logs_python_test.py PATH/TO/percore-server"""

import json
import re
import signal
import subprocess
import sys
import time
import unittest

import grpc

from percore_py.admin import get, start_with_admin
from percore_py.server import Server
from percore_py.stubs import stub_module

SERVER = None
TIMEOUT = 10


class JsonLogs(unittest.TestCase):
    """--log-format json: every line the server writes to stderr is one JSON object with ts
    (RFC 3339, µs), level, shard (null for the main thread) and msg; --log-level leaves out the
    lines below it. (The trace ids of a line logged under a call: observe's LogLineTest.)"""

    TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

    def records(self, server):
        records = []
        for line in server.stderr_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                self.fail("not a JSON line: %r" % line)
            self.assertTrue(self.TS.match(record["ts"]), record)
            self.assertIn(record["level"], ("debug", "info", "warn", "error"), record)
            self.assertIn("shard", record)
            self.assertIsInstance(record["msg"], str)
            records.append(record)
        return records

    def wait_for_line(self, server, text):
        deadline = time.monotonic() + TIMEOUT
        while text not in server.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertIn(text, server.stderr_text())

    def test_every_stderr_line_is_a_json_object(self):
        server, admin_port = start_with_admin(SERVER, "--shards", "2", "--services", "user",
                                              "--log-format", "json")
        try:
            self.assertEqual(get(admin_port, "/readyz")[0], 200)
            server.proc.send_signal(signal.SIGHUP)  # logged: nothing to reload
            self.wait_for_line(server, "SIGHUP ignored")
        finally:
            self.assertEqual(server.stop(), 0)
        records = self.records(server)
        messages = [r["msg"] for r in records]
        for expected in ("admin listening on", "SIGHUP ignored", "draining",
                         "percore-server: stopped"):
            found = [r for r in records if r["msg"].startswith(expected) or expected in r["msg"]
                     and expected != "percore-server: stopped"]
            self.assertEqual(len(found), 1, (expected, messages))
            self.assertEqual(found[0]["level"], "info")
            self.assertIsNone(found[0]["shard"])  # the main thread's lines
        self.assertNotIn("trace_id", records[0])

    def test_log_level_leaves_out_the_lines_below_it(self):
        server = Server(SERVER, "--services", "user", "--log-format", "json",
                        "--log-level", "warn")
        try:
            server.proc.send_signal(signal.SIGHUP)
            time.sleep(0.2)
        finally:
            self.assertEqual(server.stop(), 0)
        levels = [r["level"] for r in self.records(server)]
        self.assertNotIn("info", levels)  # start-up, SIGHUP, draining and stopped are info
        self.assertNotIn("debug", levels)

    def test_refused_calls_are_logged_at_most_once_a_second(self):
        """A watch holds the one call --max-calls-per-shard 1 allows; the GetUsers after it are
        refused RESOURCE_EXHAUSTED and logged as a warning from shard 0, with their count, not
        one line each."""
        server = Server(SERVER, "--shards", "1", "--services", "user", "--log-format", "json",
                        "--max-calls-per-shard", "1")
        pb = stub_module("user.v1.user_pb2")
        stub = stub_module("user.v1.user_pb2_grpc").UserServiceStub(server.channel)
        try:
            user = stub.CreateUser(pb.CreateUserRequest(name="Held", email="held@example.com"),
                                   timeout=TIMEOUT)
            watch = stub.WatchUserUpdates(pb.WatchUserRequest(user_id=user.id), timeout=60)
            refused, deadline = 0, time.monotonic() + TIMEOUT
            while refused < 20 and time.monotonic() < deadline:
                try:
                    stub.GetUser(pb.GetUserRequest(id=user.id), timeout=TIMEOUT)
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
                    refused += 1
            watch.cancel()
        finally:
            self.assertEqual(server.stop(), 0)
        self.assertEqual(refused, 20)
        lines = [r for r in self.records(server) if "refused" in r["msg"]]
        self.assertGreaterEqual(len(lines), 1)
        self.assertLess(len(lines), refused)  # at most one a second
        self.assertEqual(lines[0]["level"], "warn")
        self.assertEqual(lines[0]["shard"], 0)
        self.assertIn("shard 0 refused 1 call(s) (last: ResourceExhausted: ", lines[0]["msg"])

    def test_unknown_log_format_is_refused_naming_the_flag(self):
        proc = subprocess.run([SERVER, "--log-format", "xml"], capture_output=True, text=True,
                              timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--log-format wants text or json", proc.stderr)



if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
