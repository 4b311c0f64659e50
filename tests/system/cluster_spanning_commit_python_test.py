"""A reservation spanning partitions whose commit fails on a later part (issue 14 item 2, "all or
nothing"; services/cluster/cluster_inventory_client.h), on a 3-partition percore cluster on
loopback: SKU A on partition 0, SKU B on partition 1, the reservation asked of member 2 (both
parts remote), partition 1 killed (SIGKILL) before the commit, so its part's commit is never
sent (a stopped process would still serve the call it had queued), then restarted on its
--data-dir (its hold back).
- The commit's caller is answered an error at its deadline (A's part committed, B's not yet);
  once partition 1 is back, B's part is committed too (retried past the caller's deadline):
  both sold, none left held, and a release then answers FAILED_PRECONDITION (committed).
- A release asked of another member meanwhile finds A's part committed and finishes the commit
  instead of releasing B's part (which left the reservation half sold, half released: a caller
  returning the units of a "committed" reservation then returned B's twice); so returning every
  line afterwards conserves the stock exactly.
- An order (user on partition 2, so member 2 runs its saga) whose commit is paused between the
  parts by a test-only hook (PERCORE_TEST_COMMIT_PART_PAUSE_MS, logged), member 2 killed there
  (A's part sold, B's held, the payment taken): restarted on its --data-dir, the saga's recovery
  finishes the commit; the order CONFIRMED, both SKUs sold once, nothing held.
Usage: cluster_spanning_commit_python_test.py PATH/TO/percore-server"""

import os
import sys
import tempfile
import threading
import time
import unittest
import uuid

import grpc

from percore_py.cluster import Cluster, OWNER_ONLY

from order_flow_support import TIMEOUT, load_messages, member_stubs, start_class_cluster

SERVER = None
P = 3


class SpanningCommit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start_class_cluster(cls, SERVER, P, flags=["--services", "inventory"],
                            data_prefix="percore-spanning-commit-")

    def new_product(self, stock, partition):
        for _ in range(100):
            sku = "sku-" + uuid.uuid4().hex[:16]
            try:
                self.inventory[partition].CreateProduct(self.inv_pb.CreateProductRequest(
                    sku=sku, name="Widget " + sku,
                    price=self.money_pb.Money(amount_minor=500, currency="USD"),
                    initial_stock=stock), timeout=TIMEOUT, metadata=OWNER_ONLY)
                return sku
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
        self.fail("no SKU landed on partition %d" % partition)

    def stock(self, sku):
        p = self.inventory[0].GetProduct(self.inv_pb.GetProductRequest(sku=sku), timeout=TIMEOUT)
        return p.stock, p.reserved

    def reserve_both(self):
        a, b = self.new_product(4, 0), self.new_product(4, 1)
        held = self.inventory[2].ReserveStock(self.inv_pb.ReserveStockRequest(
            reservation_key="rk-" + uuid.uuid4().hex,
            lines=[self.inv_pb.StockLine(sku=a, quantity=1),
                   self.inv_pb.StockLine(sku=b, quantity=1)]), timeout=TIMEOUT)
        self.assertEqual(held.id.count("."), 1, held.id)  # two parts
        return a, b, held.id

    def commit_with_b_down(self, reservation_id):
        """Commits through member 2 while partition 1 is down: the caller gets an error, A's
        part is committed. Returns with partition 1 still down."""
        self.cluster.kill(1)
        with self.assertRaises(grpc.RpcError) as raised:
            self.inventory[2].CommitReservation(self.inv_pb.CommitReservationRequest(
                reservation_id=reservation_id), timeout=1.5)
        self.assertIn(raised.exception.code(), (grpc.StatusCode.DEADLINE_EXCEEDED,
                                                grpc.StatusCode.UNAVAILABLE))

    def restart_b(self):
        if self.cluster.members[1] is None:
            self.cluster.start_member(1)

    def wait_for_stock(self, sku, want):
        deadline = time.monotonic() + 20
        while self.stock(sku) != want and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.stock(sku), want, sku)

    def test_a_commit_failing_on_a_later_part_is_finished_when_it_is_back(self):
        a, b, rid = self.reserve_both()
        try:
            self.commit_with_b_down(rid)
            self.wait_for_stock(a, (3, 0))  # A's part sold (B still down)
        finally:
            self.restart_b()
        # Retried past the caller's deadline: B's part sold too once partition 1 is back, well
        # before its 60 s ttl.
        self.wait_for_stock(b, (3, 0))
        self.assertEqual(self.stock(a), (3, 0))
        with self.assertRaises(grpc.RpcError) as raised:
            self.inventory[0].ReleaseReservation(self.inv_pb.ReleaseReservationRequest(
                reservation_id=rid), timeout=TIMEOUT)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual((self.stock(a), self.stock(b)), ((3, 0), (3, 0)))

    def test_b_a_release_of_a_half_committed_reservation_finishes_the_commit(self):
        a, b, rid = self.reserve_both()
        try:
            self.commit_with_b_down(rid)
        finally:
            self.restart_b()
        # Another member (no commit under way there) is asked to release it, as a saga
        # compensating its failed commit does: A's part is committed, so the commit is finished.
        with self.assertRaises(grpc.RpcError) as raised:
            self.inventory[0].ReleaseReservation(self.inv_pb.ReleaseReservationRequest(
                reservation_id=rid), timeout=TIMEOUT)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.FAILED_PRECONDITION,
                         raised.exception.details())
        self.assertEqual((self.stock(a), self.stock(b)), ((3, 0), (3, 0)))
        # "Committed": the caller returns every line's units; the stock is whole again.
        for sku in (a, b):
            self.inventory[0].AdjustStock(self.inv_pb.AdjustStockRequest(sku=sku, delta=1),
                                          timeout=TIMEOUT)
        self.assertEqual((self.stock(a), self.stock(b)), ((4, 0), (4, 0)))


