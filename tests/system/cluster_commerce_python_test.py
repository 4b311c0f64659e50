"""Commerce across the partitions of a 3-partition percore cluster on loopback (issue 14,
services/cluster), driven by Python's grpcio through every member: products live on their SKU's
partition, payments on their idempotency key's, orders on their user's; the order saga calls
inventory and payment through the cluster. Orders placed at every member never oversell a
product (sold + remaining = initial); a cancel or refund through any member reaches the
payment's owner (one ledger holds each payment, and it says REFUNDED); a reservation whose SKUs
span partitions is all or nothing (one SKU short: no stock held anywhere; Release through any
member frees every part); ListProducts merges every partition in SKU order with tokens valid at
every member; ListOrders and WatchOrderUpdates of a user are relayed from the user's partition;
a stalled partition times a spanning reservation out and both parts end released (the stalled
one found by its key); a killed partition's SKU makes the orders that need it fail at once,
without stock or money left held on the live partitions.
One cluster serves every case (the kill is the last case).
Usage: cluster_commerce_python_test.py PATH/TO/percore-server"""

import concurrent.futures
import os
import signal
import sys
import time
import unittest
import uuid

import grpc

from percore_py.cluster import OWNER_ONLY

from order_flow_support import TIMEOUT, start_class_cluster

SERVER = None
P = 3


