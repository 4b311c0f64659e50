"""The soak's invariant checks (soak.py's docstring lists them), as a mixin of soak.Soak: what
is checked every 15 s while the load and the faults go on, and at the end once every order is
final. The mixin reads the soak's state (orders, keys, skus, users, rss samples, stubs) and
appends to its violations.

Threading: periodic_check() runs on the soak's main thread while the workload threads run (it
takes `lock` to sample the orders); the final checks run after every workload thread ended."""

import time

import grpc

FINAL = ("ORDER_STATUS_CONFIRMED", "ORDER_STATUS_FAILED", "ORDER_STATUS_CANCELLED")
MAX_RSS_BYTES = 1 << 30  # per process: far above what a short soak needs, far below a leak's end
RSS_STEP_BYTES = 16 << 20

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


class SoakChecks:
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
                # A cancelled order's compensation problems are only logged by the order service.
                for line in self.placement.stderr_lines("order"):
                    if "cancelled, but" in line and '"%s"' % sku in line:
                        self.violation("  order service: " + line.strip())
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
