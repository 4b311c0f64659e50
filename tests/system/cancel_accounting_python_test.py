"""Which code a call the client cancels is counted with (issue 12: grpc_server_handled_total,
core/rpc/cancel_code.h), on the real percore-server with Python grpcio: a client's cancel that
comes just before its deadline (30 ms; this server's copy of the deadline is later still, by the
request's transit) is the deadline's, DeadlineExceeded, as a client cancelling at its deadline
(grpcio, the gateway's edge) usually overtakes the server's own timer; a cancel long before the
deadline, or on a call without one, stays Canceled. WatchUserUpdates (open until cancelled) on a
user process with --admin; run on both transports (the _native copy).
Usage: cancel_accounting_python_test.py PATH/TO/percore-server"""

import sys
import time
import unittest

from percore_py import admin
from percore_py.stubs import stub_modules

SERVER = None
TIMEOUT = 10
BUDGET = 2.0  # the watch's deadline, seconds
EARLY = 0.03  # how long before it the client cancels


class CancelAccounting(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.user_pb2, cls.user_grpc = stub_modules("user.v1.user")
        cls.server, cls.admin_port = admin.start_with_admin(SERVER, "--shards", "1",
                                                            "--services", "user")
        cls.stub = cls.user_grpc.UserServiceStub(cls.server.channel)

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0, cls.server.stderr_text()

    def series(self, name, **labels):
        return admin.metrics(self.admin_port).get(admin.key(
            name, grpc_type="server_stream", grpc_service="user.v1.UserService",
            grpc_method="WatchUserUpdates", **labels), 0)

    def counts(self):
        return {code: self.series("grpc_server_handled_total", grpc_code=code)
                for code in ("Canceled", "DeadlineExceeded")}

    def cancelled_watch(self, timeout, cancel_after):
        """Opens a watch with `timeout` (None: no deadline), cancels it `cancel_after` seconds
        after it was made, once the server runs it; returns the code it was counted with."""
        before, started = self.counts(), self.series("grpc_server_started_total")
        made = time.monotonic()
        call = self.stub.WatchUserUpdates(
            self.user_pb2.WatchUserRequest(), timeout=timeout)  # every user: stays open
        while self.series("grpc_server_started_total") == started:
            self.assertLess(time.monotonic() - made, TIMEOUT, "the watch never started")
            time.sleep(0.01)
        time.sleep(max(0.0, made + cancel_after - time.monotonic()))
        call.cancel()
        wait_until = time.monotonic() + TIMEOUT
        while True:
            after = self.counts()
            grown = [code for code in after if after[code] > before[code]]
            if grown or time.monotonic() > wait_until:
                break
            time.sleep(0.02)
        self.assertEqual(sum(after.values()), sum(before.values()) + 1, (before, after))
        return grown[0]

    def test_a_cancel_just_before_the_deadline_counts_as_the_deadline(self):
        self.assertEqual(self.cancelled_watch(BUDGET, BUDGET - EARLY), "DeadlineExceeded")

    def test_a_cancel_well_before_the_deadline_or_without_one_stays_canceled(self):
        self.assertEqual(self.cancelled_watch(BUDGET * 5, 0.2), "Canceled")
        self.assertEqual(self.cancelled_watch(None, 0.2), "Canceled")


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
