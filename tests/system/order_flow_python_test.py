"""The whole order flow (issue 5) through the real percore-server, driven by Python's grpcio, in
both placements:
  one process   one percore-server hosts every service; they call each other in process;
  five processes user, inventory, order and two payment replicas, each its own percore-server on
                 a loopback port; order reaches the others with --peer (gRPC, round_robin).
Each placement runs the same cases: success, unknown user, out of stock, declined payment,
payment timeout (stock released), CreateOrder retried with its idempotency key (one order, one
charge), 50 concurrent orders for the last 10 units, a watch that sees every transition, chat
ordering / cancellation / half-close, and health SERVING for every hosted service. Then: reflection
lists the four services (one process), and --peer errors exit 2 naming the problem. The flow
under faults is order_faults_python_test.py.
Usage: order_flow_python_test.py PATH/TO/percore-server"""

import queue
import sys
import subprocess
import threading
import unittest
import uuid

import grpc

from order_flow_support import ORDER_TIMEOUT, TIMEOUT, FlowHelpers, pb
from percore_py.procfs import asan_built
from placement import SERVICES

SERVER = None


class OrderFlowCases(FlowHelpers):
    """Every case of the flow; a subclass names the placement."""

    @classmethod
    def tearDownClass(cls):
        for name, code in cls.cluster.stop().items():
            if code != 0:
                raise AssertionError("%s exited %s on SIGTERM\n%s"
                                     % (name, code, cls.cluster.stderr()))

    def test_success_confirms_charges_and_takes_the_stock(self):
        user_id = self.new_user()
        sku_a, sku_b = self.new_product(stock=5, price_minor=1250), self.new_product(stock=3,
                                                                                     price_minor=99)
        order = self.create_order(user_id, [(sku_a, 2), (sku_b, 3)], "tok_approve")
        self.assertEqual(self.status_name(order.status), "ORDER_STATUS_CONFIRMED",
                         order.failure_reason)
        self.assertEqual(order.user_id, user_id)
        self.assertEqual(order.total.amount_minor, 2 * 1250 + 3 * 99)
        self.assertEqual(order.total.currency, "USD")
        self.assertEqual([(i.sku, i.quantity, i.unit_price.amount_minor) for i in order.items],
                         [(sku_a, 2, 1250), (sku_b, 3, 99)])
        self.assertTrue(order.reservation_id and order.transaction_id)
        self.assert_stock(sku_a, 3)
        self.assert_stock(sku_b, 0)
        paid = self.payment(order.transaction_id)
        self.assertIsNotNone(paid, "no replica knows transaction " + order.transaction_id)
        self.assertEqual(self.pay_pb.PaymentResult.PaymentStatus.Name(paid.status),
                         "PAYMENT_STATUS_APPROVED")
        self.assertEqual(paid.amount.amount_minor, order.total.amount_minor)
        self.assertEqual(paid.order_id, order.id)
        self.assertEqual(self.get_order(order.id), order)

    def test_unknown_user_is_not_found_and_touches_nothing(self):
        sku = self.new_product(stock=4)
        unknown = "01890a5d-ac96-774b-bcce-b302099a8057"  # well-formed, never issued
        with self.assertRaises(grpc.RpcError) as e:
            self.create_order(unknown, [(sku, 1)], "tok_approve")
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND, e.exception.details())
        self.assertIn(unknown, e.exception.details())
        self.assert_stock(sku, 4)

    def test_out_of_stock_fails_without_charging(self):
        user_id = self.new_user()
        sku = self.new_product(stock=2)
        order = self.create_order(user_id, [(sku, 3)], "tok_approve")
        self.assert_failed(order, "FAILURE_CODE_OUT_OF_STOCK")
        self.assertTrue(order.failure_reason)
        self.assertEqual(order.transaction_id, "")
        self.assert_stock(sku, 2)

    def order_failing_payment(self, quantity, token, failure_code):
        """An order of `quantity` of 4 units in stock, paid with `token`, fails with
        `failure_code` and leaves the stock as it was."""
        user_id = self.new_user()
        sku = self.new_product(stock=4)
        order = self.create_order(user_id, [(sku, quantity)], token)
        self.assert_failed(order, failure_code)
        self.assert_stock(sku, 4)
        return order

    def test_declined_payment_fails_and_releases_the_stock(self):
        self.order_failing_payment(3, "tok_decline", "FAILURE_CODE_PAYMENT_DECLINED")

    def test_payment_timeout_fails_and_releases_the_stock(self):
        order = self.order_failing_payment(1, "tok_timeout", "FAILURE_CODE_PAYMENT_TIMEOUT")
        self.assertEqual(self.status_name(self.get_order(order.id).status), "ORDER_STATUS_FAILED")

    def _sanitized(self):
        return any(asan_built(server.proc.pid) for server in self.cluster.servers.values())

    def test_a_charge_approved_after_the_callers_deadline_is_refunded(self):
        """Issue 15, defect 1: the caller's deadline bounds its wait, not whether the books
        balance. tok_slow approves 200 ms after the request; the caller gives up at 150 ms."""
        user_id = self.new_user()
        sku = self.new_product(stock=4)
        request = self.order_request(user_id, [(sku, 1)], "tok_slow", "late-" + uuid.uuid4().hex)
        try:
            self.orders.CreateOrder(request, timeout=0.15)
            first = None
        except grpc.RpcError as e:
            first = e.code()
        # The same key returns the settled order (after the saga, if it still runs).
        order = self.orders.CreateOrder(request, timeout=ORDER_TIMEOUT)
        failure = self.order_pb.FailureCode.Name(order.failure_code)
        if failure != "FAILURE_CODE_PAYMENT_TIMEOUT" and self._sanitized():
            # Under ASan the saga can spend the 150 ms before it reaches the payment step (the
            # order then fails earlier and nothing was charged): the case needs a charge in
            # flight at the deadline, which the release build always has.
            self.skipTest("the saga did not reach payment within 150 ms under ASan: " + failure)
        self.assertEqual(first, grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assert_failed(order, "FAILURE_CODE_PAYMENT_TIMEOUT")
        self.assert_stock(sku, 4)
        # Asked again with the saga's own request, no replica holds an approved charge: the one
        # that charged answers REFUNDED, any other refuses the voided key.
        charge = self.pay_pb.ProcessPaymentRequest(
            order_id=order.id, amount=order.total,
            method=self.pay_pb.PaymentMethod(token="tok_slow"), idempotency_key=order.id)
        answers = []
        for stub in self.payments:
            try:
                result = stub.ProcessPayment(charge, timeout=TIMEOUT)
                answers.append(self.pay_pb.PaymentResult.PaymentStatus.Name(result.status))
            except grpc.RpcError as err:
                self.assertEqual(err.code(), grpc.StatusCode.FAILED_PRECONDITION, err.details())
                self.assertIn("voided", err.details())
                answers.append("voided")
        self.assertEqual(answers.count("PAYMENT_STATUS_REFUNDED"), 1, answers)
        self.assertNotIn("PAYMENT_STATUS_APPROVED", answers)

    def test_retry_with_the_idempotency_key_makes_one_order_and_one_charge(self):
        user_id = self.new_user()
        sku = self.new_product(stock=5)
        key = "checkout-" + uuid.uuid4().hex
        first = self.create_order(user_id, [(sku, 2)], "tok_approve", key)
        again = self.create_order(user_id, [(sku, 2)], "tok_approve", key)
        self.assertEqual(self.status_name(first.status), "ORDER_STATUS_CONFIRMED")
        self.assertEqual(again.id, first.id)
        self.assertEqual(again.transaction_id, first.transaction_id)
        self.assertEqual(again.status, first.status)
        self.assert_stock(sku, 3)
        # The same key sent concurrently, too: still one order.
        key2 = "checkout-" + uuid.uuid4().hex
        futures = [self.orders.CreateOrder.future(
            self.order_request(user_id, [(sku, 1)], "tok_slow", key2), timeout=ORDER_TIMEOUT)
            for _ in range(4)]
        ids = {f.result().id for f in futures}
        self.assertEqual(len(ids), 1)
        self.assert_stock(sku, 2)

    def test_fifty_concurrent_orders_for_the_last_ten_units(self):
        sku = self.new_product(stock=10)
        users = [self.new_user() for _ in range(5)]
        seen_negative = []
        done = threading.Event()

        def watch_stock():
            while not done.is_set():
                p = self.product(sku)
                if p.stock < 0 or p.available < 0 or p.reserved < 0:
                    seen_negative.append(p)

        poller = threading.Thread(target=watch_stock)
        poller.start()
        try:
            futures = [self.orders.CreateOrder.future(
                self.order_request(users[i % len(users)], [(sku, 1)], "tok_approve"),
                timeout=ORDER_TIMEOUT * 2) for i in range(50)]
            results = [f.result() for f in futures]
        finally:
            done.set()
            poller.join()
        statuses = [self.status_name(o.status) for o in results]
        self.assertEqual(statuses.count("ORDER_STATUS_CONFIRMED"), 10, statuses)
        self.assertEqual(statuses.count("ORDER_STATUS_FAILED"), 40, statuses)
        for o in results:
            if o.status == self.order_pb.ORDER_STATUS_FAILED:
                self.assertEqual(self.order_pb.FailureCode.Name(o.failure_code),
                                 "FAILURE_CODE_OUT_OF_STOCK", o.failure_reason)
        self.assertEqual(len({o.id for o in results}), 50)
        self.assertEqual(seen_negative, [])
        self.assert_stock(sku, 0)

    def collect_updates(self, call, until_statuses):
        """Updates from a watch until one has a status in `until_statuses`."""
        updates = []
        for update in call:
            updates.append(update)
            if update.status in until_statuses:
                break
        return updates

    def test_watch_sees_every_transition(self):
        o = self.order_pb
        user_id = self.new_user()
        sku = self.new_product(stock=5)
        call = self.orders.WatchOrderUpdates(o.WatchOrderUpdatesRequest(user_id=user_id),
                                             timeout=ORDER_TIMEOUT)
        try:
            call.initial_metadata()  # the watch is registered
            confirmed = self.create_order(user_id, [(sku, 1)], "tok_approve")
            declined = self.create_order(user_id, [(sku, 1)], "tok_decline")
            updates = self.collect_updates(call, {o.ORDER_STATUS_CONFIRMED})
            updates += self.collect_updates(call, {o.ORDER_STATUS_FAILED})
        finally:
            call.cancel()
        by_order = {}
        for u in updates:
            by_order.setdefault(u.order_id, []).append(
                (self.status_name(u.previous_status), self.status_name(u.status)))
            self.assertEqual(u.order.status, u.status)
        self.assertEqual(by_order[confirmed.id], [
            ("ORDER_STATUS_UNSPECIFIED", "ORDER_STATUS_PENDING"),
            ("ORDER_STATUS_PENDING", "ORDER_STATUS_RESERVED"),
            ("ORDER_STATUS_RESERVED", "ORDER_STATUS_PAID"),
            ("ORDER_STATUS_PAID", "ORDER_STATUS_CONFIRMED")])
        self.assertEqual(by_order[declined.id], [
            ("ORDER_STATUS_UNSPECIFIED", "ORDER_STATUS_PENDING"),
            ("ORDER_STATUS_PENDING", "ORDER_STATUS_RESERVED"),
            ("ORDER_STATUS_RESERVED", "ORDER_STATUS_FAILED")])
        # The updates of one order arrive in order, all of the first before the second began.
        self.assertEqual([u.order_id for u in updates], [confirmed.id] * 4 + [declined.id] * 3)

        # A watch of one order that has already failed ends OK.
        ended = list(self.orders.WatchOrderUpdates(
            o.WatchOrderUpdatesRequest(order_id=declined.id), timeout=TIMEOUT))
        self.assertTrue(all(u.order_id == declined.id for u in ended))

    def test_chat_answers_in_order_and_ends_on_half_close(self):
        o = self.order_pb
        user_id = self.new_user()
        sku = self.new_product(stock=5)
        order = self.create_order(user_id, [(sku, 1)], "tok_approve")
        texts = ["help", "status " + order.id, "hello there"] * 10
        messages = [o.ChatMessage(message_id=i + 1, text=t, user_id=user_id)
                    for i, t in enumerate(texts)]
        # A list as the request iterator: every message sent, then the send side closed.
        call = self.orders.ChatSession(iter(messages), timeout=TIMEOUT)
        replies = list(call)
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.assertEqual([r.in_reply_to for r in replies], list(range(1, len(messages) + 1)))
        for message, reply in zip(messages, replies):
            self.assertTrue(reply.text, message.text)
            if message.text.startswith("status "):
                self.assertEqual(reply.order_id, order.id)
                self.assertEqual(reply.order_status, o.ORDER_STATUS_CONFIRMED)

    def test_chat_cancelled_by_the_client(self):
        o = self.order_pb
        outbox = queue.Queue()

        def requests():
            while True:
                message = outbox.get()
                if message is None:
                    return
                yield message

        call = self.orders.ChatSession(requests(), timeout=TIMEOUT)
        try:
            outbox.put(o.ChatMessage(message_id=7, text="help"))
            first = next(call)
            self.assertEqual(first.in_reply_to, 7)
            call.cancel()
            with self.assertRaises(grpc.RpcError) as e:
                next(call)
            self.assertEqual(e.exception.code(), grpc.StatusCode.CANCELLED)
        finally:
            outbox.put(None)
        # The service carries on: a new session is answered.
        replies = list(self.orders.ChatSession(iter([o.ChatMessage(message_id=1, text="help")]),
                                               timeout=TIMEOUT))
        self.assertEqual([r.in_reply_to for r in replies], [1])

    def test_health_reports_each_service_serving(self):
        health = pb("grpc.health.v1.health_pb2")
        health_grpc = pb("grpc.health.v1.health_pb2_grpc")
        for server, names in self.cluster.hosted():
            stub = health_grpc.HealthStub(server.channel)
            for name in names + [""]:
                r = stub.Check(health.HealthCheckRequest(service=name), timeout=TIMEOUT)
                self.assertEqual(r.status, health.HealthCheckResponse.SERVING, name)
            if self.placement == "five":
                # Each process hosts only its own service.
                other = [n for n in SERVICES.values() if n not in names][0]
                with self.assertRaises(grpc.RpcError) as e:
                    stub.Check(health.HealthCheckRequest(service=other), timeout=TIMEOUT)
                self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)


