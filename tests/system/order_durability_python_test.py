"""Durable orders (--data-dir, issue 10) on the real percore-server, driven by Python grpcio:
- orders the client saw acknowledged under --fsync always survive kill -9 (restarted with
  another --shards), found by id, listed by user; a CreateOrder repeated with its idempotency key
  after the restart returns the same order;
- kill -9 in the middle of a load of orders (approved, slow and never-answered payments,
  declines, cancels): after the restart every order is final, each SKU's stock is its initial
  stock minus the CONFIRMED orders' quantities with nothing reserved, and no FAILED or CANCELLED
  order keeps an approved payment;
- three processes (inventory; payment; user + order with --peer): an order crashed while PENDING
  (its ReserveStock still on its way to a frozen inventory) ends FAILED with its reservation
  released, and orders crashed while PAID (their commit held up) end CONFIRMED; while the restarted
  order process finishes them, grpc.health.v1 says NOT_SERVING and /readyz 503, then SERVING;
- payments a payment --peer approved after the order process crashed are refunded (looked up by
  their idempotency key) and the orders end FAILED;
- a confirmed order's cancel interrupted after its refund is carried on: CANCELLED, refunded, the
  stock returned at most once per line.
Usage: order_durability_python_test.py PATH/TO/percore-server"""

import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
import uuid

import grpc

from percore_py import admin
from percore_py.server import Server
from percore_py.stubs import stub_module, stub_modules

SERVER = None
TIMEOUT = 30
FINAL = ("ORDER_STATUS_CONFIRMED", "ORDER_STATUS_FAILED", "ORDER_STATUS_CANCELLED")
INITIAL = 10000


def poll(fetch, done, pause=0.01):
    """fetch() until done(its value) or TIMEOUT passes; returns the last value."""
    deadline = time.time() + TIMEOUT
    while True:
        value = fetch()
        if done(value) or time.time() > deadline:
            return value
        time.sleep(pause)


def pb(name):
    return stub_module(name)


