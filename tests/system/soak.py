"""Soak with faults (issue 15): a mixed workload against the five-process placement (user,
inventory, order, two payment replicas), each process with its own --data-dir, while every
process in turn is killed (SIGKILL) and restarted from its data directory on its port, and
inventory, order and the payment replicas are frozen (SIGSTOP/SIGCONT) — soak_faults.py.
Periodically and at the end it checks the invariants:
  - every order ends CONFIRMED, FAILED or CANCELLED (none left PENDING, RESERVED or PAID),
    including the orders ListOrders shows that no caller heard of;
  - each product's stock is its initial stock minus the units of its CONFIRMED orders, and no
    stock stays reserved once the load stops (a hold a fault orphaned is freed by its
    reservation's ttl: the check waits for it, up to the ttl after the last such fault; units
    still reserved then are traced to the orders whose key holds them, explain_holds);
  - money: a CONFIRMED order's charge is APPROVED on exactly one replica, a FAILED or CANCELLED
    one's on none (refunded or voided; looked up by the saga's idempotency key, the order id);
  - emails are unique among the users;
  - resident memory is flat after warm-up but for what is kept by design: orders, reservations,
    payments and users stay in memory, so each process incarnation's growth after its first
    10 s, divided by the orders placed meanwhile, must stay under a few KB
    (--rss-growth-per-order-kb; 0 skips it, as under ASan, whose quarantine holds freed memory).
What must hold at every moment (no approved charge on a FAILED or CANCELLED order, unique emails)
is also checked every 15 s while the load and the faults go on.
Usage: soak.py PATH/TO/percore-server [--seconds N] [--seed N] [--clients N]
Exit 0 when every invariant held, 1 otherwise (the violations are printed)."""

import argparse
import random
import sys
import tempfile
import threading
import time
import uuid

import grpc

from percore_py.procfs import rss_bytes
from percore_py.stubs import stub_module

from placement import Placement
import soak_faults
from soak_faults import Faults

TOKENS = ["tok_approve"] * 5 + ["tok_decline", "tok_slow", "tok_slow", "tok_timeout"]
FINAL = ("ORDER_STATUS_CONFIRMED", "ORDER_STATUS_FAILED", "ORDER_STATUS_CANCELLED")
MAX_RSS_BYTES = 1 << 30  # per process: far above what a short soak needs, far below a leak's end
RSS_STEP_BYTES = 16 << 20


def pb(name):
    return stub_module(name)