class OneProcessOrderFlow(OrderFlowCases, unittest.TestCase):
    placement = "one"

    def test_reflection_lists_the_four_services(self):
        refl = pb("grpc.reflection.v1alpha.reflection_pb2")
        refl_grpc = pb("grpc.reflection.v1alpha.reflection_pb2_grpc")
        stub = refl_grpc.ServerReflectionStub(self.cluster.channel("order"))
        responses = list(stub.ServerReflectionInfo(
            iter([refl.ServerReflectionRequest(list_services="")]), timeout=TIMEOUT))
        listed = {s.name for s in responses[0].list_services_response.service}
        for name in SERVICES.values():
            self.assertIn(name, listed)
        first_line = self.cluster.servers["all"].first_line
        for name in SERVICES.values():
            self.assertIn(name, first_line)


class FiveProcessOrderFlow(OrderFlowCases, unittest.TestCase):
    placement = "five"

    def test_payments_are_spread_over_both_replicas(self):
        user_id = self.new_user()
        sku = self.new_product(stock=100)
        orders = [self.create_order(user_id, [(sku, 1)], "tok_approve") for _ in range(12)]
        where = []
        for order in orders:
            self.assertEqual(self.status_name(order.status), "ORDER_STATUS_CONFIRMED")
            holders = self.payment_holders(order.transaction_id)
            self.assertEqual(len(holders), 1, order.transaction_id)
            where += holders
        self.assertEqual(set(where), {0, 1}, where)


