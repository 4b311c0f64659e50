"""The admin listener's state series on the real percore-server (--admin, issue 12): rows and
bytes per table, orders by final status and failure code, reservations held while an order waits
for its payment, open watchers and streams, all after a known sequence of calls; /readyz is 503
while the server drains (and /healthz still 200). The call counters, promtool and a real
Prometheus are admin_metrics_test.py's.
Usage: admin_state_series_test.py PATH/TO/percore-server"""

import queue
import signal
import sys
import threading
import time
import unittest

from percore_py.admin import get, key, parse, start_with_admin
from percore_py.stubs import stub_modules

SERVER = None
TIMEOUT = 10


class AdminStateSeries(unittest.TestCase):
    """percore's state series (core/observe/state_metrics.h) after a known sequence of calls on
    one server hosting every service: rows and bytes per table, orders by final status and
    failure code, reservations held while an order waits for its payment, open watchers."""

    @classmethod
    def setUpClass(cls):
        cls.user_pb, cls.user_grpc = stub_modules("user.v1.user")
        cls.inv_pb, inv_grpc = stub_modules("inventory.v1.inventory")
        cls.order_pb, order_grpc = stub_modules("order.v1.order")
        cls.pay_pb, _ = stub_modules("payment.v1.payment")
        cls.money_pb, _ = stub_modules("commerce.v1.money")
        cls.server, cls.admin = start_with_admin(SERVER, "--shards", "2")
        cls.users = cls.user_grpc.UserServiceStub(cls.server.channel)
        cls.inventory = inv_grpc.InventoryServiceStub(cls.server.channel)
        cls.orders = order_grpc.OrderServiceStub(cls.server.channel)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def totals(self, name, **labels):
        """The sum over the shards of `name`'s series with `labels` (None: none exists)."""
        values = [v for (n, l), v in parse(get(self.admin, "/metrics")[2]).items()
                  if n == name and set(labels.items()) <= l]
        return sum(values) if values else None

    def wait_for(self, name, value, **labels):
        deadline = time.monotonic() + TIMEOUT
        while self.totals(name, **labels) != value and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.totals(name, **labels), value, (name, labels))

    def product(self, sku, stock):
        self.inventory.CreateProduct(self.inv_pb.CreateProductRequest(
            sku=sku, name="Widget " + sku,
            price=self.money_pb.Money(amount_minor=1250, currency="USD"), initial_stock=stock),
            timeout=TIMEOUT)

    def order(self, user_id, sku, quantity, token):
        return self.orders.CreateOrder(self.order_pb.CreateOrderRequest(
            user_id=user_id, items=[self.order_pb.LineItem(sku=sku, quantity=quantity)],
            payment_method=self.pay_pb.PaymentMethod(token=token)), timeout=60)

    def test_state_series_after_a_known_sequence(self):
        # Users: 4 created, 1 deleted. Bytes: the stored rows, serialized without their id.
        made = [self.users.CreateUser(self.user_pb.CreateUserRequest(
            name="State %d" % i, email="state%d@example.com" % i), timeout=TIMEOUT)
            for i in range(4)]
        self.users.DeleteUser(self.user_pb.DeleteUserRequest(id=made[3].id), timeout=TIMEOUT)
        stored = 0
        for user in made[:3]:
            row = self.user_pb.User()
            row.CopyFrom(self.users.GetUser(self.user_pb.GetUserRequest(id=user.id),
                                            timeout=TIMEOUT))
            row.ClearField("id")
            stored += row.ByteSize()
        self.wait_for("percore_storage_rows", 3, table="users")
        self.assertEqual(self.totals("percore_storage_bytes", table="users"), stored)

        # Every final status and failure code exists at zero before any order.
        for status, code in (("CONFIRMED", "NONE"), ("CANCELLED", "NONE"),
                             ("FAILED", "OUT_OF_STOCK"), ("FAILED", "MIXED_CURRENCIES")):
            self.assertEqual(self.totals("percore_orders_finished_total", status=status,
                                         failure_code=code), 0)
        self.assertEqual(self.totals("percore_reservations_held"), 0)

        # A mixed run: confirmed then cancelled, declined, out of stock.
        buyer = made[0].id
        self.product("state-a", 10)
        self.product("state-b", 1)
        confirmed = self.order(buyer, "state-a", 1, "tok_approve")
        self.assertEqual(self.order_pb.OrderStatus.Name(confirmed.status), "ORDER_STATUS_CONFIRMED")
        self.orders.CancelOrder(self.order_pb.CancelOrderRequest(id=confirmed.id), timeout=60)
        declined = self.order(buyer, "state-a", 1, "tok_decline")
        self.assertEqual(self.order_pb.FailureCode.Name(declined.failure_code),
                         "FAILURE_CODE_PAYMENT_DECLINED")
        short = self.order(buyer, "state-b", 5, "tok_approve")
        self.assertEqual(self.order_pb.FailureCode.Name(short.failure_code),
                         "FAILURE_CODE_OUT_OF_STOCK")
        self.assertEqual(self.totals("percore_reservations_held"), 0)

        # An order whose payment never answers holds its reservation until the saga's payment
        # deadline (2 s), then fails PAYMENT_TIMEOUT and releases it.
        outcome = {}
        slow = threading.Thread(
            target=lambda: outcome.update(order=self.order(buyer, "state-a", 2, "tok_timeout")))
        slow.start()
        try:
            self.wait_for("percore_reservations_held", 1)
        finally:
            slow.join(60)
        self.assertEqual(self.order_pb.FailureCode.Name(outcome["order"].failure_code),
                         "FAILURE_CODE_PAYMENT_TIMEOUT")
        self.wait_for("percore_reservations_held", 0)

        expected = {("CONFIRMED", "NONE"): 1, ("CANCELLED", "NONE"): 1,
                    ("FAILED", "PAYMENT_DECLINED"): 1, ("FAILED", "OUT_OF_STOCK"): 1,
                    ("FAILED", "PAYMENT_TIMEOUT"): 1, ("FAILED", "UNKNOWN_PRODUCT"): 0,
                    ("FAILED", "SERVICE_UNAVAILABLE"): 0, ("FAILED", "INTERNAL"): 0,
                    ("FAILED", "MIXED_CURRENCIES"): 0}
        for (status, code), count in expected.items():
            with self.subTest(status=status, failure_code=code):
                self.assertEqual(self.totals("percore_orders_finished_total", status=status,
                                             failure_code=code), count)
        self.assertEqual(self.totals("percore_storage_rows", table="orders"), 4)
        self.assertEqual(self.totals("percore_storage_rows", table="products"), 2)
        # Bytes of the tables of protobuf rows: the stored messages' serialized size, as read back.
        products = sum(self.inventory.GetProduct(self.inv_pb.GetProductRequest(sku=sku),
                                                 timeout=TIMEOUT).ByteSize()
                       for sku in ("state-a", "state-b"))
        self.assertEqual(self.totals("percore_storage_bytes", table="products"), products)
        orders = sum(self.orders.GetOrder(self.order_pb.GetOrderRequest(id=order.id),
                                          timeout=TIMEOUT).ByteSize()
                     for order in (confirmed, declined, short, outcome["order"]))
        self.assertEqual(self.totals("percore_storage_bytes", table="orders"), orders)
        # Reservations kept: committed-then-released, released (declined), released (timeout);
        # the out-of-stock one never got past pending and is forgotten.
        self.assertEqual(self.totals("percore_storage_rows", table="reservations"), 3)

    def test_watchers_open_then_closed(self):
        user = self.users.CreateUser(self.user_pb.CreateUserRequest(
            name="Watched", email="watched@example.com"), timeout=TIMEOUT)
        user_watches = [self.users.WatchUserUpdates(
            self.user_pb.WatchUserRequest(user_id=user.id), timeout=60) for _ in range(3)]
        order_watches = [self.orders.WatchOrderUpdates(
            self.order_pb.WatchOrderUpdatesRequest(user_id=user.id), timeout=60)
            for _ in range(2)]
        try:
            self.wait_for("percore_streams_open", 3, grpc_method="WatchUserUpdates")
            self.wait_for("percore_streams_open", 2, grpc_method="WatchOrderUpdates")
            self.assertEqual(self.totals("percore_streams_open", grpc_method="ChatSession"), 0)
        finally:
            for call in user_watches + order_watches:
                call.cancel()
        self.wait_for("percore_streams_open", 0, grpc_method="WatchUserUpdates")
        self.wait_for("percore_streams_open", 0, grpc_method="WatchOrderUpdates")


