"""The HTTP gateway of the real percore-server (--http, issue 11), driven by clients percore did
not write: python3-requests, python3-websocket (websocket-client) and curl. Every REST route,
grpc-gateway's error mapping and body, the idempotent POST /v1/orders (201, then 200 for a
replay), POST /package.Service/Method, a WebSocket watch that sees every transition, chat
replies in order, close codes carrying the gRPC status, a slow WebSocket reader bounded, many
watchers closed leaving no call behind, bad input (truncated requests, oversized bodies and
headers, invalid JSON and UTF-8, a handshake without its key, an unmasked frame) answered clearly
while the server keeps serving. JWT pass-through and drain on SIGTERM, with servers of their own:
gateway_serving_python_test.py.
Usage: gateway_python_test.py PATH/TO/percore-server"""

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import unittest

import requests
import websocket

from gateway_support import TIMEOUT, GatewayClient, close_of, recv_json, start, unique, ws_url

SERVER = None
JSON = {"Content-Type": "application/json"}


def raw_exchange(port, data, read=True):
    """Sends `data` on a fresh socket and returns all the server wrote until it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(data)
        if not read:
            return b""
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return reply
            reply += chunk


class GatewayTest(GatewayClient, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server, cls.base, cls.admin = start(SERVER, "--shards", "2")
        cls.port = int(cls.base.rsplit(":", 1)[1])
        cls.http = requests.Session()

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.assertEqual = unittest.TestCase.assertEqual
        code = cls.server.stop()
        assert code == 0, cls.server.stderr_text()

    def setUp(self):
        self.assertIsNone(self.server.proc.poll(), "the server died")

    def tearDown(self):
        # Whatever the case did, the server still serves.
        self.assertEqual(self.http.get(self.base + "/v1/users?page_size=1").status_code, 200)

    # --- users ---
    def test_user_routes(self):
        email = unique("bo") + "@example.com"
        r = self.post("/v1/users", {"name": "Bo", "email": email, "roles": ["buyer"]})
        self.assertEqual(r.status_code, 201, r.text)
        user = r.json()
        self.assertEqual(r.headers["Location"], "/v1/users/" + user["id"])
        self.assertEqual(user["email"], email)
        self.assertRegex(user["createdAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertEqual(self.get("/v1/users/" + user["id"]).json(), user)
        r = self.http.patch(self.base + "/v1/users/" + user["id"], json={"name": "Bob"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["name"], "Bob")
        self.assert_error(self.post("/v1/users", {"name": "Twin", "email": email}), 409, 6)
        r = self.http.delete(self.base + "/v1/users/" + user["id"])
        self.assertEqual(r.status_code, 204, r.text)
        self.assertEqual(r.content, b"")
        self.assert_error(self.get("/v1/users/" + user["id"]), 404, 5)

    def test_list_users_pages(self):
        made = {self.create_user()["id"] for _ in range(5)}
        self.assert_pages_cover("/v1/users", "users", "id", made)

    # --- products ---
    def test_product_routes(self):
        product = self.create_product(stock=7)
        sku = product["sku"]
        self.assertEqual(product["stock"], "7")  # int64 as a string
        self.assertEqual(self.get("/v1/products/" + sku).json()["available"], "7")
        r = self.post("/v1/products/%s:adjustStock" % sku, {"delta": "5"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["stock"], "12")
        listed = self.get("/v1/products?page_size=1000").json()
        self.assertIn(sku, [p["sku"] for p in listed["products"]])
        self.assert_error(self.get("/v1/products/NO-SUCH-SKU"), 404, 5)

    # --- orders ---
    def test_order_flow_watched_live(self):
        user = self.create_user()
        product = self.create_product()
        ws = websocket.create_connection(
            ws_url(self.base, "/v1/orders/stream?user_id=%s&ready=1" % user["id"]), timeout=TIMEOUT)
        try:
            body, order = self.place_watched_order(ws, user, product, "key-1")
            # Same key, other items: FAILED_PRECONDITION is 400.
            body2 = dict(body, items=[{"sku": product["sku"], "quantity": "3"}])
            self.assert_error(self.post("/v1/orders", body2, headers={"Idempotency-Key": "key-1"}),
                              400, 9, "idempotency_key")
            self.assertEqual(self.get("/v1/orders/" + order["id"]).json()["id"], order["id"])
            mine = self.get("/v1/users/%s/orders" % user["id"]).json()
            self.assertEqual([o["id"] for o in mine["orders"]], [order["id"]])
            payment = self.get("/v1/payments/" + order["transactionId"]).json()
            self.assertEqual(payment["status"], "PAYMENT_STATUS_APPROVED")
            self.assertEqual(payment["amount"], {"amountMinor": "500", "currency": "EUR"})
            r = self.post("/v1/orders/%s:cancel" % order["id"], None)
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(r.json()["status"], "ORDER_STATUS_CANCELLED")
            self.assertEqual(recv_json(ws)["status"], "ORDER_STATUS_CANCELLED")
        finally:
            ws.close()

    def test_watch_one_order_ends_ok(self):
        user = self.create_user()
        product = self.create_product()
        r = self.post("/v1/orders", {"userId": user["id"], "items": [{"sku": product["sku"],
                                     "quantity": "1"}], "paymentMethod": {"token": "tok_approve"}})
        order = r.json()
        ws = websocket.create_connection(
            ws_url(self.base, "/v1/orders/stream?ready=1&order_id=" + order["id"]),
            timeout=TIMEOUT)
        try:
            self.assertEqual(recv_json(ws), {"ready": True})
            self.assertEqual(self.post("/v1/orders/%s:cancel" % order["id"], {}).status_code, 200)
            self.assertEqual(recv_json(ws)["status"], "ORDER_STATUS_CANCELLED")
            self.assertEqual(close_of(ws)[0], 1000)  # a cancelled order's watch ends OK
        finally:
            ws.close()

    def test_bad_stream_requests_upgrade_then_close_with_status(self):
        cases = [("/v1/orders/stream", 4003),  # neither user_id nor order_id: INVALID_ARGUMENT
                 ("/v1/orders/stream?order_id=01a23668-8864-74a9-9d46-ac2ef1d6e439", 4005),
                 ("/v1/orders/stream?colour=red", 4003)]
        for path, code in cases:
            ws = websocket.create_connection(ws_url(self.base, path), timeout=TIMEOUT)
            try:
                got, reason = close_of(ws)
                self.assertEqual(got, code, (path, reason))
                self.assertTrue(reason, path)
            finally:
                ws.close()

    def test_user_stream(self):
        ws = websocket.create_connection(ws_url(self.base, "/v1/users/stream?ready=1"),
                                         timeout=TIMEOUT)
        try:
            self.assertEqual(recv_json(ws), {"ready": True})
            user = self.create_user()
            update = recv_json(ws)
            while update["userId"] != user["id"]:
                update = recv_json(ws)
            self.assertEqual(update["type"], "UPDATE_TYPE_CREATED")
            self.assertEqual(update["user"]["email"], user["email"])
        finally:
            ws.close()

    def test_chat_replies_in_order(self):
        self.chat_in_order_then_bad_json(20)

    # --- the generic route ---
    def test_generic_unary_method(self):
        user = self.create_user()
        r = self.post("/user.v1.UserService/GetUser", {"id": user["id"]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["email"], user["email"])
        self.assert_error(self.post("/user.v1.UserService/NoSuchMethod", {}), 404, 5)
        self.assert_error(self.post("/user.v1.UserService/ListUsers", {}), 501, 12)
        r = self.http.get(self.base + "/user.v1.UserService/GetUser")
        self.assert_error(r, 405, 12)
        self.assertEqual(r.headers["Allow"], "POST")

    # --- errors ---
    def test_error_mapping(self):
        e = self.assert_error(self.post("/v1/users", {"name": "x", "colour": "red"}), 400, 3)
        self.assertIn("colour", e["message"])
        e = self.assert_error(self.post("/v1/products", {"sku": "A", "initial_stock": "many"}),
                              400, 3)
        self.assertIn("initial_stock", e["message"].replace("initialStock", "initial_stock"))
        self.assert_error(self.http.post(self.base + "/v1/users", data="{\"name\":",
                                         headers=JSON), 400, 3, "invalid JSON")
        self.assert_error(self.http.post(self.base + "/v1/users", data=b'{"name":"\xff\xfe"}',
                                         headers=JSON), 400, 3)
        self.assert_error(self.get("/v1/users/not-a-uuid"), 400, 3, "id")
        self.assert_error(self.get("/v1/users?page_size=ten"), 400, 3, "page_size")
        reply = raw_exchange(self.port, b"GET /v1/users?page_token=%zz HTTP/1.1\r\nHost: x\r\n"
                             b"Connection: close\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:80])
        self.assertIn(b"percent", reply)
        self.assert_error(self.get("/v1/nothing/here"), 404, 5)
        r = self.http.put(self.base + "/v1/users/x")
        self.assert_error(r, 405, 12)
        self.assertEqual(r.headers["Allow"], "GET, PATCH, DELETE")
        self.assert_error(self.http.post(self.base + "/v1/users", data="name=x",
                                         headers={"Content-Type": "text/plain"}), 415, 3)
        self.assert_error(self.http.post(self.base + "/v1/users", data="x" * (1024 * 1024 + 1),
                                         headers=JSON), 413, 8)
        self.assert_error(self.http.get(self.base + "/v1/users", headers={"X-Big": "a" * 20000}),
                          431, 8)

    def test_curl(self):
        out = subprocess.run(["curl", "-sS", "-i", "-X", "POST", self.base + "/v1/users",
                              "-H", "Content-Type: application/json",
                              "-d", json.dumps({"name": "Cu", "email": unique("cu") + "@x.org"})],
                             capture_output=True, text=True, timeout=TIMEOUT, check=True).stdout
        self.assertTrue(out.startswith("HTTP/1.1 201"), out)
        self.assertRegex(out, r"(?i)location: /v1/users/[0-9a-f-]{36}")
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                              self.base + "/v1/products/none"], capture_output=True, text=True,
                             timeout=TIMEOUT, check=True).stdout
        self.assertEqual(out, "404")

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        with requests.Session() as s:
            for _ in range(50):
                self.assertEqual(s.get(self.base + "/v1/users?page_size=1").status_code, 200)
            # One connection in the pool, reused.
            self.assertEqual(len(s.adapters["http://"].poolmanager.pools), 1)

    # --- hostile input ---
    def test_bad_input_keeps_the_server_serving(self):
        # A truncated request: the client gives up halfway.
        raw_exchange(self.port, b"POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                     b"Content-Type: application/json\r\n\r\n{\"na", read=False)
        # Garbage instead of HTTP: 400 and closed.
        reply = raw_exchange(self.port, b"\x16\x03\x01 hello\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:80])
        # A handshake without Sec-WebSocket-Key: refused, no upgrade.
        reply = raw_exchange(self.port, b"GET /v1/support/chat HTTP/1.1\r\nHost: x\r\n"
                             b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Version: 13\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:80])
        # An upgrade to a path that is no WebSocket: 404.
        reply = raw_exchange(self.port, b"GET /v1/users HTTP/1.1\r\nHost: x\r\n"
                             b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                             b"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 404"), reply[:80])
        # An unmasked client frame is a protocol error: the socket is closed (1002).
        ws = websocket.create_connection(ws_url(self.base, "/v1/support/chat"), timeout=TIMEOUT)
        try:
            ws.sock.sendall(b"\x81\x02hi")  # FIN + text, no mask bit
            code, _ = close_of(ws)
            self.assertEqual(code, 1002)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            pass  # closed without a close frame: also refused
        finally:
            ws.close()
        # A message over the 64 KiB cap: closed 1009.
        ws = websocket.create_connection(ws_url(self.base, "/v1/support/chat"), timeout=TIMEOUT)
        try:
            ws.send("x" * (65 * 1024))
            code, _ = close_of(ws)
            self.assertEqual(code, 1009)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            pass  # closed while the client was still sending: also refused
        finally:
            ws.close()
        # A fragmented chat message (two frames) is one message.
        ws = websocket.create_connection(ws_url(self.base, "/v1/support/chat"), timeout=TIMEOUT)
        try:
            text = json.dumps({"messageId": "7", "text": "help"})
            ws.send_frame(websocket.ABNF.create_frame(text[:5], websocket.ABNF.OPCODE_TEXT, fin=0))
            ws.send_frame(websocket.ABNF.create_frame(text[5:], websocket.ABNF.OPCODE_CONT, fin=1))
            self.assertEqual(recv_json(ws)["inReplyTo"], "7")
        finally:
            ws.close()

    def test_many_watchers_then_closed_leave_nothing_behind(self):
        count = int(os.environ.get("GATEWAY_WATCHERS", "1000"))
        sockets = []
        try:
            for _ in range(count):
                sockets.append(websocket.create_connection(
                    ws_url(self.base, "/v1/users/stream"), timeout=TIMEOUT))
            user = self.create_user()
            for ws in sockets[:: max(1, count // 20)]:  # a sample sees the update
                update = recv_json(ws)
                while update["userId"] != user["id"]:
                    update = recv_json(ws)
        finally:
            for ws in sockets:
                ws.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            metrics = requests.get("http://127.0.0.1:%d/metrics" % self.admin).text
            in_flight = sum(float(v) for v in re.findall(
                r"^percore_shard_calls_in_flight\{[^}]*\} (\S+)$", metrics, re.M))
            if in_flight == 0:
                break
            time.sleep(0.05)
        self.assertEqual(in_flight, 0)

    def test_slow_reader_is_bounded_and_closed(self):
        user = self.create_user()
        ws = websocket.create_connection(
            ws_url(self.base, "/v1/users/stream?ready=1&user_id=" + user["id"]), timeout=TIMEOUT,
            sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
        try:
            self.assertEqual(recv_json(ws), {"ready": True})
            # The reader stops reading while its user changes many times (fat updates).
            name = "n" * 190
            for i in range(2000):
                r = self.http.patch(self.base + "/v1/users/" + user["id"],
                                    json={"name": "%s%d" % (name, i)})
                self.assertEqual(r.status_code, 200)
            # Reading again: what the server had queued, then the close that bounded it.
            received = 0
            while True:
                opcode, data = ws.recv_data(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    code = struct.unpack("!H", data[:2])[0]
                    break
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    received += 1
            self.assertEqual(code, 4008, data)  # RESOURCE_EXHAUSTED: the watch fell behind
            self.assertLess(received, 2000)
        finally:
            ws.close()


    def test_request_timeout_headers(self):
        user = self.create_user()
        path = "/v1/users/" + user["id"]
        for headers in [{"Grpc-Timeout": "5S"}, {"X-Request-Timeout": "2.5"},
                        {"Grpc-Timeout": "99999999H"}]:  # capped at 30 s, still served
            r = self.http.get(self.base + path, headers=headers, timeout=TIMEOUT)
            self.assertEqual(r.status_code, 200, (headers, r.text))
        for headers in [{"Grpc-Timeout": "1n"}, {"X-Request-Timeout": "0"}]:  # already past
            self.assert_error(self.http.get(self.base + path, headers=headers, timeout=TIMEOUT),
                              504, 4)
        for name, value in [("Grpc-Timeout", "5 seconds"), ("Grpc-Timeout", "123456789S"),
                            ("X-Request-Timeout", "soon"), ("X-Request-Timeout", "-1")]:
            r = self.http.get(self.base + path, headers={name: value}, timeout=TIMEOUT)
            self.assert_error(r, 400, 3, name)

    def test_head_has_the_gets_headers_and_no_body(self):
        page = self.get("/").content
        reply = raw_exchange(self.port, b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"
                                        b"GET /no/such HTTP/1.1\r\nHost: t\r\nConnection: close"
                                        b"\r\n\r\n")
        head, rest = reply.split(b"\r\n\r\n", 1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"Content-Length: %d" % len(page), head)
        # No body: the next bytes on the connection are the second request's answer.
        self.assertTrue(rest.startswith(b"HTTP/1.1 404"), rest[:80])

    # --- metrics (issue 12: the gateway's series on the admin /metrics) ---
    def http_metrics(self):
        """{(route, method, code): requests} and {(route, method): timed answers} of /metrics."""
        page = requests.get("http://127.0.0.1:%d/metrics" % self.admin, timeout=TIMEOUT).text
        counts, timed = {}, {}
        for line in page.splitlines():
            m = re.match(r'percore_http_requests_total\{code="([^"]+)",method="([^"]+)",'
                         r'route="([^"]+)"\} (\S+)$', line)
            if m:
                counts[(m.group(3), m.group(2), m.group(1))] = float(m.group(4))
            m = re.match(r'percore_http_request_duration_seconds_count\{method="([^"]+)",'
                         r'route="([^"]+)"\} (\S+)$', line)
            if m:
                timed[(m.group(2), m.group(1))] = float(m.group(3))
        return counts, timed

    def test_http_metrics_count_exactly(self):
        before, timed_before = self.http_metrics()
        # Every route has its success code's series from the start.
        for key in [("/v1/users", "POST", "201"), ("/v1/users/{id}", "DELETE", "204"),
                    ("/v1/orders/{id}:cancel", "POST", "200"), ("/v1/users/stream", "GET", "101"),
                    ("/{package.Service}/{Method}", "POST", "200"),
                    ("/v1/payments/{transaction_id}", "GET", "200")]:
            self.assertIn(key, before)
        user = self.create_user()
        for _ in range(3):
            self.assertEqual(self.get("/v1/users/" + user["id"]).status_code, 200)
        self.assertEqual(self.get("/v1/users/01a23668-8864-74a9-9d46-ac2ef1d6e439").status_code,
                         404)
        self.assertEqual(self.post("/v1/users", {"colour": "red"}).status_code, 400)
        self.assertEqual(self.get("/no/such/route").status_code, 404)
        self.assertEqual(self.http.delete(self.base + "/v1/products").status_code, 405)
        self.assertEqual(self.post("/user.v1.UserService/GetUser", {"id": user["id"]}).status_code,
                         200)
        websocket.create_connection(ws_url(self.base, "/v1/users/stream"),
                                    timeout=TIMEOUT).close()
        # The upgrade is counted on the io thread once the handshake is written, which the
        # client may see first: a few scrapes until the io thread has caught up.
        deadline = time.monotonic() + TIMEOUT
        while True:
            after, timed_after = self.http_metrics()
            delta = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
            if ("/v1/users/stream", "GET", "101") in delta or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.assertEqual(delta, {
            ("/v1/users", "POST", "201"): 1,
            ("/v1/users/{id}", "GET", "200"): 3,
            ("/v1/users/{id}", "GET", "404"): 1,
            ("/v1/users", "POST", "400"): 1,
            ("(unrouted)", "GET", "404"): 1,
            ("(unrouted)", "DELETE", "405"): 1,
            ("/{package.Service}/{Method}", "POST", "200"): 1,
            ("/v1/users/stream", "GET", "101"): 1,
        })
        self.assertEqual(timed_after[("/v1/users/{id}", "GET")] -
                         timed_before[("/v1/users/{id}", "GET")], 4)
        self.assertEqual(timed_after[("/v1/users", "POST")] - timed_before[("/v1/users", "POST")],
                         2)
        page = requests.get("http://127.0.0.1:%d/metrics" % self.admin, timeout=TIMEOUT).text
        self.assertIn('percore_http_request_duration_seconds_bucket{method="GET",'
                      'route="/v1/users/{id}",le="1e-05"}', page)  # grpc_server_handling_seconds'
        if shutil.which("promtool"):
            proc = subprocess.run(["promtool", "check", "metrics"], input=page, text=True,
                                  capture_output=True)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