class PeerFlagErrors(unittest.TestCase):
    """Start-up errors of the placement flags: exit 2 and a message naming the problem."""

    def run_server(self, *flags):
        proc = subprocess.run([SERVER, "--listen", "127.0.0.1:0", *flags],
                              capture_output=True, text=True, timeout=TIMEOUT)
        return proc.returncode, proc.stderr

    def test_errors_exit_2_naming_the_bad_part(self):
        cases = [
            (["--peer", "payment"], ["--peer", '"payment"']),
            (["--peer", "payment=127.0.0.1"], ["--peer", '"127.0.0.1"']),
            (["--peer", "payment=127.0.0.1:70000"], ["--peer", '"127.0.0.1:70000"']),
            (["--peer", "bank=127.0.0.1:1"], ["--peer", 'unknown service "bank"']),
            (["--services", "order"], ["order needs user", "--peer user=HOST:PORT"]),
            (["--services", "order", "--peer", "user=127.0.0.1:1",
              "--peer", "inventory=127.0.0.1:2"], ["order needs payment"]),
            (["--services", "user,order", "--peer", "user=127.0.0.1:1"],
             ["--peer user", "hosted"]),
            (["--peer", "payment=no-such-host.invalid:1", "--services", "order",
              "--peer", "user=127.0.0.1:1", "--peer", "inventory=127.0.0.1:2"],
             ["--peer payment", "no-such-host.invalid"]),
        ]
        for flags, needles in cases:
            code, err = self.run_server(*flags)
            self.assertEqual(code, 2, (flags, err))
            for needle in needles:
                self.assertIn(needle, err, flags)

    def test_help_describes_peer(self):
        proc = subprocess.run([SERVER, "--help"], capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 0)
        self.assertIn("--peer SERVICE=HOST:PORT[,HOST:PORT...]", proc.stdout)
        for short in SERVICES:
            self.assertIn(short, proc.stdout)


if __name__ == "__main__":
    SERVER = FlowHelpers.binary = sys.argv.pop(1)
    unittest.main(verbosity=2)
