"""What the gateway's system tests share (gateway_python_test.py, gateway_peer_python_test.py,
gateway_trace_python_test.py): the WebSocket readers; GatewayClient, a unittest mixin that
speaks REST to `self.base` through `self.http` (a requests.Session): calls, grpc-gateway's error
body checked, a user and a product made, and an order placed while a WebSocket watches it go
through every step; and PeerPlacement, the servers of a test class whose gateway calls --peers."""

import json
import os
import shutil
import struct
import tempfile
import time

import requests
import websocket

from percore_py import admin
from percore_py.cluster import free_ports
from percore_py.server import Server

TIMEOUT = 10


def start(binary, *flags):
    """percore-server with --http and --admin on free ports: (server, http base, admin port)."""
    server = Server(binary, "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0", *flags)
    try:
        http, admin = server.logged_ports("HTTP gateway", "admin")
    except RuntimeError:
        server.kill()
        raise
    return server, "http://127.0.0.1:%d" % http, admin


def unique(prefix):
    return "%s%d" % (prefix, time.time_ns())


def ws_url(base, path):
    return base.replace("http://", "ws://") + path


def recv_json(ws):
    return json.loads(ws.recv())


def close_of(ws):
    """Reads until the server's close frame; returns (code, reason)."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            if len(data) < 2:
                return None, ""
            return struct.unpack("!H", data[:2])[0], data[2:].decode()


class GatewayClient:
    def post(self, path, body, **kw):
        return self.http.post(self.base + path, json=body, timeout=TIMEOUT, **kw)

    def get(self, path):
        return self.http.get(self.base + path, timeout=TIMEOUT)

    def ws(self, path):
        return websocket.create_connection(ws_url(self.base, path), timeout=TIMEOUT)

    def assert_error(self, r, http_status, grpc_code, fragment=""):
        """grpc-gateway's error body: {code, message, details: []} as JSON, the message naming
        `fragment`."""
        self.assertEqual(r.status_code, http_status, r.text)
        self.assertEqual(r.headers["Content-Type"], "application/json")
        body = r.json()
        self.assertEqual(set(body), {"code", "message", "details"}, body)
        self.assertEqual(body["code"], grpc_code, body)
        self.assertEqual(body["details"], [])
        self.assertIn(fragment, body["message"])
        return body

    def assert_pages_cover(self, path, field, key, made):
        """Pages of 2 of `path` (a list route answering {field: [...], nextPageToken}) followed by
        their tokens to the end: each item once, the `key` of every item in `made` among them."""
        seen, token = [], ""
        for _ in range(100):
            r = self.get(path + "?page_size=2&page_token=" + requests.utils.quote(token))
            self.assertEqual(r.status_code, 200, r.text)
            page = r.json()
            self.assertEqual(set(page), {field, "nextPageToken"})
            self.assertLessEqual(len(page[field]), 2)
            seen += [item[key] for item in page[field]]
            token = page["nextPageToken"]
            if not token:
                break
        self.assertTrue(made <= set(seen))
        self.assertEqual(len(seen), len(set(seen)))

    def create_user(self):
        r = self.post("/v1/users", {"name": "Ann", "email": unique("ann") + "@example.com"})
        self.assertEqual(r.status_code, 201, r.text)
        return r.json()

    def create_product(self, stock=100, price=250):
        r = self.post("/v1/products", {"sku": unique("SKU-"), "name": "Mug",
                                       "initial_stock": str(stock),
                                       "price": {"currency": "EUR", "amount_minor": str(price)}})
        self.assertEqual(r.status_code, 201, r.text)
        self.assertEqual(r.headers["Location"], "/v1/products/" + r.json()["sku"])
        return r.json()

    def chat_in_order_then_bad_json(self, messages):
        """`messages` chat messages on /v1/support/chat, each answered in order with a text;
        then a frame that is not JSON closes the socket 4003 (INVALID_ARGUMENT) naming the
        message type."""
        ws = self.ws("/v1/support/chat")
        try:
            for i in range(1, messages + 1):
                ws.send(json.dumps({"messageId": str(i), "text": "help" if i % 2 else "hi"}))
            replies = [recv_json(ws) for _ in range(messages)]
            self.assertEqual([r["inReplyTo"] for r in replies],
                             [str(i) for i in range(1, messages + 1)])
            self.assertTrue(all(r["text"] for r in replies))
            ws.send("{not json")
            code, reason = close_of(ws)
            self.assertEqual(code, 4003, reason)
            self.assertIn("ChatMessage", reason)
        finally:
            ws.close()

    def place_watched_order(self, ws, user, product, key):
        """Two of `product` for `user` with Idempotency-Key `key`, while `ws` (a ready order
        watch) sees PENDING, RESERVED, PAID, CONFIRMED; then the replay answers 200 with the same
        order. Returns (the request body, the order)."""
        self.assertEqual(recv_json(ws), {"ready": True})
        body = {"userId": user["id"], "items": [{"sku": product["sku"], "quantity": "2"}],
                "payment_method": {"token": "tok_approve"}}
        r = self.post("/v1/orders", body, headers={"Idempotency-Key": key})
        self.assertEqual(r.status_code, 201, r.text)
        order = r.json()
        self.assertEqual(r.headers["Location"], "/v1/orders/" + order["id"])
        self.assertEqual(order["status"], "ORDER_STATUS_CONFIRMED")
        self.assertEqual(order["idempotencyKey"], key)
        statuses = [recv_json(ws)["status"] for _ in range(4)]
        self.assertEqual(statuses, ["ORDER_STATUS_PENDING", "ORDER_STATUS_RESERVED",
                                    "ORDER_STATUS_PAID", "ORDER_STATUS_CONFIRMED"])
        again = self.post("/v1/orders", body, headers={"Idempotency-Key": key})
        self.assertEqual(again.status_code, 200, again.text)  # the replay: the same order
        self.assertEqual(again.json()["id"], order["id"])
        return body, order


class PeerPlacement:
    """A unittest mixin: the class's percore-servers in the --peer placement (issue 11). The
    edge hosts user and the gateway (--http; `cls.base`, `cls.http`) with inventory, payment and
    order as --peers; order's own peers are user at the edge, inventory and payment. The
    processes named in `traced` (edge, inventory, payment, order) write a --trace-log
    (`cls.traces[name]`, read by spans()), those in `with_admin` an --admin listener
    (`cls.admins[name]`, its port).
    `then()` starts any further server (by spawn()) before the set counts as up. Every server is
    stopped at tearDownClass, in reverse order, and must exit 0."""

    COMMON = ("--shards", "2", "--shutdown-grace", "2")

    @classmethod
    def start_placement(cls, binary, traced=(), with_admin=(), then=lambda: None):
        cls.binary = binary
        cls.servers, cls.admins = [], {}
        cls.trace_dir = tempfile.mkdtemp(prefix="percore-gateway-peers-")
        cls.traces = {name: os.path.join(cls.trace_dir, name + ".jsonl") for name in traced}

        def start(name, service, *flags):
            if name in traced:
                flags += ("--trace-log", cls.traces[name])
            if name not in with_admin:
                return cls.spawn(*cls.COMMON, "--services", service, *flags)
            server, cls.admins[name] = admin.start_with_admin(
                binary, *cls.COMMON, "--services", service, *flags)
            cls.servers.append(server)
            return server

        try:
            inventory = start("inventory", "inventory")
            cls.payment = start("payment", "payment")
            order_address = "127.0.0.1:%d" % free_ports(1)[0]
            peers = ("--peer", "inventory=" + inventory.address,
                     "--peer", "payment=" + cls.payment.address)
            cls.edge = start("edge", "user", "--http", "127.0.0.1:0", *peers,
                             "--peer", "order=" + order_address)
            start("order", "order", "--listen", order_address,
                  "--peer", "user=" + cls.edge.address, *peers)
            then()
        except Exception:
            cls.stop_all()
            shutil.rmtree(cls.trace_dir, ignore_errors=True)
            raise
        cls.base = "http://127.0.0.1:%d" % cls.edge.logged_ports("HTTP gateway")[0]
        cls.http = requests.Session()

    def spans(self, process, trace_id, count=1, span_ids=()):
        """`process`'s spans of `trace_id` in its --trace-log, once there are `count` and every
        one of `span_ids` is among them (bounded wait: the writer drains every 20 ms)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            with open(self.traces[process]) as f:
                lines = [line for line in f if line.endswith("\n")]  # the last may be mid-write
                found = [x for x in map(json.loads, filter(str.strip, lines))
                         if x["trace_id"] == trace_id]
            ids = {x["span_id"] for x in found}
            if (len(found) >= count and ids.issuperset(span_ids)) or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    @classmethod
    def spawn(cls, *flags):
        server = Server(cls.binary, *flags)
        cls.servers.append(server)
        return server

    @classmethod
    def stop_all(cls):
        return [(s.address, s.stop()) for s in reversed(cls.servers)]

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        codes = cls.stop_all()
        shutil.rmtree(cls.trace_dir, ignore_errors=True)
        assert all(code == 0 for _, code in codes), codes
