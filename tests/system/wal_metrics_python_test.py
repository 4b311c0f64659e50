"""The write-ahead log and snapshot series on the admin /metrics of the real percore-server
(issues 10 and 12), with exact values: a payments shard under --fsync always logs each VoidPayment
of a new key as one record of 16 + len(key) bytes and fsyncs once per acknowledged write; a
snapshot while serving (--snapshot-every 300ms, after something was logged) fsyncs the log at its
cut and before its rename, and the last one's file is the 32-byte header plus the same records.
Without --data-dir there is no such series.
Usage: wal_metrics_python_test.py PATH/TO/percore-server"""

import os
import shutil
import sys
import tempfile
import time
import unittest

import grpc

from percore_py import admin
from percore_py.stubs import stub_modules

SERVER = None
KEYS = ["wal-key-%d" % i for i in range(1, 6)]
RECORD_HEADER, FILE_HEADER = 16, 32


def scrape(port):
    return admin.metrics(port)


def wal(samples, name, **labels):
    labels.update(store="payments", shard="0")
    return samples.get((name, frozenset(labels.items())))


class WalMetrics(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="percore-wal-metrics-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_log_and_snapshot_series_are_exact(self):
        server, port = admin.start_with_admin(
            SERVER, "--services", "payment", "--shards", "1", "--data-dir",
            os.path.join(self.dir, "data"), "--fsync", "always", "--snapshot-every", "300ms")
        try:
            s = scrape(port)
            self.assertEqual(wal(s, "percore_wal_bytes_total"), 0)
            self.assertEqual(wal(s, "percore_wal_fsyncs_total"), 0)
            self.assertEqual(wal(s, "percore_snapshots_total", result="ok"), 0)
            self.assertEqual(wal(s, "percore_snapshots_total", result="failed"), 0)
            self.assertEqual(wal(s, "percore_snapshot_last_timestamp_seconds"), 0)
            self.assertEqual(wal(s, "percore_snapshot_last_bytes"), 0)
            before = time.time()
            stub = pay_grpc.PaymentServiceStub(server.channel)
            for k in KEYS:  # one at a time: each its own batch and fsync
                r = stub.VoidPayment(pay_pb2.VoidPaymentRequest(idempotency_key=k), timeout=10)
                self.assertEqual(r.status, pay_pb2.PaymentResult.PAYMENT_STATUS_VOIDED)
            records = sum(RECORD_HEADER + len(k) for k in KEYS)
            # A snapshot follows 300 ms with something logged: one after the five writes, or
            # (when they took longer, as on a slow sanitizer build) one more for the rest; none
            # once nothing new is logged. Asked until the last one holds every record.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                s = scrape(port)
                if wal(s, "percore_snapshot_last_bytes") == FILE_HEADER + records:
                    break
                time.sleep(0.05)
            snapshots = wal(s, "percore_snapshots_total", result="ok")
            self.assertGreaterEqual(snapshots, 1)
            self.assertEqual(wal(s, "percore_snapshots_total", result="failed"), 0)
            self.assertEqual(wal(s, "percore_wal_bytes_total"), records)
            # One per write, and per snapshot one at the cut and one before the rename.
            self.assertEqual(wal(s, "percore_wal_fsyncs_total"), len(KEYS) + 2 * snapshots)
            self.assertGreater(wal(s, "percore_wal_fsync_seconds_total"), 0)
            self.assertEqual(wal(s, "percore_snapshot_last_bytes"), FILE_HEADER + records)
            stamp = wal(s, "percore_snapshot_last_timestamp_seconds")
            self.assertTrue(before <= stamp <= time.time(), (before, stamp))
        finally:
            server.kill()

    def test_no_series_without_a_data_dir(self):
        server, port = admin.start_with_admin(SERVER, "--services", "payment", "--shards", "1")
        try:
            stub = pay_grpc.PaymentServiceStub(server.channel)
            stub.VoidPayment(pay_pb2.VoidPaymentRequest(idempotency_key="mem"), timeout=10)
            names = {name for name, _ in scrape(port)}
            self.assertIn("percore_storage_rows", names)
            self.assertFalse([n for n in names if n.startswith(("percore_wal", "percore_snap"))])
        finally:
            server.kill()


if __name__ == "__main__":
    SERVER = os.path.abspath(sys.argv.pop(1))
    pay_pb2, pay_grpc = stub_modules("payment.v1.payment")
    unittest.main(verbosity=2)
