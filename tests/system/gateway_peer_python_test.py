"""The HTTP gateway in a process whose inventory, payment and order services are --peers (issue
11: "when it is a --peer, it calls the remote client"). Four percore-servers: the edge (user
hosted, --http, --peer inventory/payment/order), inventory, payment, and order (its own peers:
user at the edge, inventory, payment). Through the edge, with python3-requests and
websocket-client: a user (hosted), a product (peer), an order placed over REST and watched live
over a WebSocket whose call runs on the order peer, the idempotent replay, lists with their page
token (the peer's trailer), a payment, a cancel, the support chat (a bidi stream to the peer),
the peer's errors mapped as grpc-gateway maps them, and JSON errors named before any peer call.
Usage: gateway_peer_python_test.py PATH/TO/percore-server"""

import socket
import sys
import unittest

import requests

from gateway_support import TIMEOUT, GatewayClient, close_of, recv_json
from percore_py.server import Server

SERVER = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GatewayPeerTest(GatewayClient, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        common = ("--shards", "2", "--shutdown-grace", "2")
        cls.servers = []
        try:
            inventory = cls.spawn(*common, "--services", "inventory")
            payment = cls.spawn(*common, "--services", "payment")
            order_address = "127.0.0.1:%d" % free_port()
            cls.edge = cls.spawn(*common, "--services", "user", "--http", "127.0.0.1:0",
                                 "--peer", "inventory=" + inventory.address,
                                 "--peer", "payment=" + payment.address,
                                 "--peer", "order=" + order_address)
            cls.spawn(*common, "--services", "order", "--listen", order_address,
                      "--peer", "user=" + cls.edge.address,
                      "--peer", "inventory=" + inventory.address,
                      "--peer", "payment=" + payment.address)
        except Exception:
            cls.stop_all()
            raise
        cls.base = "http://127.0.0.1:%d" % cls.edge.logged_ports("HTTP gateway")[0]
        cls.http = requests.Session()

    @classmethod
    def spawn(cls, *flags):
        server = Server(SERVER, *flags)
        cls.servers.append(server)
        return server

    @classmethod
    def stop_all(cls):
        codes = [(s.address, s.stop()) for s in reversed(cls.servers)]
        return codes

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        codes = cls.stop_all()
        assert all(code == 0 for _, code in codes), codes

    def test_order_placed_over_rest_and_watched_over_websocket(self):
        user = self.create_user()  # hosted at the edge
        product = self.create_product(stock=50)  # the inventory peer
        ws = self.ws("/v1/orders/stream?ready=1&user_id=" + user["id"])  # the order peer
        try:
            _, order = self.place_watched_order(ws, user, product, "peer-key-1")
            self.assertEqual(self.get("/v1/orders/" + order["id"]).json()["id"], order["id"])
            mine = self.get("/v1/users/%s/orders" % user["id"]).json()
            self.assertEqual(set(mine), {"orders", "nextPageToken"})
            self.assertEqual([o["id"] for o in mine["orders"]], [order["id"]])
            payment = self.get("/v1/payments/" + order["transactionId"]).json()
            self.assertEqual(payment["status"], "PAYMENT_STATUS_APPROVED")
            self.assertEqual(self.get("/v1/products/" + product["sku"]).json()["available"], "48")
            r = self.post("/v1/orders/%s:cancel" % order["id"], None)
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(recv_json(ws)["status"], "ORDER_STATUS_CANCELLED")
        finally:
            ws.close()

    def test_lists_page_with_the_peers_token(self):
        made = {self.create_product()["sku"] for _ in range(3)}
        self.assert_pages_cover("/v1/products", "products", "sku", made)

    def test_peer_errors_are_mapped(self):
        self.assert_error(self.get("/v1/products/NO-SUCH-SKU"), 404, 5)  # the peer's NOT_FOUND
        self.assert_error(self.get("/v1/orders/not-a-uuid"), 400, 3)  # the peer's, naming the id
        # Bad JSON is refused at the edge, naming the field, as for a hosted method.
        self.assert_error(self.post("/v1/products", {"sku": "A", "colour": "red"}), 400, 3,
                          "colour")
        self.assert_error(self.post("/v1/orders", {"userId": 5}), 400, 3)
        # The generic route reaches a peer's method too.
        product = self.create_product()
        # The request's deadline crosses: one already past is the peer call's DEADLINE_EXCEEDED.
        r = self.http.get(self.base + "/v1/products/" + product["sku"],
                          headers={"Grpc-Timeout": "1n"}, timeout=TIMEOUT)
        self.assert_error(r, 504, 4)
        r = self.http.get(self.base + "/v1/products/" + product["sku"],
                          headers={"X-Request-Timeout": "5"}, timeout=TIMEOUT)
        self.assertEqual(r.status_code, 200, r.text)
        r = self.post("/inventory.v1.InventoryService/GetProduct", {"sku": product["sku"]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["sku"], product["sku"])
        # The peer's watch of an unknown order: upgraded, then closed NOT_FOUND.
        ws = self.ws("/v1/orders/stream?order_id=01a23668-8864-74a9-9d46-ac2ef1d6e439")
        try:
            self.assertEqual(close_of(ws)[0], 4005)
        finally:
            ws.close()

    def test_chat_with_the_peer_in_order(self):
        self.chat_in_order_then_bad_json(10)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
