"""What an operator sees of the real percore-server: --listen ports are range-checked (exit 2,
a message naming the flag), SIGHUP is ignored with a log line and the server keeps serving (then
drains on SIGTERM and exits 0), and protobuf's per-request log line for invalid UTF-8 is
rate-limited instead of one 221-byte line per request.
Usage: server_operations_test.py PATH/TO/percore-server"""

import signal
import subprocess
import sys
import time
import unittest

import grpc

from percore_py.server import Server
from percore_py.stubs import stub_modules

SERVER = None


class ServerOperations(unittest.TestCase):
    def test_listen_port_out_of_range_is_a_flag_error(self):
        for listen in ("127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:65536", "[::1]:x",
                       "127.0.0.1:"):
            with self.subTest(listen=listen):
                proc = subprocess.run([SERVER, "--listen", listen], capture_output=True,
                                      text=True, timeout=10)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn("--listen", proc.stderr)

    def test_sighup_is_ignored_and_serving_continues(self):
        server = Server(SERVER, "--shards", "1", "--services", "user", "--shutdown-grace", "1")
        try:
            health, health_grpc = stub_modules("grpc.health.v1.health")
            stub = health_grpc.HealthStub(server.channel)
            server.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while "SIGHUP ignored" not in server.stderr_text() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertIn("SIGHUP ignored", server.stderr_text())
            self.assertIsNone(server.proc.poll())
            reply = stub.Check(health.HealthCheckRequest(), timeout=10)
            self.assertEqual(reply.status, health.HealthCheckResponse.SERVING)
        finally:
            code = server.stop()
        self.assertEqual(code, 0, server.stderr_text())
        self.assertIn("SIGTERM, draining", server.stderr_text())

    def test_invalid_utf8_log_lines_are_rate_limited(self):
        server = Server(SERVER, "--shards", "1", "--services", "user")
        try:
            get_user = server.channel.unary_unary("/user.v1.UserService/GetUser",
                                                  request_serializer=lambda b: b,
                                                  response_deserializer=lambda b: b)
            invalid = b"\x0a\x02\xff\xfe"  # GetUserRequest.id = two bytes that are not UTF-8
            started = time.monotonic()
            for _ in range(300):
                with self.assertRaises(grpc.RpcError):
                    get_user(invalid, timeout=10)
            elapsed = time.monotonic() - started
            time.sleep(1.1)  # the next window's first line reports the dropped ones
            try:
                get_user(invalid, timeout=10)
            except grpc.RpcError:
                pass
        finally:
            server.stop()
        lines = [l for l in server.stderr_text().splitlines() if "invalid UTF-8" in l]
        # 10 lines a second at most (a line or two more when threads race at a window's edge).
        self.assertLessEqual(len(lines), 12 * (int(elapsed) + 3), "%d lines" % len(lines))
        self.assertLess(len(lines), 300)
        self.assertIn("log lines dropped", server.stderr_text())


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