class ClusterCommerce(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start_class_cluster(cls, SERVER, P)

    # ---- helpers

    def new_user(self, member=0, partition=None):
        """A user created through `member` (on its email's partition; `partition` if given)."""
        for _ in range(100):
            tag = uuid.uuid4().hex[:12]
            user = self.users[member].CreateUser(
                self.user_pb.CreateUserRequest(name="Buyer " + tag, email=tag + "@example.com"),
                timeout=TIMEOUT)
            if partition is None or self.owner_of_user(user.id) == partition:
                return user.id
        self.fail("no user landed on partition %d" % partition)

    def owner_of_user(self, user_id):
        for member in range(P):
            try:
                self.users[member].GetUser(self.user_pb.GetUserRequest(id=user_id),
                                           timeout=TIMEOUT, metadata=OWNER_ONLY)
                return member
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
        self.fail("no partition owns user " + user_id)

    def new_product(self, stock, partition, price_minor=500):
        """A SKU owned by `partition` (created there with the mark: another partition's SKU is
        refused UNAVAILABLE, so a refusal means: draw another)."""
        for _ in range(100):
            sku = "sku-" + uuid.uuid4().hex[:16]
            try:
                self.inventory[partition].CreateProduct(self.inv_pb.CreateProductRequest(
                    sku=sku, name="Widget " + sku,
                    price=self.money_pb.Money(amount_minor=price_minor, currency="USD"),
                    initial_stock=stock), timeout=TIMEOUT, metadata=OWNER_ONLY)
                return sku
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
        self.fail("no SKU landed on partition %d" % partition)

    def product(self, sku, member=0):
        return self.inventory[member].GetProduct(self.inv_pb.GetProductRequest(sku=sku),
                                                 timeout=TIMEOUT)

    def assert_stock(self, sku, stock, reserved=0):
        for member in range(P):
            if self.cluster.members[member] is None:
                continue
            p = self.product(sku, member)
            self.assertEqual((p.stock, p.reserved), (stock, reserved),
                             "stock, reserved of %s through member %d" % (sku, member))

    def create_order(self, member, user_id, items, token="tok_approve"):
        return self.orders[member].CreateOrder(self.order_pb.CreateOrderRequest(
            user_id=user_id,
            items=[self.order_pb.LineItem(sku=sku, quantity=qty) for sku, qty in items],
            payment_method=self.pay_pb.PaymentMethod(token=token)), timeout=TIMEOUT)

    def status(self, order):
        return self.order_pb.OrderStatus.Name(order.status)

    def payment_owners(self, transaction_id):
        """The members whose own ledger holds the transaction (asked with the mark)."""
        owners = []
        for member in range(P):
            try:
                self.payments[member].GetPayment(
                    self.pay_pb.GetPaymentRequest(transaction_id=transaction_id),
                    timeout=TIMEOUT, metadata=OWNER_ONLY)
                owners.append(member)
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
        return owners

    def payment_status(self, member, **lookup):
        result = self.payments[member].GetPayment(self.pay_pb.GetPaymentRequest(**lookup),
                                                  timeout=TIMEOUT)
        return self.pay_pb.PaymentResult.PaymentStatus.Name(result.status)

    # ---- cases

    def test_orders_at_every_member_never_oversell(self):
        initial = 9
        skus = [self.new_product(initial, partition) for partition in range(P)]
        buyers = [self.new_user(member) for member in range(P)]

        def order(i):
            member = i % P
            # Each order takes one unit of one SKU, placed through every member in turn.
            return self.create_order(member, buyers[(i // P) % P], [(skus[i % len(skus)], 1)])

        with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
            placed = list(pool.map(order, range(3 * 15)))
        for k, sku in enumerate(skus):
            mine = [o for o in placed if o.items[0].sku == sku]
            sold = sum(1 for o in mine if self.status(o) == "ORDER_STATUS_CONFIRMED")
            failed = [o for o in mine if self.status(o) == "ORDER_STATUS_FAILED"]
            self.assertEqual(sold + len(failed), len(mine), [self.status(o) for o in mine])
            self.assertEqual(sold, initial, "15 orders for %d units: all sold, no more" % initial)
            for o in failed:
                self.assertEqual(self.order_pb.FailureCode.Name(o.failure_code),
                                 "FAILURE_CODE_OUT_OF_STOCK", o)
            remaining = self.product(sku).stock
            self.assertEqual(sold + remaining, initial)
            self.assert_stock(sku, 0)
        # Each confirmed order is read back through every member (by its id: its partition).
        for o in placed[:6]:
            for member in range(P):
                got = self.orders[member].GetOrder(self.order_pb.GetOrderRequest(id=o.id),
                                                   timeout=TIMEOUT)
                self.assertEqual(got.id, o.id)
                self.assertEqual(got.status, o.status)

    def test_cancel_and_refund_through_any_member_reach_the_payments_owner(self):
        sku = self.new_product(10, 1)
        for placed_at in range(P):
            buyer = self.new_user(placed_at)
            order = self.create_order(placed_at, buyer, [(sku, 2)])
            self.assertEqual(self.status(order), "ORDER_STATUS_CONFIRMED", order)
            self.assertEqual(len(self.payment_owners(order.transaction_id)), 1)
            for member in range(P):
                self.assertEqual(self.payment_status(member, transaction_id=order.transaction_id),
                                 "PAYMENT_STATUS_APPROVED")
            cancelled = self.orders[(placed_at + 1) % P].CancelOrder(
                self.order_pb.CancelOrderRequest(id=order.id), timeout=TIMEOUT)
            self.assertEqual(self.status(cancelled), "ORDER_STATUS_CANCELLED", cancelled)
            for member in range(P):
                self.assertEqual(self.payment_status(member, transaction_id=order.transaction_id),
                                 "PAYMENT_STATUS_REFUNDED")
                self.assertEqual(self.payment_status(member, idempotency_key=order.id),
                                 "PAYMENT_STATUS_REFUNDED")
        self.assert_stock(sku, 10)  # every cancelled order's units back
        # A payment made through one member, refunded through each other one: one charge, one
        # refund, in the ledger of the key's partition alone.
        for made_at in range(P):
            key = "pay-" + uuid.uuid4().hex
            paid = self.payments[made_at].ProcessPayment(self.pay_pb.ProcessPaymentRequest(
                order_id="o-" + key, amount=self.money_pb.Money(amount_minor=700, currency="USD"),
                method=self.pay_pb.PaymentMethod(token="tok_approve"), idempotency_key=key),
                timeout=TIMEOUT)
            again = self.payments[(made_at + 2) % P].ProcessPayment(
                self.pay_pb.ProcessPaymentRequest(
                    order_id="o-" + key,
                    amount=self.money_pb.Money(amount_minor=700, currency="USD"),
                    method=self.pay_pb.PaymentMethod(token="tok_approve"), idempotency_key=key),
                timeout=TIMEOUT)
            self.assertEqual(again.transaction_id, paid.transaction_id, "one charge per key")
            refunded = self.payments[(made_at + 1) % P].RefundPayment(
                self.pay_pb.RefundPaymentRequest(transaction_id=paid.transaction_id),
                timeout=TIMEOUT)
            self.assertEqual(self.pay_pb.PaymentResult.PaymentStatus.Name(refunded.status),
                             "PAYMENT_STATUS_REFUNDED")
            self.assertEqual(len(self.payment_owners(paid.transaction_id)), 1)

    def test_multi_sku_order_spanning_partitions_is_all_or_nothing(self):
        skus = [self.new_product(5, 0), self.new_product(5, 1), self.new_product(1, 2)]
        for member in range(P):
            buyer = self.new_user(member)
            short = self.create_order(member, buyer, [(skus[2], 3), (skus[0], 2), (skus[1], 2)])
            self.assertEqual(self.status(short), "ORDER_STATUS_FAILED", short)
            self.assertEqual(self.order_pb.FailureCode.Name(short.failure_code),
                             "FAILURE_CODE_OUT_OF_STOCK", short)
            for sku, stock in zip(skus, (5, 5, 1)):
                self.assert_stock(sku, stock)
            self.assertFalse(short.transaction_id)
        buyer = self.new_user(1)
        order = self.create_order(2, buyer, [(skus[2], 1), (skus[0], 2), (skus[1], 2)])
        self.assertEqual(self.status(order), "ORDER_STATUS_CONFIRMED", order)
        self.assertEqual([i.sku for i in order.items], [skus[2], skus[0], skus[1]])
        self.assertEqual(order.total.amount_minor, 5 * 500)
        for sku, stock in zip(skus, (3, 3, 0)):
            self.assert_stock(sku, stock)
        # A client's own reservation over the three partitions, through each member: its id
        # names each part; Release through another member frees every part.
        for member in range(P):
            key = "rk-" + uuid.uuid4().hex
            held = self.inventory[member].ReserveStock(self.inv_pb.ReserveStockRequest(
                reservation_key=key, lines=[self.inv_pb.StockLine(sku=skus[1], quantity=1),
                                            self.inv_pb.StockLine(sku=skus[0], quantity=2)]),
                timeout=TIMEOUT)
            self.assertEqual(held.reservation_key, key)
            self.assertEqual(len(held.id.split(".")), 2, held.id)
            self.assertEqual([(l.sku, l.quantity) for l in held.lines],
                             [(skus[1], 1), (skus[0], 2)])
            self.assert_stock(skus[0], 3, reserved=2)
            self.assert_stock(skus[1], 3, reserved=1)
            again = self.inventory[(member + 1) % P].ReserveStock(
                self.inv_pb.ReserveStockRequest(
                    reservation_key=key, lines=[self.inv_pb.StockLine(sku=skus[1], quantity=1),
                                                self.inv_pb.StockLine(sku=skus[0], quantity=2)]),
                timeout=TIMEOUT)
            self.assertEqual(again.id, held.id, "ReserveStock stays idempotent by key")
            released = self.inventory[(member + 2) % P].ReleaseReservation(
                self.inv_pb.ReleaseReservationRequest(reservation_id=held.id), timeout=TIMEOUT)
            self.assertEqual(self.inv_pb.Reservation.ReservationState.Name(released.state),
                             "RESERVATION_STATE_RELEASED")
            self.assert_stock(skus[0], 3)
            self.assert_stock(skus[1], 3)
        with self.assertRaises(grpc.RpcError) as e:
            self.inventory[0].ReserveStock(self.inv_pb.ReserveStockRequest(
                reservation_key="rk-" + uuid.uuid4().hex,
                lines=[self.inv_pb.StockLine(sku=skus[0], quantity=1),
                       self.inv_pb.StockLine(sku=skus[2], quantity=1)]), timeout=TIMEOUT)
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn(skus[2], e.exception.details())
        self.assert_stock(skus[0], 3)

    def list_products(self, member, page_size, token="", metadata=()):
        call = self.inventory[member].ListProducts(
            self.inv_pb.ListProductsRequest(page_size=page_size, page_token=token),
            timeout=TIMEOUT, metadata=list(metadata))
        products = list(call)
        return products, dict(call.trailing_metadata() or ()).get("next-page-token") or ""

    def test_list_products_merges_every_partition_in_sku_order(self):
        made = {self.new_product(1, i % P) for i in range(12)}
        for page_size, members in ((5, [0, 1, 2]), (1000, [2]), (3, [1, 0])):
            skus, token, pages = [], "", 0
            while True:
                page, token = self.list_products(members[pages % len(members)], page_size, token)
                self.assertLessEqual(len(page), page_size)
                skus.extend(p.sku for p in page)
                pages += 1
                if not token:
                    break
            self.assertEqual(skus, sorted(set(skus)), "every SKU once, in order")
            self.assertLessEqual(made, set(skus))
        # A member's (marked) list is its own partition's products; together: all, once.
        union = []
        for member in range(P):
            page, token = self.list_products(member, 1000, metadata=OWNER_ONLY)
            self.assertEqual(token, "")
            union.extend(p.sku for p in page)
        self.assertEqual(sorted(union), [p.sku for p in self.list_products(0, 1000)[0]])

    def test_list_and_watch_a_users_orders_through_any_member(self):
        o = self.order_pb
        buyer = self.new_user(0, partition=1)
        sku = self.new_product(10, 0)
        watch = self.orders[0].WatchOrderUpdates(o.WatchOrderUpdatesRequest(user_id=buyer),
                                                 timeout=TIMEOUT)
        try:
            watch.initial_metadata()  # registered on partition 1, relayed by member 0
            placed = [self.create_order(m, buyer, [(sku, 1)]) for m in (2, 0, 1)]
            confirmed = set()
            for update in watch:
                if update.status == o.ORDER_STATUS_CONFIRMED:
                    confirmed.add(update.order_id)
                if len(confirmed) == len(placed):
                    break
        finally:
            watch.cancel()
        self.assertEqual(confirmed, {p.id for p in placed})
        # One order's watch, through a member that does not hold it: sees the cancel (through
        # another member) and ends OK, the order being final.
        watch = self.orders[2].WatchOrderUpdates(
            o.WatchOrderUpdatesRequest(order_id=placed[0].id), timeout=TIMEOUT)
        watch.initial_metadata()
        self.orders[0].CancelOrder(o.CancelOrderRequest(id=placed[0].id), timeout=TIMEOUT)
        ended = list(watch)
        self.assertTrue(all(u.order_id == placed[0].id for u in ended))
        self.assertEqual(ended[-1].status, o.ORDER_STATUS_CANCELLED)
        # Pages of 2, each asked of the next member, the token taken by any.
        ids, token, pages = [], "", 0
        while True:
            call = self.orders[pages % P].ListOrders(
                o.ListOrdersRequest(user_id=buyer, page_size=2, page_token=token),
                timeout=TIMEOUT)
            page = list(call)
            token = dict(call.trailing_metadata() or ()).get("next-page-token") or ""
            self.assertLessEqual(len(page), 2)
            ids.extend(x.id for x in page)
            pages += 1
            if not token:
                break
        self.assertEqual(sorted(ids), sorted(p.id for p in placed))
        self.assertGreaterEqual(pages, 2)

    def test_chat_status_of_an_order_another_partition_holds(self):
        o = self.order_pb
        buyer = self.new_user(0, partition=1)
        order = self.create_order(1, buyer, [(self.new_product(5, 2), 1)])
        for member in (0, 2):  # neither holds the order: asked of partition 1
            messages = [o.ChatMessage(message_id=1, text="status " + order.id, user_id=buyer),
                        o.ChatMessage(message_id=2, text="status " + str(uuid.uuid4()),
                                      user_id=buyer)]
            replies = list(self.orders[member].ChatSession(iter(messages), timeout=TIMEOUT))
            self.assertEqual([r.in_reply_to for r in replies], [1, 2])
            self.assertEqual(replies[0].order_id, order.id, replies[0].text)
            self.assertEqual(replies[0].order_status, o.ORDER_STATUS_CONFIRMED)
            self.assertEqual(replies[1].order_id, "", replies[1].text)

    def test_y_stalled_partition_times_out_and_releases_the_parts_held_before_it(self):
        first, stalled = self.new_product(4, 0), self.new_product(4, 2)
        pid = self.cluster.members[2].proc.pid
        key = "rk-" + uuid.uuid4().hex
        os.kill(pid, signal.SIGSTOP)
        try:
            with self.assertRaises(grpc.RpcError) as e:  # asked of member 1: both parts remote
                self.inventory[1].ReserveStock(self.inv_pb.ReserveStockRequest(
                    reservation_key=key,
                    lines=[self.inv_pb.StockLine(sku=stalled, quantity=1),
                           self.inv_pb.StockLine(sku=first, quantity=1)]), timeout=1)
            self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
            # Past member 1's own deadline for the part (a little after the client's): it gave
            # up, released the part held on partition 0 (on a budget of its own, not at its ttl)
            # and asked the stalled partition for its part by key. Waited for, not slept: a
            # resume before member 1 gave up would let the stalled part answer in time.
            deadline = time.monotonic() + TIMEOUT
            while self.product(first, 0).reserved != 0 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            os.kill(pid, signal.SIGCONT)
        # The stalled partition, resumed, serves the request it had queued (gRPC deadlines are
        # relative: it still has time) and the part's lookup by key, which releases it.
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.product(first, 0).reserved == 0 and self.product(stalled, 0).reserved == 0:
                break
            time.sleep(0.05)
        self.assert_stock(first, 4)
        self.assert_stock(stalled, 4)
        # The stalled partition's part (key KEY#p2) was held, then found by its key and released.
        part = self.inventory[2].ReserveStock(self.inv_pb.ReserveStockRequest(
            reservation_key=key + "#p2", lines=[self.inv_pb.StockLine(sku=stalled, quantity=1)]),
            timeout=TIMEOUT, metadata=OWNER_ONLY)
        self.assertEqual(self.inv_pb.Reservation.ReservationState.Name(part.state),
                         "RESERVATION_STATE_RELEASED")

    def test_z_killed_partition_fails_its_skus_orders_without_leaking(self):
        # Last case: partition 2 stays down.
        live = self.new_product(5, 0)
        doomed = self.new_product(5, 2)
        buyers = [self.new_user(0, partition=0), self.new_user(1, partition=1)]
        self.cluster.kill(2)
        for member, buyer in zip((0, 1), buyers):
            started = time.monotonic()
            try:
                order = self.create_order(member, buyer, [(live, 1), (doomed, 1)])
                self.assertEqual(self.status(order), "ORDER_STATUS_FAILED", order)
                self.assertEqual(self.order_pb.FailureCode.Name(order.failure_code),
                                 "FAILURE_CODE_SERVICE_UNAVAILABLE", order)
                self.assertIn("partition 2", order.failure_reason)
                self.assertFalse(order.transaction_id)
                with self.assertRaises(grpc.RpcError) as e:
                    self.payment_status(member, idempotency_key=order.id)
                self.assertIn(e.exception.code(),
                              (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE))
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
            # A hang guard (the connect bound is 1 s), not a speed claim.
            self.assertLess(time.monotonic() - started, 15)
            self.assert_stock(live, 5)  # the part held on partition 0 was released
        # The live partitions still serve what they own.
        self.inventory[1].AdjustStock(self.inv_pb.AdjustStockRequest(sku=live, delta=2),
                                      timeout=TIMEOUT)
        self.assert_stock(live, 7)
        with self.assertRaises(grpc.RpcError) as e:
            self.product(doomed, 0)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIn("partition 2", e.exception.details())
        with self.assertRaises(grpc.RpcError) as e:
            self.list_products(0, 10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIn("partition 2", e.exception.details())


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
