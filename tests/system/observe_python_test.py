"""Issue 12, beyond the server's own series: what a process sees of its calls to peers
(grpc_client_*, counted exactly per method and Go code name, every method x code at zero from
the start, promtool, a peer going down logged once), the shards' busy time, and trace context
(traceparent and tracestate) followed across processes. The logs: observe_logs_python_test.py.
Usage: observe_python_test.py PATH/TO/percore-server"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import grpc

from percore_py import admin
from percore_py.server import Server
from percore_py.stubs import stub_module

from admin_metrics_test import CODES, get, key, parse

SERVER = None
TIMEOUT = 10
ORDER_TIMEOUT = 30


def start_with_admin(*flags):
    return admin.start_with_admin(SERVER, *flags)


class Cluster:
    """user, inventory and payment processes, and an order process reaching them with --peer
    (the order process with --admin and any `order_flags`). stop() stops every one started."""

    def __init__(self, trace_dir=None):
        self.servers = {}
        self.trace_logs = {}

        def trace_flags(name):
            if trace_dir is None:
                return []
            self.trace_logs[name] = os.path.join(trace_dir, name + ".jsonl")
            return ["--trace-log", self.trace_logs[name]]

        try:
            for name in ("user", "inventory", "payment"):
                self.servers[name] = Server(SERVER, "--shards", "1", "--services", name,
                                            "--shutdown-grace", "1", *trace_flags(name))
            self.order, self.admin = start_with_admin(
                "--shards", "2", "--services", "order", "--shutdown-grace", "1",
                "--peer", "user=" + self.servers["user"].address,
                "--peer", "inventory=" + self.servers["inventory"].address,
                "--peer", "payment=" + self.servers["payment"].address, *trace_flags("order"))
            self.servers["order"] = self.order
        except BaseException:
            self.stop()
            raise
        self.user_pb = stub_module("user.v1.user_pb2")
        self.inv_pb = stub_module("inventory.v1.inventory_pb2")
        self.pay_pb = stub_module("payment.v1.payment_pb2")
        self.order_pb = stub_module("order.v1.order_pb2")
        self.money_pb = stub_module("commerce.v1.money_pb2")
        self.users = stub_module("user.v1.user_pb2_grpc").UserServiceStub(
            self.servers["user"].channel)
        self.inventory = stub_module("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
            self.servers["inventory"].channel)
        self.orders = stub_module("order.v1.order_pb2_grpc").OrderServiceStub(self.order.channel)

    def stop(self):
        for server in self.servers.values():
            server.stop()

    def new_user(self):
        tag = uuid.uuid4().hex[:12]
        return self.users.CreateUser(self.user_pb.CreateUserRequest(
            name="Buyer " + tag, email=tag + "@example.com"), timeout=TIMEOUT).id

    def new_product(self, stock):
        sku = "sku-" + uuid.uuid4().hex[:16]
        self.inventory.CreateProduct(self.inv_pb.CreateProductRequest(
            sku=sku, name="Widget", price=self.money_pb.Money(amount_minor=1250, currency="USD"),
            initial_stock=stock), timeout=TIMEOUT)
        return sku

    def create_order(self, user_id, sku, metadata=()):
        return self.create_order_with_call(user_id, sku, metadata)[0]

    def create_order_with_call(self, user_id, sku, metadata=()):
        return self.orders.CreateOrder.with_call(self.order_pb.CreateOrderRequest(
            user_id=user_id, items=[self.order_pb.LineItem(sku=sku, quantity=1)],
            payment_method=self.pay_pb.PaymentMethod(token="tok_approve")),
            timeout=ORDER_TIMEOUT, metadata=metadata)

    def status_name(self, order):
        return self.order_pb.OrderStatus.Name(order.status)


def client_key(name, service, method, **labels):
    return key(name, grpc_service=service, grpc_method=method, grpc_type="unary", **labels)


class ClientMetrics(unittest.TestCase):
    """Known calls from the order process to its peers: two orders paid, one for a user that
    does not exist (GetUser NotFound), and one after the user process was killed (GetUser
    Unavailable)."""

    USER = "user.v1.UserService"
    INVENTORY = "inventory.v1.InventoryService"
    PAYMENT = "payment.v1.PaymentService"

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster()
        cls.addClassCleanup(cls.cluster.stop)
        c = cls.cluster
        cls.zero_page = get(c.admin, "/metrics")[2]  # before any call
        user, sku = c.new_user(), c.new_product(10)
        for _ in range(2):
            assert c.status_name(c.create_order(user, sku)) == "ORDER_STATUS_CONFIRMED"
        try:
            c.create_order("01890a5d-ac96-774b-bcce-b302099a8057", sku)  # never issued
            raise AssertionError("an order for a missing user was accepted")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.NOT_FOUND, e
        c.servers["user"].kill()  # a peer failure before anything needs compensating
        try:
            c.create_order(user, sku)
            raise AssertionError("an order was accepted while the user service was down")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAVAILABLE, e

    def scrape(self):
        return parse(get(self.cluster.admin, "/metrics")[2])

    def test_every_method_and_code_exists_from_the_start(self):
        s = parse(self.zero_page)
        methods = {self.USER: ["GetUser"],
                   self.INVENTORY: ["GetProduct", "ReserveStock", "CommitReservation",
                                    "ReleaseReservation", "AdjustStock"],
                   self.PAYMENT: ["ProcessPayment", "RefundPayment", "VoidPayment"]}
        for service, names in methods.items():
            for method in names:
                for name in ("grpc_client_started_total", "grpc_client_msg_sent_total",
                             "grpc_client_msg_received_total",
                             "grpc_client_handling_seconds_count"):
                    self.assertEqual(s[client_key(name, service, method)], 0, (name, method))
                for code in CODES:
                    self.assertEqual(s[client_key("grpc_client_handled_total", service, method,
                                                  grpc_code=code)], 0, (method, code))

    def test_counts_are_exact_per_method_and_code(self):
        s = self.scrape()
        expected = {(self.USER, "GetUser"): {"OK": 2, "NotFound": 1, "Unavailable": 1},
                    (self.INVENTORY, "ReserveStock"): {"OK": 2},
                    (self.INVENTORY, "CommitReservation"): {"OK": 2},
                    (self.PAYMENT, "ProcessPayment"): {"OK": 2},
                    (self.INVENTORY, "ReleaseReservation"): {}}
        for (service, method), by_code in expected.items():
            calls = sum(by_code.values())
            with self.subTest(method=method):
                self.assertEqual(s[client_key("grpc_client_started_total", service, method)],
                                 calls)
                for code in CODES:
                    self.assertEqual(s[client_key("grpc_client_handled_total", service, method,
                                                  grpc_code=code)], by_code.get(code, 0), code)
                # One request per unary call; a response only with OK.
                self.assertEqual(s[client_key("grpc_client_msg_sent_total", service, method)],
                                 calls)
                self.assertEqual(s[client_key("grpc_client_msg_received_total", service,
                                              method)], by_code.get("OK", 0))
                self.assertEqual(s[client_key("grpc_client_handling_seconds_count", service,
                                              method)], calls)
                self.assertEqual(s[client_key("grpc_client_handling_seconds_bucket", service,
                                              method, le="+Inf")], calls)

    def test_a_peer_going_down_is_logged_once(self):
        """Structured logs: a peer's connectivity change is logged (once, from the shard whose
        call met it); the successful calls before it logged nothing."""
        lines = [x for x in self.cluster.order.stderr_text().splitlines()
                 if "percore-server: peer " in x]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("peer user.v1.UserService (", lines[0])
        self.assertIn(") unreachable: ", lines[0])

    def test_promtool_accepts_the_page(self):
        page = get(self.cluster.admin, "/metrics")[2]
        proc = subprocess.run(["promtool", "check", "metrics"], input=page,
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


class ShardBusyTime(unittest.TestCase):
    """Where each shard's loop spent its time: busy + wait covers the time the shard has run,
    busy grows with calls, the thread's CPU time is there."""

    def test_busy_and_wait_add_up_to_the_time_run(self):
        started = time.monotonic()
        server, admin = start_with_admin("--shards", "2", "--services", "user")
        self.addCleanup(server.stop)
        pb = stub_module("user.v1.user_pb2")
        stub = stub_module("user.v1.user_pb2_grpc").UserServiceStub(server.channel)
        before = parse(get(admin, "/metrics")[2])
        for i in range(200):
            stub.CreateUser(pb.CreateUserRequest(name="U", email="b%d@example.com" % i),
                            timeout=TIMEOUT)
        time.sleep(0.2)  # every shard's loop turns at least once more (its timers)
        after = parse(get(admin, "/metrics")[2])
        elapsed = time.monotonic() - started
        busy_grew = 0
        for shard in ("0", "1"):
            busy = after[key("percore_shard_busy_seconds_total", shard=shard)]
            wait = after[key("percore_shard_wait_seconds_total", shard=shard)]
            self.assertGreater(busy, 0)
            self.assertGreater(wait, 0)
            self.assertLessEqual(busy + wait, elapsed)  # both measured inside the process' life
            self.assertGreater(after[key("percore_shard_cpu_seconds_total", shard=shard)], 0)
            busy_grew += busy - before[key("percore_shard_busy_seconds_total", shard=shard)]
        self.assertGreater(busy_grew, 0)
        proc = subprocess.run(["promtool", "check", "metrics"], input=get(admin, "/metrics")[2],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


def spans(path):
    """The spans a --trace-log file holds (each line one JSON object). A last line without its
    newline is still being written by the server (seen under ASan): left for the next read."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def header(metadata, name):
    return dict(metadata).get(name)


class TracePropagation(unittest.TestCase):
    """One CreateOrder with a client's traceparent, followed by its trace id through the order,
    user, inventory and payment processes' span logs, each span's parent the span that called
    it; malformed traceparents start fresh traces."""

    TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
    CLIENT_SPAN = "00f067aa0ba902b7"
    # A tracestate with broken members (upper-case key, empty system id, a repeated key, no
    # '='), which are dropped, and valid ones (a multi-tenant key, a value with a space), kept.
    # No leading or trailing space: HTTP/2 refuses such a field value (nghttp2 resets the stream).
    STATE = "congo=t61rcWkgMzE, Bad=x,rojo=00f067aa0ba902b7,congo=dup, t@=x,,junk ,ok@vendor=a b"
    CLEAN = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,ok@vendor=a b"

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="percore-trace-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        cls.cluster = Cluster(trace_dir=cls.dir)
        cls.addClassCleanup(cls.cluster.stop)
        c = cls.cluster
        cls.user, cls.sku = c.new_user(), c.new_product(100)
        cls.order, call = c.create_order_with_call(
            cls.user, cls.sku, metadata=[("traceparent", "00-%s-%s-01" % (cls.TRACE,
                                                                           cls.CLIENT_SPAN)),
                                         ("tracestate", cls.STATE)])
        assert c.status_name(cls.order) == "ORDER_STATUS_CONFIRMED", cls.order
        cls.answered = header(call.initial_metadata(), "traceparent")
        cls.answered_state = header(call.initial_metadata(), "tracestate")

    def trace_spans(self, process, trace_id, count):
        """The spans of `trace_id` in `process`'s log, once there are `count` (the writer
        flushes every 20 ms; bounded wait)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            found = [x for x in spans(self.cluster.trace_logs[process])
                     if x["trace_id"] == trace_id]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def test_one_order_is_followed_across_every_process(self):
        order_spans = self.trace_spans("order", self.TRACE, 5)
        servers = [x for x in order_spans if x["kind"] == "server"]
        self.assertEqual([x["name"] for x in servers], ["order.v1.OrderService/CreateOrder"])
        root = servers[0]
        self.assertEqual(root["parent_span_id"], self.CLIENT_SPAN)
        self.assertEqual(root["grpc_code"], "OK")
        self.assertEqual(root["attributes"]["rpc.system"], "grpc")
        self.assertEqual(root["attributes"]["rpc.method"], "CreateOrder")
        # The response carries the server span's context back.
        self.assertEqual(self.answered, "00-%s-%s-01" % (self.TRACE, root["span_id"]))
        clients = {x["method"]: x for x in order_spans if x["kind"] == "client"}
        self.assertEqual(sorted(clients), ["CommitReservation", "GetUser", "ProcessPayment",
                                           "ReserveStock"])
        for span in clients.values():
            self.assertEqual(span["parent_span_id"], root["span_id"], span)
            self.assertEqual(span["grpc_code"], "OK")
        # Each peer's server span is the child of the order process's client span that called it.
        for process, methods in (("user", ["GetUser"]),
                                 ("inventory", ["ReserveStock", "CommitReservation"]),
                                 ("payment", ["ProcessPayment"])):
            found = self.trace_spans(process, self.TRACE, len(methods))
            self.assertEqual(sorted(x["method"] for x in found), sorted(methods), process)
            for span in found:
                self.assertEqual(span["kind"], "server")
                self.assertEqual(span["parent_span_id"], clients[span["method"]]["span_id"],
                                 span)
                self.assertEqual(span["process"], process)
        # The cleaned tracestate came back, and reached every span of every process.
        self.assertEqual(self.answered_state, self.CLEAN)
        for process in ("order", "user", "inventory", "payment"):
            for span in self.trace_spans(process, self.TRACE, 1):
                self.assertEqual(span["trace_state"], self.CLEAN, (process, span))

    def test_tracestate_reaches_the_compensation(self):
        trace = "5cf92f3577b34da6a3ce929d0e0e4737"
        c = self.cluster
        order, call = c.orders.CreateOrder.with_call(c.order_pb.CreateOrderRequest(
            user_id=self.user, items=[c.order_pb.LineItem(sku=self.sku, quantity=1)],
            payment_method=c.pay_pb.PaymentMethod(token="tok_decline")), timeout=TIMEOUT,
            metadata=[("traceparent", "00-%s-%s-01" % (trace, self.CLIENT_SPAN)),
                      ("tracestate", self.STATE)])
        self.assertEqual(c.status_name(order), "ORDER_STATUS_FAILED")
        self.assertEqual(header(call.initial_metadata(), "tracestate"), self.CLEAN)
        found = self.trace_spans("inventory", trace, 2)  # ReserveStock, ReleaseReservation
        self.assertEqual(sorted(x["method"] for x in found),
                         ["ReleaseReservation", "ReserveStock"])
        for span in found + self.trace_spans("payment", trace, 1):
            self.assertEqual(span["trace_state"], self.CLEAN, span)

    def test_malformed_tracestates_are_cleaned(self):
        many = ",".join("k%d=v%d" % (i, i) for i in range(40))
        long_values = ",".join("l%d=%s" % (i, "x" * 250) for i in range(3))
        good_parent = "00-%s-%s-01" % ("6df92f3577b34da6a3ce929d0e0e4738", self.CLIENT_SPAN)
        cases = [
            (good_parent, many, ",".join("k%d=v%d" % (i, i) for i in range(32))),  # 32 kept
            (good_parent, long_values, ",".join("l%d=%s" % (i, "x" * 250) for i in range(2))),
            (good_parent, "a=" + "y" * 257 + ",b=ok", "b=ok"),  # a value over 256 characters
            (good_parent, "=x,UP=1,a=b=c,1a=x,a@b@c=x,k=", None),  # nothing valid
            ("garbage", "congo=t61rcWkgMzE", None),  # no valid traceparent: state dropped
        ]
        for parent, state, expected in cases:
            with self.subTest(tracestate=state[:40]):
                order, call = self.cluster.create_order_with_call(
                    self.user, self.sku, metadata=[("traceparent", parent),
                                                   ("tracestate", state)])
                self.assertEqual(self.cluster.status_name(order), "ORDER_STATUS_CONFIRMED")
                self.assertEqual(header(call.initial_metadata(), "tracestate"), expected)

    def test_malformed_traceparents_start_fresh_traces(self):
        bad_values = [
            "00-%s-%s-01" % (self.TRACE[:-1], self.CLIENT_SPAN),   # trace id one digit short
            "00-%s-%s-01" % ("0" * 32, self.CLIENT_SPAN),          # all-zero trace id
            "00-%s-%s-01" % (self.TRACE, "0" * 16),                # all-zero parent id
            "00-%s-%s-01" % (self.TRACE.upper(), self.CLIENT_SPAN),  # upper-case hex
            "00-%sxyz-%s-01" % (self.TRACE[:-3], self.CLIENT_SPAN),  # not hex
            "ff-%s-%s-01" % (self.TRACE, self.CLIENT_SPAN),        # version ff
            "00-%s-%s-01-extra" % (self.TRACE, self.CLIENT_SPAN),  # version 00 with more
            "", "garbage", "-" * 55,
        ]
        for bad in bad_values:
            with self.subTest(traceparent=bad):
                order, call = self.cluster.create_order_with_call(
                    self.user, self.sku, metadata=[("traceparent", bad)])
                self.assertEqual(self.cluster.status_name(order), "ORDER_STATUS_CONFIRMED")
                answered = header(call.initial_metadata(), "traceparent")
                self.assertRegex(answered, r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")
                trace_id = answered.split("-")[1]
                self.assertNotEqual(trace_id, self.TRACE)
                self.assertNotEqual(trace_id, "0" * 32)
                found = self.trace_spans("order", trace_id, 5)
                root = [x for x in found if x["kind"] == "server"]
                self.assertEqual(len(root), 1, found)
                self.assertEqual(root[0]["parent_span_id"], "")  # a new root, nothing echoed
        # The order process counts what it wrote (every span of these orders) and dropped none.
        expected, deadline = 5 * (len(bad_values) + 1), time.monotonic() + TIMEOUT
        while True:  # counted just after the writer's flush, which the loop above saw
            page = parse(get(self.cluster.admin, "/metrics")[2])
            if page[key("percore_trace_spans_written_total")] >= expected or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertGreaterEqual(page[key("percore_trace_spans_written_total")], expected)
        self.assertEqual(page[key("percore_trace_spans_dropped_total")], 0)
        # The server survived every value and still follows a good one.
        self.assertEqual(len(self.trace_spans("order", self.TRACE, 5)), 5)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