class AdminDraining(unittest.TestCase):
    def test_readyz_is_503_while_draining(self):
        messages, _ = stub_modules("grpc.testing.messages")
        _, test_grpc = stub_modules("grpc.testing.test")
        server, admin = start_with_admin(SERVER, "--shards", "1", "--services", "interop",
                                         "--shutdown-grace", "10")
        try:
            self.assertEqual(get(admin, "/readyz")[0], 200)
            stub = test_grpc.TestServiceStub(server.channel)
            requests = queue.Queue()
            requests.put(messages.StreamingOutputCallRequest())

            def request_stream():
                while True:
                    item = requests.get()
                    if item is None:
                        return
                    yield item

            call = stub.FullDuplexCall(request_stream(), timeout=30)
            first = threading.Thread(target=lambda: list(call))
            first.start()
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline and not self.in_flight(admin):
                time.sleep(0.05)
            self.assertTrue(self.in_flight(admin), "the stream never started")
            server.proc.send_signal(signal.SIGTERM)
            status = None
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                status = get(admin, "/readyz")[0]
                if status == 503:
                    break
                time.sleep(0.02)
            self.assertEqual(status, 503)
            self.assertEqual(get(admin, "/healthz")[0], 200)  # alive while draining
            requests.put(None)  # half-close: the stream ends, the drain completes
            first.join(TIMEOUT)
            self.assertEqual(server.proc.wait(timeout=20), 0, server.stderr_text())
        finally:
            server.stop()

    @staticmethod
    def in_flight(admin):
        s = parse(get(admin, "/metrics")[2])
        return s.get(key("percore_shard_calls_in_flight", shard="0"), 0) >= 1


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
