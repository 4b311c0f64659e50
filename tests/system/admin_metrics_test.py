"""The admin listener of the real percore-server (--admin, issue 12): /metrics counts calls of
known outcome exactly (go-grpc-prometheus names: started, handled by Go code name, messages,
the handling-time histogram), every hosted method x code exists at zero from the start, the
shard and process series, `promtool check metrics` accepts the page, a real Prometheus server
scrapes it and answers queries on it; /healthz, /readyz, 404, 405, 413, keep-alive. The state
series and /readyz while draining: admin_state_series_test.py.
Usage: admin_metrics_test.py PATH/TO/percore-server"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import grpc

from percore_py import admin
from percore_py.admin import get, key, parse
from percore_py.cluster import free_ports
from percore_py.stubs import stub_modules

SERVER = None
TIMEOUT = 10
DEPLOY_PROMETHEUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                                 "prometheus")
CODES = ["OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
         "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
         "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"]
def start_server(*flags):
    """percore-server with --admin on a free port; returns (server, admin port)."""
    return admin.start_with_admin(SERVER, *flags)


def free_port():
    return free_ports(1)[0]


class AdminMetrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pb, cls.pb_grpc = stub_modules("user.v1.user")
        cls.server, cls.admin = start_server("--shards", "2", "--services", "user")
        cls.stub = cls.pb_grpc.UserServiceStub(cls.server.channel)
        cls.make_known_calls()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    @classmethod
    def make_known_calls(cls):
        """3 CreateUser OK and 1 AlreadyExists, 1 DeleteUser OK, 5 GetUser (2 OK, 1 NotFound,
        2 InvalidArgument), 1 ListUsers stream of the 2 users left."""
        pb, stub = cls.pb, cls.stub
        users = [stub.CreateUser(pb.CreateUserRequest(name="U%d" % i, email="m%d@example.com" % i),
                                 timeout=TIMEOUT) for i in range(3)]
        cls.expect_code(grpc.StatusCode.ALREADY_EXISTS, stub.CreateUser,
                        pb.CreateUserRequest(name="Dup", email="m0@example.com"))
        stub.DeleteUser(pb.DeleteUserRequest(id=users[2].id), timeout=TIMEOUT)
        for user in users[:2]:
            stub.GetUser(pb.GetUserRequest(id=user.id), timeout=TIMEOUT)
        cls.expect_code(grpc.StatusCode.NOT_FOUND, stub.GetUser, pb.GetUserRequest(id=users[2].id))
        for bad in ("not-an-id", ""):
            cls.expect_code(grpc.StatusCode.INVALID_ARGUMENT, stub.GetUser,
                            pb.GetUserRequest(id=bad))
        cls.listed = len(list(stub.ListUsers(pb.ListUsersRequest(page_size=100), timeout=TIMEOUT)))
        assert cls.listed == 2, cls.listed

    @staticmethod
    def expect_code(code, fn, request):
        try:
            fn(request, timeout=TIMEOUT)
        except grpc.RpcError as e:
            assert e.code() == code, (e.code(), e.details())
            return
        raise AssertionError("expected %s" % code)

    def scrape(self):
        status, headers, body = get(self.admin, "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers)
        return body

    def settled_scrape(self):
        """A call is counted handled when the transport is done with it, a moment after the
        client has its answer: scrape until the 11 known calls are all handled (bounded)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            samples = parse(self.scrape())
            handled = sum(v for (name, labels), v in samples.items()
                          if name == "grpc_server_handled_total"
                          and ("grpc_service", "user.v1.UserService") in labels)
            if handled >= 11 or time.monotonic() > deadline:
                return samples
            time.sleep(0.05)

    def method(self, name, method, **labels):
        return key(name, grpc_service="user.v1.UserService", grpc_method=method, **labels)

    def test_counts_are_exact_per_method_and_code(self):
        s = self.settled_scrape()
        unary = {"grpc_type": "unary"}
        expected = {"CreateUser": {"OK": 3, "AlreadyExists": 1}, "DeleteUser": {"OK": 1},
                    "GetUser": {"OK": 2, "NotFound": 1, "InvalidArgument": 2}}
        for method, by_code in expected.items():
            self.assertEqual(s[self.method("grpc_server_started_total", method, **unary)],
                             sum(by_code.values()), method)
            for code in CODES:
                with self.subTest(method=method, code=code):
                    self.assertEqual(s[self.method("grpc_server_handled_total", method,
                                                   grpc_code=code, **unary)],
                                     by_code.get(code, 0))
        # One request message per unary call; a response only with OK.
        self.assertEqual(s[self.method("grpc_server_msg_received_total", "GetUser", **unary)], 5)
        self.assertEqual(s[self.method("grpc_server_msg_sent_total", "GetUser", **unary)], 2)
        # The server stream: one request, one message per user listed, OK.
        stream = {"grpc_type": "server_stream"}
        self.assertEqual(s[self.method("grpc_server_started_total", "ListUsers", **stream)], 1)
        self.assertEqual(s[self.method("grpc_server_handled_total", "ListUsers", grpc_code="OK",
                                       **stream)], 1)
        self.assertEqual(s[self.method("grpc_server_msg_received_total", "ListUsers", **stream)], 1)
        self.assertEqual(s[self.method("grpc_server_msg_sent_total", "ListUsers", **stream)],
                         self.listed)

    def test_histogram_counts_every_handled_call(self):
        s = self.settled_scrape()
        for method, calls in (("GetUser", 5), ("CreateUser", 4), ("DeleteUser", 1)):
            with self.subTest(method=method):
                labels = {"grpc_type": "unary"}
                self.assertEqual(s[self.method("grpc_server_handling_seconds_count", method,
                                               **labels)], calls)
                self.assertEqual(s[self.method("grpc_server_handling_seconds_bucket", method,
                                               le="+Inf", **labels)], calls)
                self.assertGreater(s[self.method("grpc_server_handling_seconds_sum", method,
                                                 **labels)], 0)
                buckets = sorted((float(dict(l)["le"]), v) for (n, l), v in s.items()
                                 if n == "grpc_server_handling_seconds_bucket"
                                 and ("grpc_method", method) in l)
                self.assertEqual(buckets[0][0], 1e-05)  # from 10 us
                self.assertEqual(buckets[-2][0], 10)  # to 10 s, then +Inf
                counts = [v for _, v in buckets]
                self.assertEqual(counts, sorted(counts))  # cumulative

    def test_every_method_and_code_exists_from_the_start(self):
        s = self.settled_scrape()
        for method, grpc_type in (("UpdateUser", "unary"), ("WatchUserUpdates", "server_stream")):
            self.assertEqual(s[self.method("grpc_server_started_total", method,
                                           grpc_type=grpc_type)], 0)
            for code in CODES:
                self.assertEqual(s[self.method("grpc_server_handled_total", method,
                                               grpc_type=grpc_type, grpc_code=code)], 0)
        self.assertIn(key("grpc_server_started_total", grpc_service="grpc.health.v1.Health",
                          grpc_method="Check", grpc_type="unary"), s)

    def test_shard_and_process_series(self):
        s = self.settled_scrape()
        for shard in ("0", "1"):
            for name in ("percore_shard_tasks_run_total", "percore_shard_mailbox_depth",
                         "percore_shard_events_total", "percore_shard_calls_in_flight",
                         "percore_shard_calls_refused_total"):
                self.assertIn(key(name, shard=shard), s)
            self.assertEqual(s[key("percore_shard_calls_refused_total", shard=shard)], 0)
        # 10 unary calls and a stream went through: the shards handled events.
        self.assertGreater(sum(s[key("percore_shard_events_total", shard=x)] for x in "01"), 12)
        self.assertGreater(s[key("process_resident_memory_bytes")], 1 << 20)
        self.assertGreater(s[key("process_open_fds")], 3)
        self.assertGreater(s[key("process_cpu_seconds_total")], 0)
        now = time.time()
        self.assertLess(abs(s[key("process_start_time_seconds")] - now), 600)

    def test_promtool_accepts_the_page(self):
        proc = subprocess.run(["promtool", "check", "metrics"], input=self.scrape(),
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_prometheus_scrapes_and_queries(self):
        """A real Prometheus with deploy/prometheus's configuration and rules (its target and
        intervals made fit for a test) scrapes the server: the exact counts, by code, and a
        recording rule evaluated on percore's series."""
        work = tempfile.mkdtemp(prefix="percore-prometheus-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        for name in os.listdir(DEPLOY_PROMETHEUS):
            shutil.copy(os.path.join(DEPLOY_PROMETHEUS, name), work)
        with open(os.path.join(work, "prometheus.yml")) as f:
            config = f.read()
        for old, new in (("127.0.0.1:9464", "127.0.0.1:%d" % self.admin),
                         ("scrape_interval: 15s", "scrape_interval: 1s\n  scrape_timeout: 1s"),
                         ("evaluation_interval: 15s", "evaluation_interval: 1s")):
            self.assertIn(old, config)
            config = config.replace(old, new)
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write(config)
        port = free_port()
        log = open(os.path.join(work, "log"), "w")
        self.addCleanup(log.close)
        prometheus = subprocess.Popen(
            ["prometheus", "--config.file=" + os.path.join(work, "prometheus.yml"),
             "--web.listen-address=127.0.0.1:%d" % port,
             "--storage.tsdb.path=" + os.path.join(work, "data")],
            stdout=subprocess.DEVNULL, stderr=log)
        try:
            query = ('sum by (grpc_code) (grpc_server_handled_total'
                     '{grpc_service="user.v1.UserService",grpc_method="GetUser"})')
            url = "http://127.0.0.1:%d/api/v1/query?%s" % (
                port, urllib.parse.urlencode({"query": query}))
            by_code, deadline = {}, time.monotonic() + 40
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        result = json.load(r)["data"]["result"]
                    by_code = {x["metric"]["grpc_code"]: float(x["value"][1]) for x in result}
                    if by_code.get("OK") == 2:
                        break
                except (urllib.error.URLError, ConnectionError, KeyError):
                    pass
                time.sleep(0.5)
            with open(os.path.join(work, "log")) as log:
                log_text = log.read()[-2000:]
            self.assertEqual(by_code.get("OK"), 2, log_text)
            self.assertEqual(by_code.get("NotFound"), 1)
            self.assertEqual(by_code.get("InvalidArgument"), 2)
            self.assertEqual(by_code.get("Unauthenticated"), 0)  # pre-initialized series
            self.assertEqual(len(by_code), len(CODES))
            # The deploy rules loaded and evaluate on percore's series.
            for rule, labels in (("job_method_code:grpc_server_handled:rate1m",
                                  '{grpc_method="GetUser",grpc_code="OK"}'),
                                 ("instance_shard:percore_shard_cpu:rate1m", '{shard="1"}')):
                url = "http://127.0.0.1:%d/api/v1/query?%s" % (
                    port, urllib.parse.urlencode({"query": rule + labels}))
                result, deadline = [], time.monotonic() + 20
                while not result and time.monotonic() < deadline:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        result = json.load(r)["data"]["result"]
                    time.sleep(0.5)
                self.assertEqual(len(result), 1, (rule, result))
        finally:
            prometheus.terminate()
            try:
                prometheus.wait(timeout=15)
            except subprocess.TimeoutExpired:
                prometheus.kill()
                prometheus.wait()

    def test_health_ready_not_found_method_not_allowed(self):
        self.assertEqual(get(self.admin, "/healthz")[0], 200)
        self.assertEqual(get(self.admin, "/readyz")[0], 200)
        self.assertEqual(get(self.admin, "/nowhere")[0], 404)
        self.assertEqual(get(self.admin, "/metrics?x=1")[0], 200)  # the query is not the path
        for method in ("POST", "PUT", "DELETE"):
            status, headers, _ = get(self.admin, "/metrics", method)
            self.assertEqual(status, 405, method)
            self.assertEqual(headers.get("Allow"), "GET")

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=TIMEOUT)
        try:
            for path in ("/healthz", "/metrics", "/readyz", "/nowhere", "/healthz"):
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                self.assertIn(response.status, (200, 404))
            self.assertIsNotNone(conn.sock)  # never reconnected
        finally:
            conn.close()

    def test_oversized_request_is_refused(self):
        with socket.create_connection(("127.0.0.1", self.admin), timeout=TIMEOUT) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            reply = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:100])


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
