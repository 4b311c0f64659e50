"""The order flow under faults, five processes (user, inventory, order, two payment replicas):
a payment replica SIGKILLed in the middle of a stream of orders and started again (no order
left PENDING, RESERVED or PAID, none FAILED keeps a charge; orders after it is back are
CONFIRMED), and the cancel of an order whose payment's replica came back empty
(FAILED_PRECONDITION, for good).
Usage: order_faults_python_test.py PATH/TO/percore-server"""

import sys
import threading
import time
import unittest

import grpc

from order_flow_support import ORDER_TIMEOUT, POLL_BOUND, TIMEOUT, FlowHelpers, pb


class PaymentHolderGone(FlowHelpers, unittest.TestCase):
    """Issue 15, defect 7: the cancel of a CONFIRMED order whose payment no replica knows any
    more (its replica restarted with an empty ledger) is refused for good, FAILED_PRECONDITION,
    not UNAVAILABLE inviting retries forever."""

    def test_cancel_of_an_order_whose_payment_was_lost_is_failed_precondition(self):
        user_id = self.new_user()
        sku = self.new_product(stock=3)
        order = self.create_order(user_id, [(sku, 1)], "tok_approve")
        self.assertEqual(self.status_name(order.status), "ORDER_STATUS_CONFIRMED")
        holders = self.payment_holders(order.transaction_id)
        self.assertEqual(len(holders), 1, order.transaction_id)
        # The holder crashes and comes back on its port with nothing in memory.
        self.cluster.restart_payment("payment-%d" % holders[0])
        with self.assertRaises(grpc.RpcError) as e:
            self.orders.CancelOrder(self.order_pb.CancelOrderRequest(id=order.id),
                                    timeout=ORDER_TIMEOUT)
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION,
                         e.exception.details())
        self.assertNotIn("retry", e.exception.details())
        self.assertIn(order.transaction_id, e.exception.details())
        self.assertEqual(self.status_name(self.get_order(order.id).status),
                         "ORDER_STATUS_CONFIRMED")


class PaymentReplicaKilled(FlowHelpers, unittest.TestCase):
    """Five processes; a steady stream of orders (tok_approve and tok_slow) while one payment
    replica is SIGKILLed and, a moment later, started again. A charge goes to the replica that
    owns its key, never to the other (which could approve it a second time), so the orders of
    the dead replica's keys wait for it or fail with no charge kept; no order is left half-way,
    and once it is back every order is CONFIRMED."""

    def test_no_order_is_left_half_way_and_orders_resume_when_the_replica_is_back(self):
        users = [self.new_user() for _ in range(4)]
        sku = self.new_product(stock=100000)
        lock = threading.Lock()
        created = []  # (started after the restart?, order id or None, error)
        killed = threading.Event()
        stop = threading.Event()

        def client(index):
            n = 0
            while not stop.is_set():
                after_kill = killed.is_set()
                token = "tok_slow" if (index + n) % 2 else "tok_approve"
                n += 1
                try:
                    order = self.create_order(users[index % len(users)], [(sku, 1)], token)
                    with lock:
                        created.append((after_kill, order.id, None))
                except grpc.RpcError as e:
                    with lock:
                        created.append((after_kill, None, "%s %s" % (e.code(), e.details())))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        try:
            self.wait_until(lambda: len(created) >= 20, "orders before the kill")
            self.cluster.kill("payment-1")
            time.sleep(1.0)  # orders meanwhile: those of payment-1's keys wait or fail
            self.cluster.start_again("payment-1")  # empty: no --data-dir here
            killed.set()
            with lock:
                mark = len(created)
            self.wait_until(lambda: len(created) >= mark + 30, "orders after the restart")
        finally:
            stop.set()
            for t in threads:
                t.join()

        errors = [e for _, _, e in created if e]
        self.assertEqual(errors, [], "CreateOrder itself failed")
        final = {}
        for _, order_id, _ in created:
            final[order_id] = self.wait_for_final(order_id)
        for order_id, status in final.items():
            self.assertIn(status, ("ORDER_STATUS_CONFIRMED", "ORDER_STATUS_FAILED"), order_id)
        after = [(order_id, final[order_id]) for after_kill, order_id, _ in created if after_kill]
        self.assertGreaterEqual(len(after), 30)
        self.assertEqual([a for a in after if a[1] != "ORDER_STATUS_CONFIRMED"], [])
        # No FAILED order keeps an approved charge on a replica (payment-1's ledger before its
        # kill is gone with it; what it approved since is in its new one).
        approved = self.pay_pb.PaymentResult.PAYMENT_STATUS_APPROVED
        for order_id, status in final.items():
            if status != "ORDER_STATUS_FAILED":
                continue
            for server in self.cluster.payment_servers():
                stub = pb("payment.v1.payment_pb2_grpc").PaymentServiceStub(server.channel)
                try:
                    r = stub.GetPayment(self.pay_pb.GetPaymentRequest(idempotency_key=order_id),
                                        timeout=TIMEOUT)
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), grpc.StatusCode.NOT_FOUND, e.details())
                    continue
                self.assertNotEqual(r.status, approved, "FAILED order %s" % order_id)

        # Both replicas answer health; the process that called the dead replica is fine too.
        health = pb("grpc.health.v1.health_pb2")
        health_grpc = pb("grpc.health.v1.health_pb2_grpc")
        for name in ("payment-0", "payment-1", "order"):
            r = health_grpc.HealthStub(self.cluster.servers[name].channel).Check(
                health.HealthCheckRequest(service=""), timeout=TIMEOUT)
            self.assertEqual(r.status, health.HealthCheckResponse.SERVING, name)

    def wait_until(self, condition, what):
        deadline = time.monotonic() + POLL_BOUND * 2
        while not condition():
            if time.monotonic() > deadline:
                self.fail("gave up waiting for " + what)
            time.sleep(0.05)

    def wait_for_final(self, order_id):
        """The order's status once it is no longer PENDING, RESERVED or PAID (polled, bounded)."""
        deadline = time.monotonic() + POLL_BOUND
        while True:
            status = self.status_name(self.get_order(order_id).status)
            if status not in ("ORDER_STATUS_PENDING", "ORDER_STATUS_RESERVED",
                              "ORDER_STATUS_PAID") or time.monotonic() > deadline:
                return status
            time.sleep(0.05)


if __name__ == "__main__":
    FlowHelpers.binary = sys.argv.pop(1)
    unittest.main(verbosity=2)
