"""The HTTP gateway in a process whose inventory, payment and order services are --peers (issue
11: "when it is a --peer, it calls the remote client"). Four percore-servers: the edge (user
hosted, --http, --peer inventory/payment/order), inventory, payment, and order (its own peers:
user at the edge, inventory, payment). Through the edge, with python3-requests and
websocket-client: a user (hosted), a product (peer), an order placed over REST and watched live
over a WebSocket whose call runs on the order peer, the idempotent replay, lists with their page
token (the peer's trailer), a payment, a cancel, the support chat (a bidi stream to the peer),
the peer's errors mapped as grpc-gateway maps them, and JSON errors named before any peer call.
Usage: gateway_peer_python_test.py PATH/TO/percore-server"""

import sys
import time
import unittest

from gateway_support import TIMEOUT, GatewayClient, PeerPlacement, close_of, recv_json

from admin_metrics_test import get as admin_get, key, parse

SERVER = None


class GatewayPeerTest(PeerPlacement, GatewayClient, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The edge and inventory write spans (the edge's peer calls are client spans).
        cls.start_placement(SERVER, traced=("edge", "inventory"), with_admin=("edge",))

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


    def test_peer_calls_are_client_metrics_and_spans(self):
        """The gateway's calls to a --peer are in grpc_client_* exactly (every code at zero from
        the start) and are client spans: children of the request's traceparent, parents of the
        peer's server spans, with the cleaned tracestate sent on."""
        sku = self.create_product()["sku"]
        trace, parent = "8af92f3577b34da6a3ce929d0e0e4731", "00f067aa0ba902b7"
        labels = dict(grpc_type="unary", grpc_service="inventory.v1.InventoryService",
                      grpc_method="GetProduct")
        before = parse(admin_get(self.admins["edge"], "/metrics")[2])
        self.assertIn(key("grpc_client_handled_total", grpc_code="DataLoss", **labels), before)
        headers = {"traceparent": "00-%s-%s-01" % (trace, parent),
                   "tracestate": "a=1,Bad=x,b=2"}
        for _ in range(3):
            r = self.http.get(self.base + "/v1/products/" + sku, headers=headers,
                              timeout=TIMEOUT)
            self.assertEqual(r.status_code, 200, r.text)
        self.assert_error(self.get("/v1/products/NO-SUCH-SKU-METRICS"), 404, 5)
        after = {}

        def grew(name, **extra):
            k = key(name, **labels, **extra)
            return after.get(k, 0) - before.get(k, 0)

        # A write's completion may be counted just after the answer went out: settle first.
        deadline = time.monotonic() + TIMEOUT
        while grew("grpc_client_msg_sent_total") < 4 and time.monotonic() < deadline:
            after = parse(admin_get(self.admins["edge"], "/metrics")[2])

        self.assertEqual(grew("grpc_client_started_total"), 4)
        self.assertEqual(grew("grpc_client_handled_total", grpc_code="OK"), 3)
        self.assertEqual(grew("grpc_client_handled_total", grpc_code="NotFound"), 1)
        self.assertEqual(grew("grpc_client_msg_sent_total"), 4)
        self.assertEqual(grew("grpc_client_msg_received_total"), 3)
        self.assertEqual(grew("grpc_client_handling_seconds_count"), 4)
        # A list is a server stream, counted under its own type.
        stream = key("grpc_client_started_total", grpc_type="server_stream",
                     grpc_service="inventory.v1.InventoryService", grpc_method="ListProducts")
        self.assertIn(stream, after)

        clients = self.spans("edge", trace, 3)
        self.assertEqual(len(clients), 3, clients)
        for span in clients:
            self.assertEqual((span["kind"], span["name"], span["parent_span_id"], span["grpc_code"]),
                             ("client", "inventory.v1.InventoryService/GetProduct", parent, "OK"))
            self.assertEqual(span["trace_state"], "a=1,b=2")
        servers = self.spans("inventory", trace, 3)
        self.assertEqual(sorted(x["parent_span_id"] for x in servers),
                         sorted(x["span_id"] for x in clients))
        for span in servers:
            self.assertEqual(span["trace_state"], "a=1,b=2")


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
