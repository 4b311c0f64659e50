"""Keepalive ping enforcement against the real percore-server, on either transport
(PERCORE_TRANSPORT=native for percore's own), as libgrpc's servers enforce it (the server's
defaults: a PING sooner than 10 s after the previous one with nothing sent by the server in
between is a strike; more than 2 strikes end the connection):
- a PING flood on an idle connection gets GOAWAY ENHANCE_YOUR_CALM with the debug data
  "too_many_pings" (what grpc clients look for to back off) and the connection is closed;
- pings between the server's answers on a live call are keepalive, not abuse: no GOAWAY;
- the server keeps serving other clients.
Usage: keepalive_python_test.py PATH/TO/percore-server"""

import sys
import time
import unittest

from percore_py.raw_h2 import RawChatCase
from percore_py.server import Server

SERVER = None
ENHANCE_YOUR_CALM = 0xB


class Keepalive(RawChatCase, unittest.TestCase):
    def setUp(self):
        self.server = Server(SERVER, "--shards", "1", "--shutdown-grace", "1")
        self.addCleanup(self.server.stop)

    def assert_serving(self):
        stub = self.user_grpc.UserServiceStub(self.server.channel)
        stub.CreateUser(self.user_pb.CreateUserRequest(name="Other", email="o@example.com"),
                        timeout=10)

    def test_ping_flood_on_idle_connection_gets_too_many_pings(self):
        client = self.raw_client(self.server.port)
        client.pump_until(lambda: client.settings_received)  # settings exchanged
        for _ in range(6):
            client.ping()
            client.pump(0.02)
        deadline = time.time() + 5
        while time.time() < deadline and not client.closed:
            client.pump(0.1)
        self.assertTrue(client.goaways, "no GOAWAY after a ping flood")
        last_stream, code, debug = client.goaways[-1]
        self.assertEqual(code, ENHANCE_YOUR_CALM)
        self.assertEqual(debug, b"too_many_pings")
        self.assertTrue(client.closed, "the abusive connection was left open")
        self.assert_serving()

    def test_pings_between_answers_on_a_live_call_are_allowed(self):
        client = self.raw_client(self.server.port)
        client.open(1, "/order.v1.OrderService/ChatSession", self.chat(1), end=False)
        client.pump_until(lambda: client.data.get(1))  # the first answer, before any ping
        for i in range(2, 8):  # ping, then a message the server answers (DATA), and again
            client.ping()
            client.send(1, self.chat(i), end=False)
            received = len(client.data.get(1, b""))
            deadline = time.time() + 5
            while time.time() < deadline and len(client.data.get(1, b"")) == received:
                client.pump(0.05)
        client.send(1, self.chat(8), end=True)
        deadline = time.time() + 5
        while time.time() < deadline and 1 not in client.status:
            client.pump(0.05)
        self.assertEqual(client.goaways, [])
        self.assertFalse(client.closed)
        self.assertEqual(client.status.get(1), 0)
        self.assert_serving()


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main()
