"""Retention of history (--idempotency-retention, issue 10) on the real percore-server with
--data-dir: ended reservations and payment records are forgotten once the retention has passed
since their last change (percore_storage_rows falls to the held/new ones), a held reservation is
kept, and after kill -9 recovery does not bring the forgotten ones back: their keys start a new
reservation / payment, while a key used within the retention still returns the first.
Usage: retention_python_test.py PATH/TO/percore-server"""

import os
import sys
import time
import unittest

from google.protobuf import duration_pb2

from durability_support import DataDirTest
from percore_py import admin
from percore_py.stubs import stub_module, stub_modules

SERVER = None
HELD, COMMITTED, RELEASED = 1, 2, 3


def rows(port, table):
    return admin.total(port, "percore_storage_rows", table=table)


def eur(minor):
    return money_pb2.Money(amount_minor=minor, currency="EUR")


def reserve(inv, key, quantity=1):
    return inv.ReserveStock(inv_pb2.ReserveStockRequest(
        reservation_key=key, lines=[inv_pb2.StockLine(sku="kept", quantity=quantity)],
        ttl=duration_pb2.Duration(seconds=600)), timeout=10)


def pay(stub, key):
    return stub.ProcessPayment(pay_pb2.ProcessPaymentRequest(
        order_id="order-" + key, amount=eur(500), method=pay_pb2.PaymentMethod(token="tok_approve"),
        idempotency_key=key), timeout=10)


class Retention(DataDirTest):
    PREFIX = "percore-retention-"

    def start(self, retention):
        server, port = admin.start_with_admin(
            SERVER, "--services", "inventory,payment", "--shards", "2", "--data-dir",
            self.data, "--fsync", "always",
            "--idempotency-retention", retention)
        return (server, port, inv_grpc.InventoryServiceStub(server.channel),
                pay_grpc.PaymentServiceStub(server.channel))

    def wait_rows(self, port, table, value):
        deadline = time.monotonic() + 30
        while rows(port, table) != value and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(rows(port, table), value, table)

    def test_ended_history_is_forgotten_and_stays_forgotten(self):
        # Long enough for the 18 fsynced calls below to finish before the first ended row may
        # go (on a loaded sanitizer build with a busy disk they can take most of 2 s).
        server, port, inv, payments = self.start("4s")
        inv.CreateProduct(inv_pb2.CreateProductRequest(
            sku="kept", name="Kept", price=eur(100), initial_stock=100), timeout=10)
        old = {}
        for i in range(6):
            r = reserve(inv, "old-%d" % i)
            done = (inv.CommitReservation(inv_pb2.CommitReservationRequest(reservation_id=r.id),
                                          timeout=10) if i % 2 else
                    inv.ReleaseReservation(inv_pb2.ReleaseReservationRequest(
                        reservation_id=r.id), timeout=10))
            old["old-%d" % i] = (r.id, done.state)
            old_payment = pay(payments, "pay-old-%d" % i)
        held = reserve(inv, "held", 2)
        self.assertEqual(rows(port, "reservations"), 7)
        self.assertEqual(rows(port, "payments"), 6)
        # The sweeps (every second at 4s) forget the ended ones; the held one stays.
        self.wait_rows(port, "reservations", 1)
        self.wait_rows(port, "payments", 0)
        again = reserve(inv, "held", 2)
        self.assertEqual((again.id, again.state), (held.id, HELD))
        # The sweeps' drop records answer no call: under --fsync always their batch is synced
        # as soon as it is handed off; give the writers a moment before the kill.
        time.sleep(1)
        server.kill()

        # Recovery (a long retention now, so nothing else expires) does not resurrect them.
        server, port, inv, payments = self.start("1h")
        self.assertEqual(rows(port, "reservations"), 1)
        self.assertEqual(rows(port, "payments"), 0)
        for key, (first_id, _) in old.items():
            r = reserve(inv, key)
            self.assertNotEqual(r.id, first_id, key)  # a new reservation under the old key
            self.assertEqual(r.state, HELD)
        fresh = pay(payments, "pay-old-5")
        self.assertNotEqual(fresh.transaction_id, old_payment.transaction_id)
        # Within the retention a key still returns the first.
        self.assertEqual(pay(payments, "pay-old-5").transaction_id, fresh.transaction_id)
        p = inv.GetProduct(inv_pb2.GetProductRequest(sku="kept"), timeout=10)
        self.assertEqual((p.stock, p.reserved), (100 - 3, 2 + 6))  # 3 committed, 8 held
        server.kill()


if __name__ == "__main__":
    SERVER = os.path.abspath(sys.argv.pop(1))
    inv_pb2, inv_grpc = stub_modules("inventory.v1.inventory")
    pay_pb2, pay_grpc = stub_modules("payment.v1.payment")
    money_pb2 = stub_module("commerce.v1.money_pb2")
    unittest.main(verbosity=2)
