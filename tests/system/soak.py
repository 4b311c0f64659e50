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
from soak_checks import SoakChecks
from soak_faults import Faults

TOKENS = ["tok_approve"] * 5 + ["tok_decline", "tok_slow", "tok_slow", "tok_timeout"]


def pb(name):
    return stub_module(name)


class Soak(SoakChecks):
    """The workload and the run; the invariant checks are SoakChecks' (soak_checks.py)."""

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
        self.violations = []  # appended by SoakChecks

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
