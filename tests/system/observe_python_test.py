"""Issue 12, beyond the server's own series: what a process sees of its calls to peers
(grpc_client_*, counted exactly per method and Go code name, every method x code at zero from
the start, promtool), the shards' busy time, and trace context followed across processes.
Usage: observe_python_test.py PATH/TO/percore-server"""

import re
import subprocess
import sys
import time
import unittest
import uuid

import grpc

from percore_py.server import Server
from percore_py.stubs import stub_module

from admin_metrics_test import CODES, get, key, parse

SERVER = None
TIMEOUT = 10
ORDER_TIMEOUT = 30


def start_with_admin(*flags):
    """percore-server with --admin on a free port; returns (server, admin port)."""
    server = Server(SERVER, "--admin", "127.0.0.1:0", *flags)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        match = re.search(r"admin listening on \S+ \(port (\d+)\)", server.stderr_text())
        if match:
            return server, int(match.group(1))
        time.sleep(0.02)
    server.stop()
    raise RuntimeError("no admin port: " + server.stderr_text())


class Cluster:
    """user, inventory and payment processes, and an order process reaching them with --peer
    (the order process with --admin and any `order_flags`). stop() stops every one started."""

    def __init__(self, order_flags=(), peer_flags=()):
        self.servers = {}
        try:
            for name in ("user", "inventory", "payment"):
                self.servers[name] = Server(SERVER, "--shards", "1", "--services", name,
                                            "--shutdown-grace", "1", *peer_flags(name)
                                            if callable(peer_flags) else peer_flags)
            self.order, self.admin = start_with_admin(
                "--shards", "2", "--services", "order", "--shutdown-grace", "1",
                "--peer", "user=" + self.servers["user"].address,
                "--peer", "inventory=" + self.servers["inventory"].address,
                "--peer", "payment=" + self.servers["payment"].address, *order_flags)
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
        return self.orders.CreateOrder(self.order_pb.CreateOrderRequest(
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


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