class Stubs:
    def __init__(self, channel):
        self.user_pb = pb("user.v1.user_pb2")
        self.inv_pb = pb("inventory.v1.inventory_pb2")
        self.pay_pb = pb("payment.v1.payment_pb2")
        self.order_pb = pb("order.v1.order_pb2")
        self.money_pb = pb("commerce.v1.money_pb2")
        self.health_pb, health_grpc = stub_modules("grpc.health.v1.health")
        self.users = pb("user.v1.user_pb2_grpc").UserServiceStub(channel)
        self.inventory = pb("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(channel)
        self.payments = pb("payment.v1.payment_pb2_grpc").PaymentServiceStub(channel)
        self.orders = pb("order.v1.order_pb2_grpc").OrderServiceStub(channel)
        self.health = health_grpc.HealthStub(channel)


class OrderDurability(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="percore-order-durability-")
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, name, *flags, admin=False):
        extra = ("--admin", "127.0.0.1:0") if admin else ()
        server = Server(SERVER, "--data-dir", os.path.join(self.dir, name), *extra, *flags)
        self.servers.append(server)
        return server

    def kill(self, server):
        server.kill()
        self.servers.remove(server)

    # ---- helpers over the stubs ----

    def status_name(self, s, order):
        return s.order_pb.OrderStatus.Name(order.status)

    def new_user(self, s):
        tag = uuid.uuid4().hex[:12]
        return s.users.CreateUser(s.user_pb.CreateUserRequest(
            name="Buyer " + tag, email=tag + "@example.com"), timeout=TIMEOUT).id

    def new_product(self, s, stock=INITIAL, price=1250):
        sku = "sku-" + uuid.uuid4().hex[:12]
        s.inventory.CreateProduct(s.inv_pb.CreateProductRequest(
            sku=sku, name="Widget", price=s.money_pb.Money(amount_minor=price, currency="EUR"),
            initial_stock=stock), timeout=TIMEOUT)
        return sku

    def order_request(self, s, user, items, token, key=""):
        return s.order_pb.CreateOrderRequest(
            user_id=user, items=[s.order_pb.LineItem(sku=k, quantity=q) for k, q in items],
            payment_method=s.pay_pb.PaymentMethod(token=token), idempotency_key=key)

    def orders_of(self, s, user):
        return list(s.orders.ListOrders(s.order_pb.ListOrdersRequest(user_id=user, page_size=1000),
                                        timeout=TIMEOUT))

    def wait_serving(self, s, bound=60):
        end = time.time() + bound
        while time.time() < end:
            try:
                r = s.health.Check(s.health_pb.HealthCheckRequest(), timeout=5)
                if r.status == s.health_pb.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.05)
        self.fail("the server did not report SERVING within %d s" % bound)

    def payment_by_key(self, s, key):
        try:
            return s.payments.GetPayment(s.pay_pb.GetPaymentRequest(idempotency_key=key),
                                         timeout=TIMEOUT)
        except grpc.RpcError as e:
            self.assertEqual(e.code(), grpc.StatusCode.NOT_FOUND, e.details())
            return None

    def check_books(self, s_orders, s_inv, s_pay, users, skus):
        """Every order final; stock = initial - CONFIRMED quantities, nothing reserved; no
        FAILED/CANCELLED order with an approved payment; each CONFIRMED one paid."""
        confirmed = {sku: 0 for sku in skus}
        approved = s_pay.pay_pb.PaymentResult.PAYMENT_STATUS_APPROVED
        counts = {}
        for user in users:
            for order in self.orders_of(s_orders, user):
                name = self.status_name(s_orders, order)
                counts[name] = counts.get(name, 0) + 1
                self.assertIn(name, FINAL, order)
                payment = self.payment_by_key(s_pay, order.id)
                if name == "ORDER_STATUS_CONFIRMED":
                    for item in order.items:
                        confirmed[item.sku] += item.quantity
                    self.assertIsNotNone(payment, order)
                    self.assertEqual(payment.status, approved, (order, payment))
                    self.assertEqual(payment.transaction_id, order.transaction_id)
                elif payment is not None:
                    self.assertNotEqual(payment.status, approved, (order, payment))
        for sku in skus:
            p = s_inv.inventory.GetProduct(s_inv.inv_pb.GetProductRequest(sku=sku),
                                           timeout=TIMEOUT)
            self.assertEqual((p.stock, p.reserved), (INITIAL - confirmed[sku], 0), sku)
        return counts

    # ---- the tests ----

    def test_acknowledged_orders_survive_kill_9_and_replays_return_them(self):
        server = self.start("all", "--shards", "2", "--fsync", "always")
        s = Stubs(server.channel)
        user = self.new_user(s)
        sku = self.new_product(s)
        acked = {}
        for i, token in enumerate(["tok_approve", "tok_decline", "tok_approve", "tok_approve"]):
            order = s.orders.CreateOrder(self.order_request(s, user, [(sku, i + 1)], token,
                                                            key="key-%d" % i), timeout=TIMEOUT)
            acked[order.id] = order
        cancelled = s.orders.CancelOrder(s.order_pb.CancelOrderRequest(id=list(acked)[2]),
                                         timeout=TIMEOUT)
        self.assertEqual(self.status_name(s, cancelled), "ORDER_STATUS_CANCELLED")
        acked[cancelled.id] = cancelled
        self.kill(server)

        for shards in ("3", "1"):
            server = self.start("all", "--shards", shards, "--fsync", "always")
            s = Stubs(server.channel)
            self.wait_serving(s)
            for order_id, order in acked.items():
                got = s.orders.GetOrder(s.order_pb.GetOrderRequest(id=order_id), timeout=TIMEOUT)
                self.assertEqual(got, order, "shards %s" % shards)
            self.assertEqual([o.id for o in self.orders_of(s, user)], sorted(acked))
            for i, token in enumerate(["tok_approve", "tok_decline", "tok_approve",
                                       "tok_approve"]):
                again = s.orders.CreateOrder(self.order_request(
                    s, user, [(sku, i + 1)], token, key="key-%d" % i), timeout=TIMEOUT)
                self.assertEqual(again, acked[again.id])
            with self.assertRaises(grpc.RpcError) as e:  # a key is still bound to its request
                s.orders.CreateOrder(self.order_request(s, user, [(sku, 9)], "tok_approve",
                                                        key="key-0"), timeout=TIMEOUT)
            self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
            self.check_books(s, s, s, [user], [sku])
            self.kill(server)

    def test_kill_9_mid_load_leaves_every_order_final_and_the_books_balanced(self):
        server = self.start("all", "--shards", "2", "--fsync", "always")
        s = Stubs(server.channel)
        users = [self.new_user(s) for _ in range(6)]
        skus = [self.new_product(s) for _ in range(3)]
        stop = threading.Event()
        acked = {}
        lock = threading.Lock()

        def client(index):
            rng = random.Random(index)
            tokens = ["tok_approve", "tok_slow", "tok_slow", "tok_timeout", "tok_decline"]
            n = 0
            while not stop.is_set():
                n += 1
                items = [(sku, rng.randint(1, 3)) for sku in rng.sample(skus, 2)]
                try:
                    order = s.orders.CreateOrder(self.order_request(
                        s, users[index], items, rng.choice(tokens), key="k%d-%d" % (index, n)),
                        timeout=TIMEOUT)
                    if (self.status_name(s, order) == "ORDER_STATUS_CONFIRMED" and
                            rng.random() < 0.3):
                        order = s.orders.CancelOrder(s.order_pb.CancelOrderRequest(id=order.id),
                                                     timeout=TIMEOUT)
                    with lock:
                        acked[order.id] = order
                except grpc.RpcError:
                    return

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(6)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        self.kill(server)
        stop.set()
        for t in threads:
            t.join(timeout=TIMEOUT)
        self.assertTrue(acked, "no order was acknowledged before the kill")

        server = self.start("all", "--shards", "3", "--fsync", "always")
        s = Stubs(server.channel)
        self.wait_serving(s)
        counts = self.check_books(s, s, s, users, skus)
        self.assertIn("ORDER_STATUS_CONFIRMED", counts)
        for order_id, order in acked.items():  # acknowledged: as it was answered
            got = s.orders.GetOrder(s.order_pb.GetOrderRequest(id=order_id), timeout=TIMEOUT)
            self.assertEqual(got, order)
        report = server.stderr_text()
        mid_saga = int(re.search(r"orders: recovered \d+ orders \((\d+) mid-saga", report).group(1))
        # tok_timeout's payments wait 2 s: the kill always finds orders mid-saga.
        self.assertGreater(mid_saga, 0, report)
        self.assertIn("recovery finished; SERVING", report)
        print("recovered mid-saga: %d; orders by status: %s" % (mid_saga, counts),
              file=sys.stderr)

    def test_three_processes_pending_and_paid_orders_are_finished_after_a_crash(self):
        inventory = self.start("inventory", "--services", "inventory", "--fsync", "always")
        payment = self.start("payment", "--services", "payment", "--fsync", "always")
        peers = ("--peer", "inventory=" + inventory.address, "--peer", "payment=" + payment.address)
        front_flags = ("--services", "user,order", "--fsync", "always", *peers)
        front = self.start("front", *front_flags)
        s_inv, s_pay, s = Stubs(inventory.channel), Stubs(payment.channel), Stubs(front.channel)
        user = self.new_user(s)
        skus = [self.new_product(s_inv) for _ in range(2)]

        def create_async(stub, items, token):
            return stub.orders.CreateOrder.future(self.order_request(stub, user, items, token),
                                                   timeout=TIMEOUT)

        # Round 1, PAID: payments approved (tok_slow, 200 ms) while the inventory is frozen, so
        # the commits wait; the order process crashes then.
        futures = [create_async(s, [(skus[0], 2)], "tok_slow") for _ in range(4)]
        # Every order reserved: paying (or paid, committing).
        poll(lambda: self.orders_of(s, user),
             lambda listed: len(listed) == 4 and all(
                 self.status_name(s, o) in ("ORDER_STATUS_RESERVED", "ORDER_STATUS_PAID")
                 for o in listed))
        os.kill(inventory.proc.pid, signal.SIGSTOP)
        # The payments are approved; the commits wait on the frozen inventory (no order can get
        # past PAID: asked until all four are there, however slow the build).
        paid = poll(lambda: self.orders_of(s, user),
                    lambda paid: all(self.status_name(s, o) == "ORDER_STATUS_PAID" for o in paid),
                    0.05)
        self.assertEqual([self.status_name(s, o) for o in paid], ["ORDER_STATUS_PAID"] * 4)
        # The crash must come after the PAID records' fsync (PAID shows before it is durable)
        # and before the commits' 1 s budget (inventory_deadline) ends them FAILED: half of it.
        time.sleep(0.5)
        self.kill(front)
        del futures

        # Round 2, PENDING: the restarted order process finds the PAID orders and must commit
        # them, but the inventory is still frozen: NOT_SERVING until it thaws.
        front = self.start("front", *front_flags, admin=True)
        s = Stubs(front.channel)
        admin_port = int(re.search(r"admin listening on \S+ \(port (\d+)\)",
                                   front.stderr_text()).group(1))
        r = s.health.Check(s.health_pb.HealthCheckRequest(), timeout=TIMEOUT)
        self.assertEqual(r.status, s.health_pb.HealthCheckResponse.NOT_SERVING)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen("http://127.0.0.1:%d/readyz" % admin_port, timeout=TIMEOUT)
        self.assertEqual(e.exception.code, 503)
        # A new order while the inventory is frozen stays PENDING; the process crashes again.
        fsyncs = admin.total(admin_port, "percore_wal_fsyncs_total", store="orders")
        pending = create_async(s, [(skus[1], 3)], "tok_approve")
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            listed = [o for o in self.orders_of(s, user) if o.id not in {p.id for p in paid}]
            if listed and self.status_name(s, listed[0]) == "ORDER_STATUS_PENDING":
                break
            time.sleep(0.01)
        self.assertEqual(self.status_name(s, listed[0]), "ORDER_STATUS_PENDING")
        pending_id = listed[0].id
        # An order is visible PENDING before its record is durable; its ReserveStock waits for
        # that (fsync always). Wait for the orders log's fsync, then give the ReserveStock time to
        # leave (the pause alone assumed the disk and the writer thread were quick).
        poll(lambda: admin.total(admin_port, "percore_wal_fsyncs_total", store="orders"),
             lambda now: now != fsyncs)
        time.sleep(0.3)
        self.kill(front)
        del pending

        # Round 3: restarted while the inventory is still frozen; a health Watch sees
        # NOT_SERVING, then SERVING once the thawed inventory lets recovery finish.
        front = self.start("front", *front_flags, admin=True)
        s = Stubs(front.channel)
        watch = s.health.Watch(s.health_pb.HealthCheckRequest(), timeout=TIMEOUT)
        self.assertEqual(next(watch).status, s.health_pb.HealthCheckResponse.NOT_SERVING)
        os.kill(inventory.proc.pid, signal.SIGCONT)
        self.assertEqual(next(watch).status, s.health_pb.HealthCheckResponse.SERVING)
        watch.cancel()
        self.wait_serving(s)
        admin_port = int(re.search(r"admin listening on \S+ \(port (\d+)\)",
                                   front.stderr_text()).group(1))
        with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % admin_port,
                                    timeout=TIMEOUT) as ready:  # ready before health SERVING
            self.assertEqual(ready.status, 200)
        for order in paid:  # PAID at the crash: committed
            got = s.orders.GetOrder(s.order_pb.GetOrderRequest(id=order.id), timeout=TIMEOUT)
            self.assertEqual(self.status_name(s, got), "ORDER_STATUS_CONFIRMED", got)
        got = s.orders.GetOrder(s.order_pb.GetOrderRequest(id=pending_id), timeout=TIMEOUT)
        self.assertEqual(self.status_name(s, got), "ORDER_STATUS_FAILED", got)
        self.assertIn("restarted while the order was ORDER_STATUS_PENDING", got.failure_reason)
        counts = self.check_books(s, s_inv, s_pay, [user], skus)
        self.assertEqual(counts, {"ORDER_STATUS_CONFIRMED": 4, "ORDER_STATUS_FAILED": 1})

    def test_a_peer_payment_approved_after_the_crash_is_refunded(self):
        """The order process crashes while its payments (tok_slow) are with a payment --peer that
        stays up and approves them: recovery looks each up by its idempotency key and refunds
        it, and the orders end FAILED."""
        services = self.start("services", "--services", "user,inventory,payment",
                              "--fsync", "always", admin=True)
        services_admin = int(re.search(r"admin listening on \S+ \(port (\d+)\)",
                                       services.stderr_text()).group(1))
        front_flags = ("--services", "order", "--fsync", "always",
                       *[f for name in ("user", "inventory", "payment")
                         for f in ("--peer", name + "=" + services.address)])
        front = self.start("front", *front_flags)
        s_back, s = Stubs(services.channel), Stubs(front.channel)
        user = self.new_user(s_back)
        sku = self.new_product(s_back)
        received = admin.total(services_admin, "grpc_server_started_total",
                                  grpc_method="ProcessPayment")
        futures = [s.orders.CreateOrder.future(
            self.order_request(s, user, [(sku, 1)], "tok_slow"), timeout=TIMEOUT)
            for _ in range(3)]
        # All three made: some paying, maybe one paid already.
        listed = poll(lambda: self.orders_of(s, user),
                      lambda listed: len(listed) == 3 and all(
                          self.status_name(s, o) != "ORDER_STATUS_PENDING" for o in listed),
                      0.005)
        # Killed once a ProcessPayment reached the peer (a fixed pause assumed one left within
        # 50 ms): tok_slow answers 200 ms after it arrived.
        poll(lambda: admin.total(services_admin, "grpc_server_started_total",
                                 grpc_method="ProcessPayment"),
             lambda now: now != received, 0.002)
        self.kill(front)
        del futures
        listed = [o for o in listed if self.status_name(s, o) == "ORDER_STATUS_RESERVED"]
        self.assertTrue(listed, "no order was paying at the kill")
        approved = s_back.pay_pb.PaymentResult.PAYMENT_STATUS_APPROVED
        # A RESERVED order's ProcessPayment may not have left the process before the kill; the
        # payment peer approves those it received 200 ms after each (asked until it has).
        charged = poll(lambda: [o for o in listed if self.payment_by_key(s_back, o.id) is not None],
                       lambda charged: charged and all(
                           self.payment_by_key(s_back, o.id).status == approved for o in charged),
                       0.05)
        self.assertTrue(charged, "no payment reached the payment peer before the kill")
        self.assertEqual([self.payment_by_key(s_back, o.id).status for o in charged],
                         [approved] * len(charged))
        front = self.start("front", *front_flags)
        s = Stubs(front.channel)
        self.wait_serving(s)
        refunded = s_back.pay_pb.PaymentResult.PAYMENT_STATUS_REFUNDED
        for order in listed:
            got = s.orders.GetOrder(s.order_pb.GetOrderRequest(id=order.id), timeout=TIMEOUT)
            self.assertEqual(self.status_name(s, got), "ORDER_STATUS_FAILED", got)
            if order in charged:
                self.assertIn("was refunded", got.failure_reason)
                self.assertEqual(self.payment_by_key(s_back, order.id).status, refunded)
        self.check_books(s, s_back, s_back, [user], [sku])

    def test_a_cancel_interrupted_by_a_crash_is_carried_on_and_never_returns_stock_twice(self):
        """The cancel of a CONFIRMED order crashes after its refund, with its stock return
        (ReturnReservation) stuck at a frozen inventory: after the restart the cancel is carried
        on (the order ends CANCELLED, the payment stays refunded) and asks for the return again,
        which is idempotent: every line's stock comes back exactly once, whether the frozen
        inventory applies the first request late or not."""
        inventory = self.start("inventory", "--services", "inventory", "--fsync", "always")
        payment = self.start("payment", "--services", "payment", "--fsync", "always")
        front_flags = ("--services", "user,order", "--fsync", "always",
                       "--peer", "inventory=" + inventory.address,
                       "--peer", "payment=" + payment.address)
        front = self.start("front", *front_flags)
        s_inv, s_pay, s = Stubs(inventory.channel), Stubs(payment.channel), Stubs(front.channel)
        user = self.new_user(s)
        skus = [self.new_product(s_inv) for _ in range(2)]
        order = s.orders.CreateOrder(self.order_request(s, user, [(skus[0], 2), (skus[1], 3)],
                                                        "tok_approve"), timeout=TIMEOUT)
        self.assertEqual(self.status_name(s, order), "ORDER_STATUS_CONFIRMED")
        os.kill(inventory.proc.pid, signal.SIGSTOP)
        cancel = s.orders.CancelOrder.future(s.order_pb.CancelOrderRequest(id=order.id),
                                             timeout=TIMEOUT)
        refunded = s_pay.pay_pb.PaymentResult.PAYMENT_STATUS_REFUNDED
        poll(lambda: self.payment_by_key(s_pay, order.id).status, lambda st: st == refunded)
        time.sleep(0.2)  # the ReturnReservation is on its way to the frozen inventory
        self.kill(front)
        del cancel
        time.sleep(2.5)  # past its deadline: the frozen inventory will not apply it
        os.kill(inventory.proc.pid, signal.SIGCONT)

        front = self.start("front", *front_flags)
        s = Stubs(front.channel)
        self.wait_serving(s)
        got = s.orders.GetOrder(s.order_pb.GetOrderRequest(id=order.id), timeout=TIMEOUT)
        self.assertEqual(self.status_name(s, got), "ORDER_STATUS_CANCELLED", got)
        self.assertEqual(self.payment_by_key(s_pay, order.id).status, refunded)
        self.assertFalse(got.compensation_pending, got)
        stock = [s_inv.inventory.GetProduct(s_inv.inv_pb.GetProductRequest(sku=sku),
                                            timeout=TIMEOUT) for sku in skus]
        # Neither lost (the recovered saga asked again) nor doubled (the same return twice
        # changes nothing).
        self.assertEqual([(p.stock, p.reserved) for p in stock], [(INITIAL, 0), (INITIAL, 0)])


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
