"""Durable inventory and payments (--data-dir) on the real percore-server, driven by Python
grpcio, under --fsync always:
- products, stock adjustments, reservations (held, committed, released) and payments
  (approved, declined, refunded, voided) the client saw acknowledged survive kill -9, over
  rounds restarted with a different --shards; ReserveStock and ProcessPayment with a used key
  return the recorded reservation / payment; Commit/Release/Refund by id still work;
- kill -9 during a load of reserves, commits and releases: afterwards every SKU balances (stock =
  initial - committed units, reserved = held units) and nothing acknowledged was lost;
- a held reservation keeps its expiry across a restart and still expires (its stock comes back);
- a payment the processor had not answered at the crash is recorded VOIDED, never approved;
- a clean stop (SIGTERM) under the default --fsync everysec keeps everything;
- snapshots while serving (--snapshot-every 4096): kill -9 during reservations and payments
  with snapshots being taken, twice, restarted with other --shards: every SKU balances and each
  idempotency key has exactly its one payment.
Usage: durability_commerce_python_test.py PATH/TO/percore-server"""

import os
import random
import sys
import threading
import time
import unittest

import grpc
from google.protobuf import duration_pb2

from durability_support import DataDirTest, kill_mid_load
from percore_py.server import Server
from percore_py.stubs import stub_module, stub_modules

SERVER = None
inv_pb2, inv_grpc, pay_pb2, pay_grpc, money_pb2 = None, None, None, None, None

HELD, COMMITTED, RELEASED, EXPIRED = 1, 2, 3, 4
INITIAL = 1000
# The load's SKUs hold enough that no load runs them out: a reservation refused for stock ends its
# loader early (and on a fast machine 1000 each did run out).
LOAD_INITIAL = 1000000
SKUS = ["sku-%02d" % i for i in range(12)]
LOAD_SKUS = SKUS[6:]  # the load's; the first six are for the reservations made by hand


def initial_stock(sku):
    return LOAD_INITIAL if sku in LOAD_SKUS else INITIAL


def eur(minor):
    return money_pb2.Money(amount_minor=minor, currency="EUR")


def reserve_request(key, lines, ttl_seconds=600):
    return inv_pb2.ReserveStockRequest(
        reservation_key=key,
        lines=[inv_pb2.StockLine(sku=s, quantity=q) for s, q in lines],
        ttl=duration_pb2.Duration(seconds=ttl_seconds))


def pay_request(key, token="tok_approve", amount=1299):
    return pay_pb2.ProcessPaymentRequest(
        order_id="order-" + key, amount=eur(amount),
        method=pay_pb2.PaymentMethod(token=token), idempotency_key=key)


class Loader(threading.Thread):
    """Reserves, commits and releases on random SKUs until the server dies. `known` maps each
    reservation key it ever sent to its lines (acknowledged or not); `acked` to the state the
    client saw acknowledged last."""

    def __init__(self, address, tag):
        super().__init__(daemon=True)
        self.channel = grpc.insecure_channel(address)
        self.stub = inv_grpc.InventoryServiceStub(self.channel)
        self.rng = random.Random(tag)
        self.tag = tag
        self.known, self.acked, self.ids = {}, {}, {}
        self.in_flight = None  # the key whose outcome the kill made unknown

    def run(self):
        n = 0
        while True:
            n += 1
            try:
                held = [k for k, s in self.acked.items() if s == HELD]
                if not held or self.rng.random() < 0.5:
                    key = "%s-%d" % (self.tag, n)
                    lines = [(s, self.rng.randint(1, 3)) for s in self.rng.sample(LOAD_SKUS, 2)]
                    self.known[key] = lines
                    self.in_flight = key
                    r = self.stub.ReserveStock(reserve_request(key, lines), timeout=5)
                    self.ids[key] = r.id
                    self.acked[key] = r.state
                else:
                    key = self.rng.choice(held)
                    self.in_flight = key
                    if self.rng.random() < 0.5:
                        r = self.stub.CommitReservation(inv_pb2.CommitReservationRequest(
                            reservation_id=self.ids[key]), timeout=5)
                    else:
                        r = self.stub.ReleaseReservation(inv_pb2.ReleaseReservationRequest(
                            reservation_id=self.ids[key]), timeout=5)
                    self.acked[key] = r.state
                self.in_flight = None
            except grpc.RpcError:
                return


