"""The HTTP gateway's trace context and deadlines, end to end (issue 12 item 4: `traceparent` /
`tracestate` "returned in the response metadata"; issue 11: a live deadline reaches the peer).
Five percore-servers: the edge (user hosted, --http, --peer inventory, payment and order,
--trace-log), inventory, payment (--trace-log, --admin), order (--trace-log; its peers user at
the edge, inventory, payment), and an edge without --trace-log. With python3-requests:
  - every answer carries a `traceparent` naming the request's trace id (2xx, the errors of a
    hosted call, of a peer call and the gateway's own: 404, 405, 400, 504), the cleaned
    `tracestate` echoed; a traced call's answer names its span in the edge's --trace-log;
  - a malformed `traceparent` (wrong length, all-zero ids, bad or upper-case hex, version ff)
    gets a fresh trace, never the value sent, and its tracestate is dropped;
  - the HTTP layer's own answers (core/http: 400 to a malformed request, 413, 431, 404 to an
    upgrade at no WebSocket path), the WebSocket handshake's 101 and the web page's files carry
    one too: the request's trace continued where its header was read, else a fresh one;
  - one request without a traceparent followed by the trace id its answer names into the span
    lines of the edge (the client span) and of the payment peer (the server span);
  - a short deadline header on a call the payment peer holds until the deadline (token
    tok_timeout) answers 504 long before the no-deadline 30 s, the peer's call ended then;
  - a live deadline reaches the order peer: its saga's payment step, otherwise bounded by its
    own 2 s budget, ends DeadlineExceeded well within that budget when the edge's request has
    `Grpc-Timeout: 500m` (a deadline kept at the edge only would reach the peer as a cancel, and
    the step would run its whole budget: checked by hand, 2.0 s).
Usage: gateway_trace_python_test.py PATH/TO/percore-server"""

import re
import socket
import sys
import time
import unittest
import uuid

import websocket

from gateway_support import TIMEOUT, GatewayClient, PeerPlacement, unique
from percore_py import admin

SERVER = None
NO_TX = "txn_00000000deadbeef"  # well-formed, never issued: GetPayment's NOT_FOUND
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$")
TRACE, PARENT = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
VALID = "00-%s-%s-01" % (TRACE, PARENT)
MALFORMED = [
    "00-%s-%s-01" % (TRACE[:-1], PARENT),         # wrong length (trace id one short)
    VALID + "0",                                  # wrong length (version 00 is 55 exactly)
    "00-%s-%s-01" % ("0" * 32, PARENT),           # all-zero trace id
    "00-%s-%s-01" % (TRACE, "0" * 16),            # all-zero span id
    "00-%s-%s-01" % ("zz" + TRACE[2:], PARENT),   # bad hex
    "00-%s-%s-01" % (TRACE.upper(), PARENT),      # upper-case hex
    "ff-%s-%s-01" % (TRACE, PARENT),              # version ff
    "00_%s_%s_01" % (TRACE, PARENT),              # wrong separators
    "",
]
# The time a call the payment peer holds (tok_timeout) takes without a deadline header: the
# gateway's default deadline, 30 s (GatewayOptions::call_timeout; payment's max_hold is 30 s too).
NO_DEADLINE_SECONDS = 30