def until_served(call, seconds=60):
    """call() again while it is UNAVAILABLE: a process restarted by the last fault may still be
    recovering (order finishes its interrupted sagas before it serves)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Soak:
    def __init__(self, placement, seconds, clients, seed, rss_growth_per_order, cycle):
        self.placement = placement
        self.seconds = seconds
        self.clients = clients
        self.random = random.Random(seed)
        self.user_pb = pb("user.v1.user_pb2")
        self.inv_pb = pb("inventory.v1.inventory_pb2")
        self.pay_pb = pb("payment.v1.payment_pb2")
        self.order_pb = pb("order.v1.order_pb2")
        self.money_pb = pb("commerce.v1.money_pb2")
        self.lock = threading.Lock()
        self.users = []
        self.skus = {}  # sku -> initial stock
        self.orders = {}  # order id -> user id
        self.keys = []  # (user id, request) whose first call gave up: looked up again at the end
        self.counts = {"orders": 0, "errors": 0, "cancels": 0, "user_ops": 0}
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.faults = Faults(placement, seconds, self.random, self.stop,
                             lambda line: print("%s at %.1f s" % (line, self.elapsed()),
                                                flush=True), cycle)
        self.rss = {}  # (name, pid) -> [(orders placed, RSS)], one a second
        self.rss_growth_per_order = rss_growth_per_order
        self.violations = []

    def elapsed(self):
        return time.monotonic() - self.started

    # ---- stubs (made per use: a restarted process has a new channel)

    def channel(self, name):
        return self.placement.servers[name].channel

    def users_stub(self):
        return pb("user.v1.user_pb2_grpc").UserServiceStub(self.channel("user"))

    def inventory_stub(self):
        return pb("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
            self.channel("inventory"))

    def orders_stub(self):
        return pb("order.v1.order_pb2_grpc").OrderServiceStub(self.channel("order"))

    def payment_stubs(self):
        return {name: pb("payment.v1.payment_pb2_grpc").PaymentServiceStub(s.channel)
                for name, s in self.placement.servers.items() if name.startswith("payment-")}

    # ---- set-up

    def seed(self):
        users = self.users_stub()
        for i in range(8):
            tag = uuid.uuid4().hex[:10]
            user = users.CreateUser(self.user_pb.CreateUserRequest(
                name="Soak %d" % i, email="soak-%s@example.com" % tag), timeout=10)
            self.users.append(user.id)
        inventory = self.inventory_stub()
        for i in range(6):
            sku = "soak-%d-%s" % (i, uuid.uuid4().hex[:8])
            stock = 20000
            inventory.CreateProduct(self.inv_pb.CreateProductRequest(
                sku=sku, name="Soak item %d" % i,
                price=self.money_pb.Money(amount_minor=100 + i, currency="EUR"),
                initial_stock=stock), timeout=10)
            self.skus[sku] = stock

    # ---- the workload

    def order_client(self, index):
        rnd = random.Random(index * 7919 + 1)
        while not self.stop.is_set():
            user_id = rnd.choice(self.users)
            items = [self.order_pb.LineItem(sku=sku, quantity=rnd.randint(1, 2))
                     for sku in rnd.sample(sorted(self.skus), rnd.randint(1, 2))]
            request = self.order_pb.CreateOrderRequest(
                user_id=user_id, items=items,
                payment_method=self.pay_pb.PaymentMethod(token=rnd.choice(TOKENS)),
                idempotency_key="soak-" + uuid.uuid4().hex)
            # Some callers give up early: their orders must still balance.
            timeout = rnd.choice([0.05, 0.15, 0.3, 2.0, 10.0, 10.0])
            try:
                order = self.orders_stub().CreateOrder(request, timeout=timeout)
                with self.lock:
                    self.orders[order.id] = user_id
                    self.counts["orders"] += 1
                if rnd.random() < 0.15:
                    self.cancel(order.id)
            except ValueError:  # the closed channel of a process just killed: nothing sent
                time.sleep(0.1)
            except grpc.RpcError:
                with self.lock:
                    self.keys.append((user_id, request))
                    self.counts["errors"] += 1

    def cancel(self, order_id):
        try:
            self.orders_stub().CancelOrder(self.order_pb.CancelOrderRequest(id=order_id),
                                           timeout=5)
        except (grpc.RpcError, ValueError):
            pass  # FAILED_PRECONDITION for a final order, or a fault: fine either way
        with self.lock:
            self.counts["cancels"] += 1

    def user_client(self):
        rnd = random.Random(4242)
        while not self.stop.is_set():
            tag = uuid.uuid4().hex[:10]
            try:
                users = self.users_stub()
                user = users.CreateUser(self.user_pb.CreateUserRequest(
                    name="Churn", email="churn-%s@example.com" % tag), timeout=5)
                users.UpdateUser(self.user_pb.UpdateUserRequest(
                    id=user.id, email="moved-%s@example.com" % tag), timeout=5)
                if rnd.random() < 0.5:
                    users.DeleteUser(self.user_pb.DeleteUserRequest(id=user.id), timeout=5)
            except (grpc.RpcError, ValueError):
                pass
            with self.lock:
                self.counts["user_ops"] += 1
            time.sleep(0.02)

    def watcher(self):
        """A watch on one user's orders for the whole run: it must not break the server."""
        while not self.stop.is_set():
            try:
                call = self.orders_stub().WatchOrderUpdates(
                    self.order_pb.WatchOrderUpdatesRequest(user_id=self.users[0]), timeout=5)
            except ValueError:  # the closed channel of a process just killed
                time.sleep(0.1)
                continue
            try:
                for _ in call:
                    if self.stop.is_set():
                        break
            except grpc.RpcError:
                pass
            finally:
                call.cancel()

    def chatter(self):
        while not self.stop.is_set():
            messages = [self.order_pb.ChatMessage(message_id=i, text="help") for i in range(3)]
            try:
                replies = list(self.orders_stub().ChatSession(iter(messages), timeout=5))
                if len(replies) != 3:
                    self.violation("chat: %d replies to 3 messages" % len(replies))
            except (grpc.RpcError, ValueError):
                pass
            time.sleep(0.2)

    def sample_rss(self):  # each process incarnation's RSS once a second, with the orders so far
        while not self.stop.wait(1.0):
            for name, server in list(self.placement.servers.items()):
                rss = rss_bytes(server.proc.pid)
                if rss:  # 0: killed a moment ago
                    self.rss.setdefault((name, server.proc.pid), []).append(
                        (self.counts["orders"], rss))

    # ---- the checks

    def violation(self, text):
        with self.lock:
            self.violations.append(text)

    def settle_orders(self, bound=90):
        """Every order (including those whose first call gave up: their key again) to a final
        state; returns {order id: Order}."""
        orders = {}
        for user_id, request in self.keys:
            try:
                order = until_served(lambda: self.orders_stub().CreateOrder(request, timeout=60))
                self.orders[order.id] = user_id
            except grpc.RpcError as e:
                self.violation("CreateOrder retry of key %s: %s %s"
                               % (request.idempotency_key, e.code(), e.details()))
        for order_id in until_served(self.listed_orders) - set(self.orders):
            self.orders[order_id] = None  # made, but its caller never heard of it
        deadline = time.monotonic() + bound
        for order_id in self.orders:
            while True:
                order = self.orders_stub().GetOrder(self.order_pb.GetOrderRequest(id=order_id),
                                                    timeout=10)
                status = self.order_pb.OrderStatus.Name(order.status)
                if status in FINAL or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            orders[order_id] = order
            if status not in FINAL:
                self.violation("order %s left %s" % (order_id, status))
        return orders

    def listed_orders(self):
        """The ids of every order of the soak's users, as ListOrders pages them."""
        ids = set()
        for user_id in self.users:
            token = ""
            while True:
                call = self.orders_stub().ListOrders(self.order_pb.ListOrdersRequest(
                    user_id=user_id, page_size=1000, page_token=token), timeout=30)
                ids.update(order.id for order in call)
                token = dict(call.trailing_metadata() or ()).get("next-page-token")
                if not token:
                    break
        return ids

    def check_stock(self, orders):
        taken = {sku: 0 for sku in self.skus}
        for order in orders.values():
            if order.status == self.order_pb.ORDER_STATUS_CONFIRMED:
                for item in order.items:
                    taken[item.sku] += item.quantity
        inventory = self.inventory_stub()
        # A hold a fault orphaned (its ReserveStock answered after the caller's deadline, or lost
        # with a killed process) is freed by its ttl: wait for it.
        deadline = max(time.monotonic() + 30, self.faults.hold_risk_until)
        print("soak: stock checked at %.1f s, holds waited for until %.1f s"
              % (self.elapsed(), deadline - self.started), flush=True)
        held = False
        for sku, initial in self.skus.items():
            while True:
                p = inventory.GetProduct(self.inv_pb.GetProductRequest(sku=sku), timeout=10)
                if p.reserved == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            if p.stock != initial - taken[sku]:
                self.violation("%s: stock %d, expected %d - %d confirmed units"
                               % (sku, p.stock, initial, taken[sku]))
                # The orders of this SKU whose failure reason tells of a compensation problem
                # (a stock return lost or uncertain, a release that gave up).
                for order in orders.values():
                    if (any(i.sku == sku for i in order.items)
                            and any(w in order.failure_reason for w in (
                                "return", "could not be released", "could not be committed"))):
                        self.violation("  %s order %s: %s" % (
                            self.order_pb.OrderStatus.Name(order.status), order.id,
                            order.failure_reason))
            if p.reserved != 0:
                self.violation("%s: %d units still reserved after the load" % (sku, p.reserved))
                held = True
        if held:
            self.explain_holds(orders)

    def explain_holds(self, orders):
        """After a "still reserved" violation: which orders hold stock. Each order's reservation
        is asked for again by its key (the order id, as the saga reserves): an existing one is
        returned as it is; one made now (created after the probe began; a 1 s ttl) is not the
        culprit and frees itself."""
        inventory = self.inventory_stub()
        probe_began, probe_at = time.time(), self.elapsed()
        explained = 0
        for order in orders.values():
            request = self.inv_pb.ReserveStockRequest(
                reservation_key=order.id,
                lines=[self.inv_pb.StockLine(sku=i.sku, quantity=i.quantity) for i in order.items])
            request.ttl.seconds = 1
            try:
                r = inventory.ReserveStock(request, timeout=10)
            except grpc.RpcError:
                continue  # out of stock: none was held under the key
            made = r.created_at.seconds + r.created_at.nanos / 1e9
            if r.state == self.inv_pb.Reservation.RESERVATION_STATE_HELD and made < probe_began:
                explained += 1
                self.violation(
                    "held: reservation %s of %s order %s (%s; failure %r), created at %.1f s "
                    "of the soak, expires at %.1f s" % (
                        r.id, self.order_pb.OrderStatus.Name(order.status), order.id,
                        order.reservation_id or "no reservation id", order.failure_reason,
                        probe_at - (probe_began - made),
                        probe_at + r.expires_at.seconds + r.expires_at.nanos / 1e9 - probe_began))
        if not explained:
            self.violation("held: no order's key names a held reservation")

    def check_money(self, orders):
        stubs = self.payment_stubs()
        for order in orders.values():
            approved, refunded = [], []
            for name, stub in stubs.items():
                try:
                    r = stub.GetPayment(self.pay_pb.GetPaymentRequest(idempotency_key=order.id),
                                        timeout=10)
                except grpc.RpcError as e:
                    if e.code() != grpc.StatusCode.NOT_FOUND:
                        self.violation("GetPayment on %s: %s %s" % (name, e.code(), e.details()))
                    continue
                if r.status == self.pay_pb.PaymentResult.PAYMENT_STATUS_APPROVED:
                    approved.append(name)
                elif r.status == self.pay_pb.PaymentResult.PAYMENT_STATUS_REFUNDED:
                    refunded.append(name)
            status = self.order_pb.OrderStatus.Name(order.status)
            if status == "ORDER_STATUS_CONFIRMED" and order.total.amount_minor > 0:
                if len(approved) != 1:
                    self.violation("CONFIRMED order %s: approved on %s" % (order.id, approved))
            elif approved:
                self.violation("%s order %s keeps an approved charge on %s (refunded on %s): %s"
                               % (status, order.id, approved, refunded, order.failure_reason))

    def periodic_check(self):
        """While the load and the faults go on: what must hold at every moment. A FAILED or
        CANCELLED order never has an approved charge (the saga settles before it ends), and
        emails are unique. Calls that a fault makes fail are skipped, not counted."""
        with self.lock:
            sample = self.random.sample(sorted(self.orders), min(150, len(self.orders)))
        stubs = self.payment_stubs()
        checked = 0
        for order_id in sample:
            try:
                order = self.orders_stub().GetOrder(self.order_pb.GetOrderRequest(id=order_id),
                                                    timeout=2)
            except (grpc.RpcError, ValueError):  # a fault: skipped
                continue
            if order.status not in (self.order_pb.ORDER_STATUS_FAILED,
                                    self.order_pb.ORDER_STATUS_CANCELLED):
                continue
            checked += 1
            for name, stub in stubs.items():
                try:
                    r = stub.GetPayment(self.pay_pb.GetPaymentRequest(idempotency_key=order.id),
                                        timeout=2)
                except (grpc.RpcError, ValueError):
                    continue
                if r.status == self.pay_pb.PaymentResult.PAYMENT_STATUS_APPROVED:
                    self.violation("while running: %s order %s has an approved charge on %s"
                                   % (self.order_pb.OrderStatus.Name(order.status), order.id,
                                      name))
        try:
            self.check_emails()
        except (grpc.RpcError, ValueError):
            pass
        return checked

    def check_emails(self):
        users = self.users_stub()
        emails, token = [], ""
        while True:
            call = users.ListUsers(self.user_pb.ListUsersRequest(page_size=1000,
                                                                 page_token=token), timeout=30)
            emails += [u.email.lower() for u in call]
            token = dict(call.trailing_metadata() or ()).get("next-page-token")
            if not token:
                break
        if len(emails) != len(set(emails)):
            self.violation("duplicate emails among %d users" % len(emails))

    def check_rss(self):
        """Per process incarnation (a restart starts new samples) that lived past warm-up."""
        warm = 10  # samples (seconds) of warm-up
        for (name, pid), samples in self.rss.items():
            rss = [r for _, r in samples]
            if rss and max(rss) > MAX_RSS_BYTES:
                self.violation("%s: RSS reached %.0f MB" % (name, max(rss) / 2**20))
            if self.rss_growth_per_order <= 0 or len(samples) < warm + 5:
                continue
            # The allocator takes memory from the kernel in extents of a few MB: allow one
            # such step beside the per-order bound.
            growth = max(rss[warm:]) - rss[warm]
            orders = samples[-1][0] - samples[warm][0]
            per_order = max(0, growth - RSS_STEP_BYTES) / max(1, orders)
            if per_order > self.rss_growth_per_order:
                self.violation("%s: RSS grew %.1f MB after warm-up, %.1f KB per order (bound %.1f)"
                               % (name, growth / 2**20, per_order / 1024,
                                  self.rss_growth_per_order / 1024))

    # ---- the run

    def run(self):
        self.seed()
        threads = [threading.Thread(target=self.order_client, args=(i,))
                   for i in range(self.clients)]
        threads += [threading.Thread(target=f) for f in (self.user_client, self.watcher,
                                                         self.chatter, self.faults.run,
                                                         self.sample_rss)]
        for t in threads:
            t.start()
        try:
            end = time.monotonic() + self.seconds
            next_check = time.monotonic() + 15
            while time.monotonic() < end and not self.violations:
                time.sleep(min(5, max(0.1, end - time.monotonic())))
                print("soak: %4.0fs left, %s" % (max(0, end - time.monotonic()), self.counts),
                      flush=True)
                if time.monotonic() >= next_check and time.monotonic() < end:
                    checked = self.periodic_check()
                    print("soak: checked %d final orders while running" % checked, flush=True)
                    next_check = time.monotonic() + 15
        finally:
            self.stop.set()
            for t in threads:
                t.join()
        orders = self.settle_orders()
        self.check_stock(orders)
        self.check_money(orders)
        self.check_emails()
        self.check_rss()
        finals = {}
        for order in orders.values():
            name = self.order_pb.OrderStatus.Name(order.status)
            finals[name] = finals.get(name, 0) + 1
        print("soak: %d orders %s; %s; %d faults" % (len(orders), finals, self.counts,
                                                      self.faults.count))
        for (name, pid), samples in sorted(self.rss.items()):
            rss = [r for _, r in samples]
            print("soak: %-10s pid %-7d %3d s: RSS first %.0f MB, peak %.0f MB, last %.0f MB"
                  % (name, pid, len(rss), rss[0] / 2**20, max(rss) / 2**20, rss[-1] / 2**20))
        return self.violations


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("server")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--rss-growth-per-order-kb", type=float, default=8)
    parser.add_argument("--faults", default="",
                        help="the faults to cycle through, e.g. kill:payment-1,freeze:inventory "
                        "(default: all of soak_faults.CYCLE)")
    args = parser.parse_args()
    try:
        cycle = soak_faults.select(args.faults)
    except ValueError as e:
        parser.error(str(e))
    print("soak: %.0f s, %d order clients, seed %d" % (args.seconds, args.clients, args.seed))
    data_root = tempfile.TemporaryDirectory(prefix="percore-soak-")
    placement = Placement(args.server, "five", args.shards, data_root=data_root.name)
    violations = []
    try:
        placement.start()
        violations = Soak(placement, args.seconds, args.clients, args.seed,
                          args.rss_growth_per_order_kb * 1024, cycle).run()
    finally:
        codes = placement.stop()
        data_root.cleanup()
    for name, code in codes.items():
        if code != 0:
            violations.append("%s exited %s on SIGTERM" % (name, code))
    for v in violations:
        print("VIOLATION: " + v)
    print("soak: %s" % ("every invariant held" if not violations else
                        "%d violations" % len(violations)))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
