"""Max connection age (--max-connection-age-seconds, --max-connection-age-grace-seconds) against
the real percore-server, on either transport (PERCORE_TRANSPORT=native for percore's own):
- a connection gets GOAWAY (NO_ERROR) once its age is reached, and a call already open on it
  still finishes OK when the client ends it within the grace;
- the GOAWAY comes in two phases (RFC 9113 §6.8), as libgrpc sends it and now percore's own
  transport too: a notice naming stream 2^31-1, then, after the client answered the PING sent
  with it, the final GOAWAY naming the last stream the server took;
- a call still open when the grace runs out is cut: the server closes the connection;
- a grpcio client calling through several ages never sees an error (it reconnects).
The HTTP/2 client is percore_py.raw_h2 (frames by hand: h2's state machine refuses every frame
after a GOAWAY, which is exactly when this test needs to keep reading).
Usage: connection_age_python_test.py PATH/TO/percore-server"""

import sys
import time
import unittest

from percore_py.raw_h2 import RawChatCase
from percore_py.server import Server

SERVER = None
AGE = 1      # seconds
GRACE = 2    # seconds


class ConnectionAge(RawChatCase, unittest.TestCase):
    def start(self):
        server = Server(SERVER, "--shards", "1", "--shutdown-grace", "1",
                        "--max-connection-age-seconds", str(AGE),
                        "--max-connection-age-grace-seconds", str(GRACE))
        self.addCleanup(server.stop)
        return server

    def wait_for_goaway(self, client):
        deadline = time.time() + AGE * 1.1 + 5
        while time.time() < deadline and not client.goaways and not client.closed:
            client.pump(0.1)
        self.assertTrue(client.goaways, "no GOAWAY after the connection's age")
        self.assertEqual(client.goaways[0][1], 0, "GOAWAY with an error code")

    def test_call_open_at_goaway_finishes_within_the_grace(self):
        server = self.start()
        client = self.raw_client(server.port)
        client.open(1, "/order.v1.OrderService/ChatSession", self.chat(1), end=False)
        self.wait_for_goaway(client)
        client.pump_until(lambda: len(client.goaways) >= 2)  # the PING round trip, the final one
        self.assertEqual(client.goaways[0][0], 2**31 - 1, "first GOAWAY is not the notice")
        self.assertEqual(len(client.goaways), 2, client.goaways)
        self.assertEqual(client.goaways[1][:2], (1, 0), "final GOAWAY names the last stream")
        self.assertNotIn(1, client.status, "the open call was ended at GOAWAY")
        client.send(1, self.chat(2), end=True)
        deadline = time.time() + GRACE + 5  # the server ends it either way by its grace
        while time.time() < deadline and 1 not in client.status and not client.closed:
            client.pump(0.05)
        self.assertEqual(client.status.get(1), 0, "the call open at GOAWAY did not finish OK")
        replies = client.data.get(1, b"")
        self.assertGreaterEqual(len(replies), 2 * 5, "fewer than two chat replies")

    def test_call_still_open_after_the_grace_is_cut(self):
        server = self.start()
        client = self.raw_client(server.port)
        client.open(1, "/order.v1.OrderService/ChatSession", self.chat(1), end=False)
        self.wait_for_goaway(client)
        deadline = time.time() + GRACE * 1.5 + 5
        while time.time() < deadline and not client.closed and 1 not in client.status:
            client.pump(0.1)
        self.assertTrue(client.closed or 1 in client.status,
                        "the connection outlived its grace with a call open")
        self.assertNotEqual(client.status.get(1), 0)
        # The server still serves new connections.
        stub = self.user_grpc.UserServiceStub(server.channel)
        stub.CreateUser(self.user_pb.CreateUserRequest(name="After", email="after@example.com"),
                        timeout=10)

    def test_grpcio_client_calls_through_several_ages(self):
        server = self.start()
        stub = self.user_grpc.UserServiceStub(server.channel)
        user = stub.CreateUser(self.user_pb.CreateUserRequest(name="Ada", email="ada@example.com"),
                               timeout=10)
        end = time.time() + AGE * 3.5
        calls = 0
        while time.time() < end:
            got = stub.GetUser(self.user_pb.GetUserRequest(id=user.id), timeout=10)
            self.assertEqual(got.id, user.id)
            calls += 1
            time.sleep(0.05)
        self.assertGreater(calls, 10)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main()