class GatewayTraceTest(PeerPlacement, GatewayClient, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        def start_plain():  # an edge without --trace-log
            cls.plain = cls.spawn(*cls.COMMON, "--services", "user", "--http", "127.0.0.1:0")

        cls.start_placement(SERVER, traced=("edge", "payment", "order"), with_admin=("payment",),
                            then=start_plain)
        cls.plain_base = "http://127.0.0.1:%d" % cls.plain.logged_ports("HTTP gateway")[0]

    def send(self, method, path, base=None, body=None, **headers):
        kw = {"json": body} if body is not None else {}
        return self.http.request(method, (base or self.base) + path, headers=headers,
                                 timeout=TIMEOUT, **kw)

    def context_of(self, r):
        """(trace id, span id) of the answer's traceparent, which must be there and valid."""
        value = r.headers.get("traceparent")
        self.assertIsNotNone(value, "no traceparent on %d %s" % (r.status_code, r.url))
        match = TRACEPARENT.match(value)
        self.assertTrue(match, value)
        self.assertNotEqual(match.group(1), "0" * 32)
        self.assertNotEqual(match.group(2), "0" * 16)
        return match.group(1), match.group(2)

    def answers(self, base, **headers):
        """One answer of each kind, with `headers`: {what: (response, expected status)}."""
        user = self.send("POST", "/v1/users", base, {"name": "Ann", "email": unique("a") + "@x.io"},
                         **headers)
        self.assertEqual(user.status_code, 201, user.text)
        uid = user.json()["id"]
        out = {
            "201 hosted": (user, 201),
            "200 hosted": (self.send("GET", "/v1/users/" + uid, base, **headers), 200),
            "404 hosted": (self.send("GET", "/v1/users/" + str(uuid.uuid4()), base, **headers),
                           404),
            "404 no route": (self.send("GET", "/v1/nowhere", base, **headers), 404),
            "405": (self.send("PUT", "/v1/users", base, **headers), 405),
            "400 bad field": (self.send("POST", "/v1/users", base, {"colour": 1}, **headers), 400),
            "400 bad timeout": (self.send("GET", "/v1/users/" + uid, base,
                                          **{"X-Request-Timeout": "soon"}, **headers), 400),
            "504 hosted": (self.send("GET", "/v1/users/" + uid, base,
                                     **{"Grpc-Timeout": "1n"}, **headers), 504),
        }
        if base == self.base:  # the edge with the payment peer
            out["404 peer"] = (self.send("GET", "/v1/payments/" + NO_TX, base, **headers), 404)
            out["504 peer"] = (self.send("GET", "/v1/payments/" + NO_TX, base,
                                         **{"Grpc-Timeout": "1n"}, **headers), 504)
        for what, (r, status) in out.items():
            self.assertEqual(r.status_code, status, "%s: %s" % (what, r.text))
        return out

    def test_answers_name_the_requests_trace(self):
        for base in (self.base, self.plain_base):
            answers = self.answers(base, traceparent=VALID, tracestate="a=1,Bad=x,b=2")
            for what, (r, _) in answers.items():
                with self.subTest(base=base, answer=what):
                    trace, span = self.context_of(r)
                    self.assertEqual(trace, TRACE)
                    self.assertNotEqual(span, PARENT)  # this server's part, not the caller's
                    self.assertTrue(r.headers["traceparent"].endswith("-01"))
                    self.assertEqual(r.headers.get("tracestate"), "a=1,b=2")  # cleaned

    def test_traced_answer_names_its_span(self):
        """With --trace-log, a hosted call's answer names its server span, a peer call's answer
        the edge's client span: both in the edge's span lines, children of the caller's."""
        hosted = self.send("POST", "/v1/users", None,
                           {"name": "Bo", "email": unique("b") + "@x.io"}, traceparent=VALID)
        self.assertEqual(hosted.status_code, 201, hosted.text)
        peer = self.send("GET", "/v1/payments/" + NO_TX, traceparent=VALID)
        self.assertEqual(peer.status_code, 404, peer.text)
        named = {self.context_of(r)[1]: r for r in (hosted, peer)}
        spans = {s["span_id"]: s for s in self.spans("edge", TRACE, span_ids=named)
                 if s["span_id"] in named}
        self.assertEqual(set(spans), set(named))
        ids = {r: s for s, r in named.items()}
        self.assertEqual((spans[ids[hosted]]["kind"], spans[ids[hosted]]["name"]),
                         ("server", "user.v1.UserService/CreateUser"))
        self.assertEqual((spans[ids[peer]]["kind"], spans[ids[peer]]["name"]),
                         ("client", "payment.v1.PaymentService/GetPayment"))
        for span in spans.values():
            self.assertEqual(span["parent_span_id"], PARENT)

    def test_absent_or_malformed_traceparent_gets_a_fresh_trace(self):
        seen = set()
        for base in (self.base, self.plain_base):
            for value in [None] + MALFORMED:
                headers = {"tracestate": "a=1"}
                if value is not None:
                    headers["traceparent"] = value
                for r in (self.send("GET", "/v1/users/" + str(uuid.uuid4()), base, **headers),
                          self.send("GET", "/v1/nowhere", base, **headers)):
                    with self.subTest(base=base, traceparent=value, status=r.status_code):
                        self.assertEqual(r.status_code, 404, r.text)
                        trace, _ = self.context_of(r)
                        self.assertNotEqual(r.headers["traceparent"], value)  # never echoed
                        self.assertNotEqual(trace, TRACE)
                        self.assertNotIn(trace, seen)  # a new trace each time
                        seen.add(trace)
                        # A tracestate is kept only beside a valid traceparent.
                        self.assertNotIn("tracestate", r.headers)

    def raw(self, head, body=b""):
        """Sends `head` (CRLF-joined, then a blank line) and `body` on a fresh connection to the
        edge; returns the answer's (status, {lower-case header: value})."""
        port = int(self.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        lines = data.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers

    def own_answers(self, traceparent):
        """The HTTP layer's own answers and the handshake, each with `traceparent` (and a
        tracestate): {what: (status, headers, whether the request's header was read)}."""
        tp = "traceparent: " + traceparent
        ts = "tracestate: a=1,Bad=x,b=2"
        upgrade = ["Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
        out = {
            "431": self.raw(["GET /v1/nowhere HTTP/1.1", "Host: x", tp, ts,
                             "X-Big: " + "a" * (20 << 10)]) + (False,),
            "413": self.raw(["POST /v1/users HTTP/1.1", "Host: x", tp, ts,
                             "Content-Type: application/json",
                             "Content-Length: %d" % (2 << 20)], b"{") + (None,),
            "400": self.raw(["GET /v1/nowhere HTTP/1.1", "Host: x", tp, ts,
                             "Content-Length: abc"]) + (None,),
            "404 upgrade": self.raw(["GET /v1/nowhere HTTP/1.1", "Host: x", tp, ts] +
                                    upgrade) + (True,),
            "101": self.raw(["GET /v1/users/stream?user_id=%s HTTP/1.1" % uuid.uuid4(),
                             "Host: x", tp, ts] + upgrade) + (True,),
            "200 page": self.raw(["GET / HTTP/1.1", "Host: x", tp, ts]) + (True,),
        }
        for what, status in (("431", 431), ("413", 413), ("400", 400), ("404 upgrade", 404),
                             ("101", 101)):
            self.assertEqual(out[what][0], status, what)
        self.assertIn(out["200 page"][0], (200, 404))  # 404 when the page is not installed
        return out

    def test_the_http_layers_own_answers_and_the_handshake_name_a_trace(self):
        for what, (status, headers, read) in self.own_answers(VALID).items():
            with self.subTest(answer=what, status=status):
                value = headers.get("traceparent")
                self.assertIsNotNone(value, "no traceparent on the %s answer" % what)
                match = TRACEPARENT.match(value)
                self.assertTrue(match, value)
                self.assertNotEqual(match.group(2), PARENT)
                if read:  # the request's trace continued, its tracestate cleaned
                    self.assertEqual(match.group(1), TRACE)
                    self.assertEqual(headers.get("tracestate"), "a=1,b=2")
                elif read is False:  # nothing of the request read: a fresh trace
                    self.assertNotEqual(match.group(1), TRACE)
        # A client library's handshake sees it as well.
        ws = websocket.create_connection(
            self.base.replace("http://", "ws://") + "/v1/users/stream?user_id=%s" % uuid.uuid4(),
            timeout=TIMEOUT, header=["traceparent: " + VALID])
        try:
            self.assertEqual(TRACEPARENT.match(ws.getheaders()["traceparent"]).group(1), TRACE)
        finally:
            ws.close()

    def test_own_answers_never_echo_a_malformed_traceparent(self):
        seen = set()
        for value in MALFORMED[:-1]:
            for what, (status, headers, _) in self.own_answers(value).items():
                with self.subTest(traceparent=value, answer=what):
                    match = TRACEPARENT.match(headers.get("traceparent", ""))
                    self.assertTrue(match, headers)
                    self.assertNotEqual(headers["traceparent"], value)
                    self.assertNotEqual(match.group(1), TRACE)
                    self.assertNotIn(match.group(1), seen)
                    seen.add(match.group(1))
                    self.assertNotIn("tracestate", headers)

    def test_one_request_followed_into_the_edge_and_the_peer(self):
        """A request without a traceparent: its answer names a new trace, which the edge's
        client span and the payment peer's server span carry (the peer's a child of the edge's)."""
        r = self.send("POST", "/payment.v1.PaymentService/ProcessPayment", None, {
            "orderId": str(uuid.uuid4()), "amount": {"amountMinor": "250", "currency": "EUR"},
            "method": {"token": "tok_approve"}, "idempotencyKey": unique("follow-")})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["status"], "PAYMENT_STATUS_APPROVED")
        trace, span = self.context_of(r)
        edge = self.spans("edge", trace, 1)
        self.assertEqual([(s["span_id"], s["kind"], s["name"], s["parent_span_id"], s["grpc_code"])
                          for s in edge],
                         [(span, "client", "payment.v1.PaymentService/ProcessPayment", "", "OK")])
        peer = self.spans("payment", trace, 1)
        self.assertEqual([(s["kind"], s["name"], s["parent_span_id"], s["grpc_code"])
                          for s in peer],
                         [("server", "payment.v1.PaymentService/ProcessPayment", span, "OK")])

    def handled(self, code):
        labels = frozenset(dict(grpc_type="unary", grpc_service="payment.v1.PaymentService",
                                grpc_method="ProcessPayment", grpc_code=code).items())
        return admin.metrics(self.admins["payment"]).get(("grpc_server_handled_total", labels), 0)

    def test_deadline_ends_the_peers_held_call(self):
        """tok_timeout: the payment peer holds the call until the caller's deadline (or 30 s).
        With a 1 s deadline header the answer is 504 well before the no-deadline 30 s, and the
        peer's call ended then (its span and grpc_server_handled_total: DeadlineExceeded, or
        Canceled when the edge's cancel at the deadline overtakes the peer's own timer, the
        usual gRPC race; which one the peer saw is test_live_deadline_reaches_the_peer's)."""
        for header, value in (("Grpc-Timeout", "1S"), ("X-Request-Timeout", "1")):
            with self.subTest(header=header):
                ended = ("DeadlineExceeded", "Canceled")
                before = sum(self.handled(code) for code in ended)
                started = time.monotonic()
                r = self.send("POST", "/payment.v1.PaymentService/ProcessPayment", None, {
                    "orderId": str(uuid.uuid4()),
                    "amount": {"amountMinor": "250", "currency": "EUR"},
                    "method": {"token": "tok_timeout"}, "idempotencyKey": unique("held-")},
                    **{header: value})
                elapsed = time.monotonic() - started
                self.assert_error(r, 504, 4)
                self.assertLess(elapsed, NO_DEADLINE_SECONDS / 2)
                trace, span = self.context_of(r)
                peer = self.spans("payment", trace)
                self.assertEqual([(s["name"], s["parent_span_id"]) for s in peer],
                                 [("payment.v1.PaymentService/ProcessPayment", span)])
                self.assertIn(peer[0]["grpc_code"], ended)
                self.assertLess(peer[0]["duration_us"], NO_DEADLINE_SECONDS / 2 * 1e6)
                deadline = time.monotonic() + TIMEOUT
                while (sum(self.handled(code) for code in ended) == before
                       and time.monotonic() < deadline):
                    time.sleep(0.05)
                self.assertEqual(sum(self.handled(code) for code in ended), before + 1)

    def place_held_order(self, **headers):
        """An order paid with tok_timeout (the payment peer never approves it) through the
        edge, to the order peer: (the answer, seconds it took, the order peer's client span of
        its payment step)."""
        user = self.post("/v1/users", {"name": "Di", "email": unique("d") + "@x.io"}).json()
        r = self.post("/v1/products", {"sku": unique("SKU-"), "name": "Mug", "initial_stock": "9",
                                       "price": {"currency": "EUR", "amount_minor": "250"}})
        self.assertEqual(r.status_code, 201, r.text)
        started = time.monotonic()
        r = self.send("POST", "/v1/orders", None, {
            "userId": user["id"], "items": [{"sku": r.json()["sku"], "quantity": "1"}],
            "payment_method": {"token": "tok_timeout"}}, **headers)
        elapsed = time.monotonic() - started
        trace, _ = self.context_of(r)
        deadline = time.monotonic() + TIMEOUT
        while True:
            steps = [s for s in self.spans("order", trace)
                     if s["name"] == "payment.v1.PaymentService/ProcessPayment"]
            if steps or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(len(steps), 1, steps)
        return r, elapsed, steps[0]

    def test_live_deadline_reaches_the_peer(self):
        """The order peer's payment step is bounded by the earlier of the caller's deadline and
        its own 2 s budget (OrderServiceOptions::payment_deadline). Without a deadline header the
        step runs the 2 s budget out; with `Grpc-Timeout: 500m` at the edge the step ends
        DeadlineExceeded in well under the budget, and the edge answers 504 in under half the
        no-deadline time: the order peer knew the caller's deadline (the edge's cancel alone
        would have left the saga's step its whole budget)."""
        budget_us = 2_000_000
        _, unbounded, step = self.place_held_order()
        self.assertEqual(step["grpc_code"], "DeadlineExceeded")
        self.assertGreaterEqual(step["duration_us"], budget_us / 2)  # the budget, not a deadline
        r, bounded, step = self.place_held_order(**{"Grpc-Timeout": "500m"})
        self.assert_error(r, 504, 4)
        self.assertLess(bounded, unbounded / 2)
        self.assertEqual(step["grpc_code"], "DeadlineExceeded")
        self.assertLess(step["duration_us"], budget_us / 2)
        # The order peer's own server span of the call ended by that deadline.
        trace, span = self.context_of(r)
        server = [s for s in self.spans("order", trace) if s["kind"] == "server"]
        self.assertEqual([(s["name"], s["parent_span_id"]) for s in server],
                         [("order.v1.OrderService/CreateOrder", span)])
        self.assertIn(server[0]["grpc_code"], ("DeadlineExceeded", "Canceled"))


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
