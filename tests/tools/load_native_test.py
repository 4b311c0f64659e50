"""percore-load --client-transport native (nghttp2 on epoll) against the libgrpc client, on real
percore-servers of both transports (--transport grpc and native): for the same run shape, the two
reports agree on every count (calls, status codes, error texts, messages and bytes received),
with errors from the server (NotFound, a chosen status with a percent-encoded message,
UNIMPLEMENTED as Trailers-Only), DEADLINE_EXCEEDED from --timeout, CANCELLED at the end of -z, -m metadata reaching the
server (a JWT the server checks), server streams (whole and cut by --stream-call-count), several
connections and threads, GOAWAY from --max-connection-age-seconds, and a server killed mid-run
(the calls after it counted Unavailable, no hang).
Usage: load_native_test.py PATH/TO/percore-server PATH/TO/percore-load"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import jwt

from percore_py.server import Server
from tools_support import connections_to
from percore_py.stubs import stub_modules

SERVER_BIN = None
LOAD_BIN = None
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
USER_PROTO = ["--proto", os.path.join(REPO, "proto", "user", "v1", "user.proto"),
              "-i", os.path.join(REPO, "proto")]
TEST_PROTO = ["--proto", "/usr/share/grpc-proto/grpc/testing/test.proto",
              "-i", "/usr/share/grpc-proto"]
UNKNOWN_ID = "00000000-0000-7000-8000-000000000000"
SECRET = "percore-load-native-secret-0123456789"
ISSUER = "https://issuer.percore.test"
AUDIENCE = "percore"
# Report keys whose values are counts, equal between the clients for the same run.
COUNT_KEYS = ("count", "statusCodeDistribution", "errorDistribution", "messagesReceived",
              "bytesReceived")


def run_load(client, address, *args, timeout=60):
    result = subprocess.run([LOAD_BIN, "--client-transport", client, "-O", "json", *args,
                             address], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError("percore-load (%s) exited %d: %s" % (client, result.returncode,
                                                                result.stderr))
    return json.loads(result.stdout)


def counts(report, keys=COUNT_KEYS):
    return {k: report[k] for k in keys if k in report}


class BothClients:
    """Runs each shape with both clients against self.server; asserts equal counts and returns
    the native report."""

    def same(self, *args, keys=COUNT_KEYS):
        grpc_report = run_load("grpc", self.server.address, *args)
        native_report = run_load("native", self.server.address, *args)
        self.assertEqual(counts(native_report, keys), counts(grpc_report, keys), args)
        return native_report


class Shapes(BothClients):
    transport = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(SERVER_BIN, "--transport", cls.transport, "--shards", "2",
                            "--shutdown-grace", "2")
        user_pb, user_grpc = stub_modules("user.v1.user")
        stub = user_grpc.UserServiceStub(cls.server.channel)
        cls.user_id = stub.CreateUser(user_pb.CreateUserRequest(
            name="Native Load", email="native.load@example.com"), timeout=10).id

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_unary_ok_and_not_found_round_robin(self):
        data = json.dumps([{"id": self.user_id}, {"id": UNKNOWN_ID}])
        report = self.same(*USER_PROTO, "--call", "user.v1.UserService.GetUser", "-n", "200",
                           "-c", "8", "-d", data)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 100, "NotFound": 100})

    def test_chosen_status_and_percent_encoded_message(self):
        data = json.dumps({"response_status": {"code": 9, "message": "50% done: \u00fcber\ttab"}})
        report = self.same(*TEST_PROTO, "--call", "grpc.testing.TestService.UnaryCall",
                           "-n", "20", "-c", "4", "-d", data)
        self.assertEqual(report["errorDistribution"], {
            "rpc error: code = FailedPrecondition desc = 50% done: \u00fcber\ttab": 20})

    def test_unimplemented_is_trailers_only(self):
        report = self.same(*TEST_PROTO, "--call", "grpc.testing.TestService.UnimplementedCall",
                           "-n", "10", "-c", "2")
        self.assertEqual(report["statusCodeDistribution"], {"Unimplemented": 10})

    def test_server_stream_counts_every_message(self):
        data = json.dumps({"response_parameters": [{"size": 10}, {"size": 2000}, {"size": 70000}]})
        report = self.same(*TEST_PROTO, "--call", "grpc.testing.TestService.StreamingOutputCall",
                           "-n", "20", "-c", "4", "-d", data)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 20})
        self.assertEqual(report["messagesReceived"], 60)

    def test_stream_call_count_cuts_the_stream_ok(self):
        data = json.dumps({"response_parameters": [{"size": 5, "interval_us": 20000}] * 6})
        report = self.same(*TEST_PROTO, "--call", "grpc.testing.TestService.StreamingOutputCall",
                           "-n", "8", "-c", "4", "--stream-call-count", "2", "-d", data)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 8})
        self.assertEqual(report["messagesReceived"], 16)

    def test_timeout_is_deadline_exceeded(self):
        data = json.dumps({"response_parameters": [{"size": 1, "interval_us": 300000}]})
        report = self.same(*TEST_PROTO, "--call", "grpc.testing.TestService.StreamingOutputCall",
                           "-n", "6", "-c", "3", "-t", "50ms", "-d", data)
        self.assertEqual(report["statusCodeDistribution"], {"DeadlineExceeded": 6})
        self.assertLess(report["slowest"], 250e6)  # the client's own deadline, not the server's

    def test_tiny_timeout_is_deadline_exceeded(self):
        data = json.dumps({"response_parameters": [{"size": 1, "interval_us": 20000}]})
        args = [*TEST_PROTO, "--call", "grpc.testing.TestService.StreamingOutputCall",
                "-n", "30", "-c", "5", "-t", "1us", "-d", data]
        native_report = run_load("native", self.server.address, *args)
        self.assertEqual(native_report["statusCodeDistribution"], {"DeadlineExceeded": 30})
        # libgrpc's client resets each stream at once; the native server's rapid-reset guard
        # may answer a burst of those with GOAWAY, which libgrpc counts as Unavailable.
        grpc_report = run_load("grpc", self.server.address, *args)
        self.assertEqual(grpc_report["count"], 30)
        self.assertLessEqual(set(grpc_report["statusCodeDistribution"]),
                             {"DeadlineExceeded", "Unavailable"})

    def test_duration_stop_close_cancels_and_counts(self):
        # Each slot: calls of 400 ms at 0, 0.4 and 0.8 s; the third is cut at 1 s.
        data = json.dumps({"response_parameters": [{"size": 1, "interval_us": 400000}]})
        report = self.same(*TEST_PROTO, "--call", "grpc.testing.TestService.StreamingOutputCall",
                           "-z", "1s", "-c", "3", "-d", data)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 6, "Canceled": 3})

    def test_connections_and_threads(self):
        report = self.same(*USER_PROTO, "--call", "user.v1.UserService.GetUser", "-n", "300",
                           "-c", "12", "--connections", "3", "--cpus", "2",
                           "-d", json.dumps({"id": self.user_id}))
        self.assertEqual(report["statusCodeDistribution"], {"OK": 300})


class ShapesGrpcServer(Shapes, unittest.TestCase):
    transport = "grpc"


class ShapesNativeServer(Shapes, unittest.TestCase):
    transport = "native"


class Metadata(BothClients):
    """-m reaches the server: with the bearer token GetUser of an unknown id is NotFound, without
    it Unauthenticated."""
    transport = None

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="percore-load-native-")
        secret = os.path.join(cls.dir.name, "secret")
        with open(secret, "w") as f:
            f.write(SECRET + "\n")
        cls.server = Server(SERVER_BIN, "--transport", cls.transport, "--shards", "1",
                            "--shutdown-grace", "2", "--jwt-secret-file", secret,
                            "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dir.cleanup()

    def test_authorization_metadata_reaches_the_server(self):
        now = int(time.time())
        token = jwt.encode({"sub": "loader", "roles": ["admin"], "iss": ISSUER, "aud": AUDIENCE,
                            "iat": now, "exp": now + 300}, SECRET, algorithm="HS256")
        base = [*USER_PROTO, "--call", "user.v1.UserService.GetUser", "-n", "20", "-c", "4",
                "-d", json.dumps({"id": UNKNOWN_ID})]
        report = self.same(*base, "-m", json.dumps({"authorization": "Bearer " + token,
                                                    "x-trace-bin": "\u0001\u0002"}))
        self.assertEqual(report["statusCodeDistribution"], {"NotFound": 20})
        report = self.same(*base)
        self.assertEqual(report["statusCodeDistribution"], {"Unauthenticated": 20})


class MetadataGrpcServer(Metadata, unittest.TestCase):
    transport = "grpc"


class MetadataNativeServer(Metadata, unittest.TestCase):
    transport = "native"


class ConnectionLoss(unittest.TestCase):
    """A server that says GOAWAY is left for a new connection without failing calls; a server
    that dies fails the calls in flight and refuses the reconnects: Unavailable, counted, and
    the run still ends on time."""

    def test_goaway_reconnects_without_errors(self):
        for transport in ("grpc", "native"):
            server = Server(SERVER_BIN, "--transport", transport, "--shards", "1",
                            "--shutdown-grace", "2", "--max-connection-age-seconds", "1",
                            "--max-connection-age-grace-seconds", "5")
            try:
                for client in ("grpc", "native"):
                    report = run_load(client, server.address, *TEST_PROTO,
                                      "--call", "grpc.testing.TestService.EmptyCall",
                                      "-n", "500", "--rps", "200", "-c", "4")
                    self.assertEqual(report["statusCodeDistribution"], {"OK": 500},
                                     (transport, client))
            finally:
                server.stop()

    def test_killed_server_counts_unavailable_and_the_run_ends(self):
        for transport in ("grpc", "native"):
            for client in ("grpc", "native"):
                server = Server(SERVER_BIN, "--transport", transport, "--shards", "1")
                started = time.monotonic()
                load = subprocess.Popen([LOAD_BIN, "--client-transport", client, "-O", "json",
                                         *TEST_PROTO, "--call",
                                         "grpc.testing.TestService.EmptyCall", "-n", "800",
                                         "--rps", "400", "-c", "4", server.address],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
                try:
                    # Killed 1 s into the 2 s run, counted from its connection (a sanitizer
                    # build takes a while to start): about 400 calls before, 400 after.
                    deadline = time.monotonic() + 30
                    while (connections_to(load.pid, server.port) == 0 and load.poll() is None
                           and time.monotonic() < deadline):
                        time.sleep(0.02)
                    time.sleep(1.0)
                    server.kill()
                    out, err = load.communicate(timeout=30)
                finally:
                    server.kill()
                    if load.poll() is None:
                        load.kill()
                        load.wait()
                self.assertEqual(load.returncode, 0, err)
                report = json.loads(out)
                where = (transport, client)
                self.assertLess(time.monotonic() - started, 15, where)
                self.assertEqual(report["count"], 800, where)
                codes = report["statusCodeDistribution"]
                self.assertEqual(set(codes), {"OK", "Unavailable"}, (where, codes))
                self.assertGreater(codes["OK"], 200, where)
                self.assertGreater(codes["Unavailable"], 100, where)


def main():
    global SERVER_BIN, LOAD_BIN
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    SERVER_BIN, LOAD_BIN = sys.argv[1:]
    unittest.main(argv=[sys.argv[0], "-v"])


if __name__ == "__main__":
    main()
