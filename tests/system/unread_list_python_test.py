"""Issue 15, defect 4: ListUsers streams that the client never reads must cost the server a
bounded, small amount each. Before the fix every ListUsers(page_size 1000) built its whole page
at once (~720 KB per unread stream). The server now produces the page as the stream drains.
The test opens many such streams with Python's grpcio and never reads them, then checks the
server's resident memory, that a well-behaved client is still answered, and that a read page is
still complete and in order.
Usage: unread_list_python_test.py PATH/TO/percore-server"""

import sys
import time
import unittest

import grpc

from percore_py.procfs import asan_built, rss_bytes
from percore_py.server import Server
from percore_py.stubs import stub_modules

SERVER = None
TIMEOUT = 30
USERS = 2500          # more than two pages of 1,000
STREAMS = 300         # unread ListUsers(page_size 1000)
# Bound on the server's RSS growth per unread stream. Measured with this test on 2026-12-01:
# 556 KB each when the page was built whole, 156 KB produced lazily: one chunk per shard and the
# write queue (~25 KB) are percore's, the rest is gRPC's own per-stream state and write buffer.
MAX_GROWTH_PER_STREAM = 300 * 1024


class UnreadListStreams(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(SERVER, "--shards", "2", "--shutdown-grace", "1", "--services", "user")
        cls.pb, cls.pb_grpc = stub_modules("user.v1.user")
        cls.stub = cls.pb_grpc.UserServiceStub(cls.server.channel)
        for start in range(0, USERS, 100):  # 100 calls at a time: a client, not a flood
            futures = [cls.stub.CreateUser.future(cls.pb.CreateUserRequest(
                name="User %d" % i, email="unread-%d@example.com" % i), timeout=TIMEOUT)
                for i in range(start, min(USERS, start + 100))]
            for f in futures:
                f.result()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def read_page(self, page_size, token=""):
        call = self.stub.ListUsers(self.pb.ListUsersRequest(page_size=page_size,
                                                            page_token=token), timeout=TIMEOUT)
        users = list(call)
        return users, dict(call.trailing_metadata() or ()).get("next-page-token")

    def test_unread_streams_cost_little_and_others_are_served(self):
        # Warm up: a few pages read in full, so the baseline includes what any use allocates.
        for _ in range(3):
            users, _ = self.read_page(1000)
            self.assertEqual(len(users), 1000)
        time.sleep(0.5)
        before = rss_bytes(self.server.proc.pid)
        channels = [grpc.insecure_channel(self.server.address) for _ in range(3)]
        calls = []
        try:
            for i in range(STREAMS):
                stub = self.pb_grpc.UserServiceStub(channels[i % len(channels)])
                calls.append(stub.ListUsers(self.pb.ListUsersRequest(page_size=1000),
                                            timeout=120))
            # Each stream has started and filled what flow control lets through.
            time.sleep(3)
            after = rss_bytes(self.server.proc.pid)
            growth = after - before
            print("RSS grew %.1f MB for %d unread streams (%.0f KB each)"
                  % (growth / 2**20, STREAMS, growth / STREAMS / 1024), file=sys.stderr)
            # ASan's redzones and quarantine say nothing about what a stream keeps: the release
            # run checks memory, the ASan run the rest.
            if not asan_built(self.server.proc.pid):
                self.assertLess(growth, STREAMS * MAX_GROWTH_PER_STREAM,
                                "RSS grew %.1f MB for %d unread streams (%.0f KB each)"
                                % (growth / 2**20, STREAMS, growth / STREAMS / 1024))
            # A well-behaved client is answered meanwhile, and its page is whole and in order.
            users, token = self.read_page(1000)
            self.assertEqual(len(users), 1000)
            ids = [u.id for u in users]
            self.assertEqual(ids, sorted(ids))
            self.assertTrue(token)
        finally:
            for call in calls:
                call.cancel()
            for channel in channels:
                channel.close()

    def test_pages_read_slowly_are_complete_and_ordered(self):
        seen = []
        token = ""
        while True:
            call = self.stub.ListUsers(self.pb.ListUsersRequest(page_size=700, page_token=token),
                                       timeout=TIMEOUT)
            page = []
            for user in call:
                page.append(user.id)
                if len(page) % 200 == 0:
                    time.sleep(0.05)  # a slow reader: the page is produced as it drains
            seen += page
            token = dict(call.trailing_metadata() or ()).get("next-page-token")
            if not token:
                break
        self.assertEqual(len(seen), USERS)
        self.assertEqual(seen, sorted(seen))
        self.assertEqual(len(set(seen)), USERS)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