class SagaCommitRecovery(unittest.TestCase):
    def setUp(self):
        load_messages(self)
        self.dir = tempfile.TemporaryDirectory(prefix="percore-spanning-commit-saga-")
        self.addCleanup(self.dir.cleanup)
        self.cluster = Cluster(
            SERVER, P,
            member_flags=lambda i: ["--data-dir", os.path.join(self.dir.name, "p%d" % i)])
        self.addCleanup(self.cluster.stop)
        os.environ["PERCORE_TEST_COMMIT_PART_PAUSE_MS"] = "5000"
        try:
            self.cluster.start()
        finally:
            del os.environ["PERCORE_TEST_COMMIT_PART_PAUSE_MS"]
        self.channels = [grpc.insecure_channel(a) for a in self.cluster.addresses]
        for c in self.channels:
            self.addCleanup(c.close)
        member_stubs(self)

    new_product = SpanningCommit.new_product
    stock = SpanningCommit.stock
    wait_for_stock = SpanningCommit.wait_for_stock

    def user_on(self, partition):
        for _ in range(100):
            tag = uuid.uuid4().hex[:12]
            user = self.users[0].CreateUser(self.user_pb.CreateUserRequest(
                name="Buyer " + tag, email=tag + "@example.com"), timeout=TIMEOUT)
            try:
                self.users[partition].GetUser(self.user_pb.GetUserRequest(id=user.id),
                                              timeout=TIMEOUT, metadata=OWNER_ONLY)
                return user.id
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
        self.fail("no user landed on partition %d" % partition)

    def test_recovery_finishes_a_commit_killed_between_its_parts(self):
        user = self.user_on(2)
        a, b = self.new_product(4, 0), self.new_product(4, 1)

        def order():
            try:
                self.orders[0].CreateOrder(self.order_pb.CreateOrderRequest(
                    user_id=user, items=[self.order_pb.LineItem(sku=a, quantity=1),
                                         self.order_pb.LineItem(sku=b, quantity=1)],
                    payment_method=self.pay_pb.PaymentMethod(token="tok_approve")),
                    timeout=TIMEOUT)
            except grpc.RpcError:
                pass  # its member was killed

        thread = threading.Thread(target=order)
        thread.start()
        deadline = time.monotonic() + 20
        while "test hook: pausing" not in self.cluster.members[2].stderr_text():
            self.assertLess(time.monotonic(), deadline, "the commit never reached its 2nd part")
            time.sleep(0.05)
        self.cluster.kill(2)
        thread.join(TIMEOUT)
        self.assertEqual((self.stock(a), self.stock(b)), ((3, 0), (4, 1)))  # half committed

        self.cluster.start_member(2)  # without the hook; its saga log says PAID
        self.wait_for_stock(b, (3, 0))
        self.assertEqual(self.stock(a), (3, 0))
        listed = list(self.orders[0].ListOrders(self.order_pb.ListOrdersRequest(user_id=user),
                                                timeout=TIMEOUT))
        self.assertEqual(len(listed), 1)
        deadline = time.monotonic() + 20
        while True:
            got = self.orders[0].GetOrder(self.order_pb.GetOrderRequest(id=listed[0].id),
                                          timeout=TIMEOUT)
            if self.order_pb.OrderStatus.Name(got.status) == "ORDER_STATUS_CONFIRMED":
                break
            self.assertLess(time.monotonic(), deadline, self.order_pb.OrderStatus.Name(got.status))
            time.sleep(0.1)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main()