class PayLoader(threading.Thread):
    """Pays under fresh keys (approved at once or late) until the server dies. `sent` maps every
    key sent to its token; `acked` to the transaction id the client saw."""

    def __init__(self, address, tag):
        super().__init__(daemon=True)
        self.channel = grpc.insecure_channel(address)
        self.stub = pay_grpc.PaymentServiceStub(self.channel)
        self.rng = random.Random(tag)
        self.tag = tag
        self.sent, self.acked = {}, {}

    def run(self):
        n = 0
        while True:
            n += 1
            key = "%s-%d" % (self.tag, n)
            token = self.rng.choice(("tok_approve", "tok_approve", "tok_slow", "tok_decline"))
            self.sent[key] = token
            try:
                self.acked[key] = self.stub.ProcessPayment(pay_request(key, token),
                                                           timeout=5).transaction_id
            except grpc.RpcError:
                return


class CommerceDurability(DataDirTest):
    PREFIX = "percore-commerce-durability-"

    def start(self, shards, fsync="always", *extra):
        server = Server(SERVER, "--shards", str(shards), "--services", "inventory,payment",
                        "--data-dir", self.data, "--fsync", fsync, *extra)
        return (server, inv_grpc.InventoryServiceStub(server.channel),
                pay_grpc.PaymentServiceStub(server.channel))

    def product(self, inv, sku):
        return inv.GetProduct(inv_pb2.GetProductRequest(sku=sku), timeout=5)

    def load_states(self, inv, loaders, where):
        """{key: (state, lines)} of every reservation the loaders tried, read back through the
        key; each one acknowledged must have its id and state. A key the server never recorded
        (its call cut by the kill) reserves afresh now, or is refused for stock: then it holds
        nothing."""
        states = {}
        for loader in loaders:
            for key, lines in loader.known.items():
                try:
                    r = inv.ReserveStock(reserve_request(key, lines), timeout=5)
                except grpc.RpcError as e:
                    if key in loader.acked or e.code() != grpc.StatusCode.FAILED_PRECONDITION:
                        raise
                    continue
                states[key] = (r.state, lines)
                if key in loader.acked and key != loader.in_flight:
                    self.assertEqual((r.id, r.state), (loader.ids[key], loader.acked[key]),
                                     "%s: reservation %s lost its state" % (where, key))
        return states

    def assert_balanced(self, inv, states, initial, where):
        """Every SKU of `initial`: stock = initial - committed units, reserved = held units."""
        for sku, start in initial.items():
            sold = sum(q for s, lines in states.values() if s == COMMITTED
                       for k, q in lines if k == sku)
            holding = sum(q for s, lines in states.values() if s == HELD
                          for k, q in lines if k == sku)
            p = self.product(inv, sku)
            self.assertEqual((p.stock, p.reserved, p.available),
                             (start - sold, holding, start - sold - holding),
                             "%s: %s does not balance" % (where, sku))

    def test_acknowledged_commerce_survives_kill_9_across_shard_counts(self):
        server, inv, pay = self.start(2)
        for sku in SKUS:
            inv.CreateProduct(inv_pb2.CreateProductRequest(
                sku=sku, name="Widget " + sku, price=eur(250), initial_stock=initial_stock(sku)),
                timeout=5)
        adjusted = inv.AdjustStock(inv_pb2.AdjustStockRequest(sku=SKUS[0], delta=50), timeout=5)
        self.assertEqual(adjusted.stock, INITIAL + 50)
        initial = {sku: initial_stock(sku) for sku in SKUS}
        initial[SKUS[0]] += 50
        # Reservations in every state, by hand.
        held = inv.ReserveStock(reserve_request("held", [(SKUS[1], 5)]), timeout=5)
        to_commit = inv.ReserveStock(reserve_request("commit-later", [(SKUS[2], 4)]), timeout=5)
        committed = inv.ReserveStock(reserve_request("committed", [(SKUS[3], 3)]), timeout=5)
        inv.CommitReservation(inv_pb2.CommitReservationRequest(reservation_id=committed.id),
                              timeout=5)
        released = inv.ReserveStock(reserve_request("released", [(SKUS[4], 2)]), timeout=5)
        inv.ReleaseReservation(inv_pb2.ReleaseReservationRequest(reservation_id=released.id),
                               timeout=5)
        # Payments in every state.
        approved = pay.ProcessPayment(pay_request("approved"), timeout=5)
        declined = pay.ProcessPayment(pay_request("declined", "tok_decline"), timeout=5)
        refunded = pay.ProcessPayment(pay_request("refunded"), timeout=5)
        pay.RefundPayment(pay_pb2.RefundPaymentRequest(transaction_id=refunded.transaction_id),
                          timeout=5)
        slow = pay.ProcessPayment(pay_request("slow", "tok_slow"), timeout=10)
        self.assertEqual(slow.status, pay_pb2.PaymentResult.PAYMENT_STATUS_APPROVED)
        refund_later = pay.ProcessPayment(pay_request("refund-later"), timeout=5)
        pay.VoidPayment(pay_pb2.VoidPaymentRequest(idempotency_key="voided-key"), timeout=5)
        # A payment the processor never answers, in flight at the crash.
        hanging = pay.ProcessPayment.future(pay_request("hanging", "tok_timeout"), timeout=60)
        # Held at the kill 1.5 s from now (made last: the calls above take seconds on a loaded
        # sanitizer build), expired after the restart.
        short = inv.ReserveStock(reserve_request("short", [(SKUS[5], 7)], ttl_seconds=3),
                                 timeout=5)
        # Load, then kill -9 in the middle of it.
        loaders = [Loader(server.address, "load%d" % i) for i in range(3)]
        kill_mid_load(server, loaders)
        for loader in loaders:
            loader.channel.close()
        self.assertRaises(grpc.RpcError, hanging.result)
        self.assertGreater(sum(len(l.acked) for l in loaders), 10, "the load did not run")

        for round_number, shards in enumerate((3, 1)):
            server, inv, pay = self.start(shards)
            where = "round %d (--shards %d)" % (round_number, shards)
            # Reservations: a used key returns the recorded reservation, in its state.
            again = inv.ReserveStock(reserve_request("held", [(SKUS[1], 5)]), timeout=5)
            self.assertEqual((again.id, again.state), (held.id, HELD), where)
            again = inv.ReserveStock(reserve_request("committed", [(SKUS[3], 3)]), timeout=5)
            self.assertEqual((again.id, again.state), (committed.id, COMMITTED), where)
            again = inv.ReserveStock(reserve_request("released", [(SKUS[4], 2)]), timeout=5)
            self.assertEqual((again.id, again.state), (released.id, RELEASED), where)
            # Payments: a used key returns the recorded payment; lookups by id work.
            for first in (approved, declined, slow, refund_later):
                again = pay.ProcessPayment(pay_request(
                    first.idempotency_key,
                    "tok_decline" if first is declined else
                    "tok_slow" if first is slow else "tok_approve"), timeout=5)
                self.assertEqual((again.transaction_id, again.status),
                                 (first.transaction_id, first.status), where)
                got = pay.GetPayment(pay_pb2.GetPaymentRequest(
                    transaction_id=first.transaction_id), timeout=5)
                self.assertEqual(got.status, first.status, where)
            got = pay.GetPayment(pay_pb2.GetPaymentRequest(
                transaction_id=refunded.transaction_id), timeout=5)
            self.assertEqual(got.status, pay_pb2.PaymentResult.PAYMENT_STATUS_REFUNDED, where)
            with self.assertRaises(grpc.RpcError) as refused:
                pay.ProcessPayment(pay_request("voided-key"), timeout=5)
            self.assertEqual(refused.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
            # The payment the processor had not answered: VOIDED, never approved.
            hung = pay.ProcessPayment(pay_request("hanging", "tok_timeout"), timeout=5)
            self.assertEqual(hung.status, pay_pb2.PaymentResult.PAYMENT_STATUS_VOIDED, where)
            self.assertIn("voided at recovery", hung.decline_reason)
            if round_number == 0:
                # Writes by id after the restart.
                done = inv.CommitReservation(inv_pb2.CommitReservationRequest(
                    reservation_id=to_commit.id), timeout=5)
                self.assertEqual(done.state, COMMITTED)
                back = pay.RefundPayment(pay_pb2.RefundPaymentRequest(
                    transaction_id=refund_later.transaction_id), timeout=5)
                self.assertEqual(back.status, pay_pb2.PaymentResult.PAYMENT_STATUS_REFUNDED)
                refund_later = back
                # The short reservation kept its expiry and expires after the restart.
                deadline = time.time() + 15
                while self.product(inv, SKUS[5]).reserved != 0 and time.time() < deadline:
                    time.sleep(0.2)
                self.assertEqual(self.product(inv, SKUS[5]).reserved, 0, "never expired")
                again = inv.ReserveStock(reserve_request("short", [(SKUS[5], 7)], 3), timeout=5)
                self.assertEqual((again.id, again.state), (short.id, EXPIRED))
            else:
                again = inv.ReserveStock(reserve_request("commit-later", [(SKUS[2], 4)]),
                                         timeout=5)
                self.assertEqual(again.state, COMMITTED, where)
            if round_number == 0:
                # By id after re-placement (ids drawn for 2 shards, records placed for 3): the
                # held ones of the load are released through their ids.
                moved = 0
                for loader in loaders:
                    for key, state in list(loader.acked.items()):
                        if state != HELD or key == loader.in_flight:
                            continue
                        r = inv.ReleaseReservation(inv_pb2.ReleaseReservationRequest(
                            reservation_id=loader.ids[key]), timeout=5)
                        self.assertEqual(r.state, RELEASED, where)
                        loader.acked[key] = RELEASED
                        moved += 1
                self.assertGreater(moved, 3, "too few held reservations to release by id")
            # The load: every acknowledged state is there (read back through the key), and the
            # stock balances over every reservation ever tried.
            states = self.load_states(inv, loaders, where)
            states["held"] = (HELD, [(SKUS[1], 5)])
            states["commit-later"] = (COMMITTED, [(SKUS[2], 4)])
            states["committed"] = (COMMITTED, [(SKUS[3], 3)])
            self.assert_balanced(inv, states, initial, where)
            server.kill()

    def cut_segments(self, store):
        """The store's log segments named by their cut (shard-N.CUT.log)."""
        return [name for _, _, names in os.walk(os.path.join(self.data, store))
                for name in names if name.count(".") == 2 and name.endswith(".log")]

    def test_snapshots_while_serving_survive_kill_9(self):
        server, inv, pay = self.start(2, "always", "--snapshot-every", "4096")
        for sku in LOAD_SKUS:
            inv.CreateProduct(inv_pb2.CreateProductRequest(
                sku=sku, name="Widget " + sku, price=eur(250), initial_stock=LOAD_INITIAL),
                timeout=5)
        loaders, payers = [], []
        for round_number, shards in enumerate((3, 1)):
            loaders += [Loader(server.address, "r%d-load%d" % (round_number, i))
                        for i in range(2)]
            payers += [PayLoader(server.address, "r%d-pay%d" % (round_number, i))
                       for i in range(2)]
            for worker in loaders[-2:] + payers[-2:]:
                worker.start()
            # Several snapshots per store at 4 KiB of log each; on a slow machine (fsync always,
            # the payers' 200 ms tokens) the load goes on until both logs were cut.
            time.sleep(2.5)
            deadline = time.time() + 30
            while time.time() < deadline and not all(self.cut_segments(store)
                                                     for store in ("inventory", "payments")):
                time.sleep(0.1)
            server.kill()
            for worker in loaders + payers:
                worker.join(timeout=10)
                worker.channel.close()
            # The logs were cut while serving: segments named by their cut exist.
            for store in ("inventory", "payments"):
                self.assertTrue(self.cut_segments(store), "round %d: no %s snapshot while serving"
                                % (round_number, store))
            server, inv, pay = self.start(shards, "always", "--snapshot-every", "4096")
            where = "round %d (--shards %d)" % (round_number, shards)
            states = self.load_states(inv, loaders, where)
            self.assert_balanced(inv, states, {sku: LOAD_INITIAL for sku in LOAD_SKUS},
                                 where)
            # One payment per key: a retry returns the acknowledged transaction, never a second.
            charged = 0
            for payer in payers:
                for key, token in payer.sent.items():
                    r = pay.ProcessPayment(pay_request(key, token), timeout=10)
                    if key in payer.acked:
                        self.assertEqual(r.transaction_id, payer.acked[key],
                                         "%s: key %s paid twice" % (where, key))
                    got = pay.GetPayment(pay_pb2.GetPaymentRequest(
                        transaction_id=r.transaction_id), timeout=5)
                    self.assertEqual((got.idempotency_key, got.status), (key, r.status), where)
                    charged += r.status == pay_pb2.PaymentResult.PAYMENT_STATUS_APPROVED
            self.assertGreater(charged, 20, "too few payments")
            self.assertGreater(len(states), 20, "too few reservations")
        server.kill()

    def test_clean_stop_under_everysec_keeps_everything(self):
        server, inv, pay = self.start(2, fsync="everysec")
        inv.CreateProduct(inv_pb2.CreateProductRequest(
            sku="calm", name="Calm", price=eur(100), initial_stock=10), timeout=5)
        held = inv.ReserveStock(reserve_request("calm-key", [("calm", 4)]), timeout=5)
        paid = pay.ProcessPayment(pay_request("calm-pay"), timeout=5)
        self.assertEqual(server.stop(), 0)
        server, inv, pay = self.start(2, fsync="everysec")
        p = self.product(inv, "calm")
        self.assertEqual((p.stock, p.reserved), (10, 4))
        again = inv.ReserveStock(reserve_request("calm-key", [("calm", 4)]), timeout=5)
        self.assertEqual((again.id, again.state), (held.id, HELD))
        got = pay.GetPayment(pay_pb2.GetPaymentRequest(transaction_id=paid.transaction_id),
                             timeout=5)
        self.assertEqual(got.status, pay_pb2.PaymentResult.PAYMENT_STATUS_APPROVED)
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    SERVER = os.path.abspath(sys.argv.pop(1))
    inv_pb2, inv_grpc = stub_modules("inventory.v1.inventory")
    pay_pb2, pay_grpc = stub_modules("payment.v1.payment")
    money_pb2 = stub_module("commerce.v1.money_pb2")
    unittest.main()
