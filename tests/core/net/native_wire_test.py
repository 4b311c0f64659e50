"""core/net's wire server against clients percore did not write: Debian's Python grpcio (generic
calls, bytes in and out), raw HTTP/2 from python3-h2 where grpcio cannot misbehave on purpose,
and h2load. The server is tests/core/net/echo_server.cc: LoopMode::kEpoll, two shards.
Usage: native_wire_test.py PATH/TO/net_echo_server"""

import os
import resource
import signal
import socket
import subprocess
import sys
import time
import unittest

import grpc

import wire_support
from wire_support import (MAX_MESSAGE, TIMEOUT, RawH2, channel, grpc_frame, hpack_string,
                          never_indexed_authorization, raw_authorization, request_block)
from percore_py.h2_bytes import hpack_literal as literal

TOKEN_A = b"Bearer " + b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0." + b"A" * 100
TOKEN_B = b"Bearer " + b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiIn0." + b"B" * 100  # as long as A

SERVER_BINARY = None


def start_server(*args):
    return wire_support.start_server(SERVER_BINARY, *args)


class EchoServerCase(unittest.TestCase):
    """An echo server with SHARDS shards for the class's cases, and its Info counters."""
    SHARDS = "1"
    proc = None
    port = 0

    @classmethod
    def setUpClass(cls):
        cls.proc, cls.port = start_server("--shards", cls.SHARDS)
        cls.channel = channel(cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.proc.send_signal(signal.SIGTERM)
        out, _ = cls.proc.communicate(timeout=TIMEOUT)
        assert cls.proc.returncode == 0, cls.proc.returncode
        # Every stream was freed exactly once by the end.
        assert "live_streams=0" in out, out

    def counter(self, name):
        reply = self.channel.unary_unary("/test.Echo/Info")(b"", timeout=TIMEOUT)
        info = dict(item.split("=", 1) for item in reply.decode("latin-1").split(" "))
        return int(info[name])


class NativeWireTest(EchoServerCase):
    SHARDS = "2"

    def info(self):
        reply = self.channel.unary_unary("/test.Echo/Info")(b"", timeout=TIMEOUT)
        return dict(item.split("=", 1) for item in reply.decode("latin-1").split(" "))

    def wait_for(self, predicate, what):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            info = self.info()
            if predicate(info):
                return info
            time.sleep(0.02)
        self.fail("timed out waiting for %s (last: %s)" % (what, info))

    # --- unary, streams, status ---------------------------------------------------------------

    def test_unary_echoes_bytes_and_both_shards_serve(self):
        shards = set()
        for i in range(16):
            ch = channel(self.port, own_connection=True)
            payload = bytes(range(256)) * (i + 1)
            response, call = ch.unary_unary("/test.Echo/Unary").with_call(payload, timeout=TIMEOUT)
            self.assertEqual(response, payload)
            self.assertEqual(call.code(), grpc.StatusCode.OK)
            shards.add(dict(call.initial_metadata())["x-shard"])
            ch.close()
        self.assertEqual(shards, {"0", "1"}, "SO_REUSEPORT should spread 16 connections")
        self.assertEqual(self.channel.unary_unary("/test.Echo/Unary")(b"", timeout=TIMEOUT), b"")

    def test_server_stream_sends_every_copy_through_backpressure(self):
        payload = b"s" * 1000
        replies = list(self.channel.unary_stream("/test.Echo/ServerStream")(
            payload, metadata=(("copies", "2000"),), timeout=TIMEOUT))
        self.assertEqual(len(replies), 2000)  # 2 MB: past the 256 KiB write queue many times
        self.assertTrue(all(r == payload for r in replies))

    def test_bidi_echoes_each_message_in_order(self):
        messages = [b"m%d-" % i + b"x" * (i * 997 % 70000) for i in range(300)]
        replies = list(self.channel.stream_stream("/test.Echo/Bidi")(iter(messages),
                                                                    timeout=TIMEOUT))
        self.assertEqual(replies, messages)

    def test_error_status_message_and_trailing_metadata(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.channel.unary_unary("/test.Echo/Error")(b"x", timeout=TIMEOUT)
        error = caught.exception
        self.assertEqual(error.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(error.details(), "100% wrong:\nünïcode \x01 done")
        trailing = dict(error.trailing_metadata())
        self.assertEqual(trailing["x-detail"], "trailing")
        self.assertEqual(trailing["x-detail-bin"], b"\x00\x01\x02\xff")

    def test_error_message_is_percent_encoded_on_the_wire(self):
        raw = RawH2(self.port)
        sid = raw.request("/test.Echo/Error", body=grpc_frame(b""))
        self.assertTrue(raw.pump(lambda: sid in raw.ended))
        headers = raw.headers[sid]
        self.assertEqual(headers["grpc-status"], "9")
        self.assertEqual(headers["grpc-message"], "100%25 wrong:%0A%C3%BCn%C3%AFcode %01 done")
        self.assertNotIn(sid, raw.data, "an error with no messages is Trailers-Only")
        raw.close()

    def test_unknown_method_is_unimplemented(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.channel.unary_unary("/test.Nope/Missing")(b"x", timeout=TIMEOUT)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_metadata_bin_is_decoded_and_peer_named(self):
        reply = self.channel.unary_unary("/test.Echo/Info")(
            b"", metadata=(("x-echo-bin", b"\x00\x01zz"),), timeout=TIMEOUT)
        text = reply.decode("latin-1")
        self.assertRegex(text, r"peer=ipv4:127\.0\.0\.1:\d+ ")
        self.assertIn(" bin=\x00\x01zz ", text)
        self.assertIn("deadline=set", text)

    # --- deadlines and cancellation -----------------------------------------------------------

    def test_deadline_exceeded_and_the_server_sees_the_cancellation(self):
        before = int(self.info()["wait_cancels"])
        with self.assertRaises(grpc.RpcError) as caught:
            self.channel.unary_unary("/test.Echo/Wait")(b"", timeout=0.1)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.wait_for(lambda i: int(i["wait_cancels"]) == before + 1, "the cancellation callback")

    def test_server_answers_deadline_exceeded_itself(self):
        raw = RawH2(self.port)
        sid = raw.request("/test.Echo/Wait", extra=[("grpc-timeout", "50m")],
                          body=grpc_frame(b""))
        self.assertTrue(raw.pump(lambda: sid in raw.ended))
        self.assertEqual(raw.headers[sid]["grpc-status"], "4")
        raw.close()

    def test_client_cancel_runs_the_cancellation_callback(self):
        before = int(self.info()["wait_cancels"])
        future = self.channel.unary_unary("/test.Echo/Wait").future(b"", timeout=TIMEOUT)
        time.sleep(0.2)
        self.assertTrue(future.cancel())
        self.wait_for(lambda i: int(i["wait_cancels"]) == before + 1, "the cancellation callback")

    # --- limits and malformed requests --------------------------------------------------------

    def test_oversized_message_refused_from_its_prefix(self):
        raw = RawH2(self.port)
        # Only the prefix (and 10 bytes) of a 2 MiB message: the answer must not wait for the rest.
        prefix = b"\x00" + (2 * MAX_MESSAGE).to_bytes(4, "big")
        sid = raw.request("/test.Echo/Unary", body=prefix + b"0123456789", end=False)
        self.assertTrue(raw.pump(lambda: sid in raw.ended))
        self.assertEqual(raw.headers[sid]["grpc-status"], "8")
        self.assertIn("larger than max", raw.headers[sid]["grpc-message"])
        raw.close()
        with self.assertRaises(grpc.RpcError) as caught:
            self.channel.unary_unary("/test.Echo/Unary")(b"z" * (MAX_MESSAGE + 1), timeout=TIMEOUT)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        # At the limit exactly it is served.
        self.assertEqual(len(self.channel.unary_unary("/test.Echo/Unary")(
            b"z" * MAX_MESSAGE, timeout=TIMEOUT)), MAX_MESSAGE)

    def test_wrong_content_type_is_415(self):
        raw = RawH2(self.port)
        sid = raw.request("/test.Echo/Unary", content_type="application/json", body=b"{}")
        self.assertTrue(raw.pump(lambda: sid in raw.ended))
        self.assertEqual(raw.headers[sid][":status"], "415")
        raw.close()

    def test_unsupported_encoding_and_compressed_flag(self):
        raw = RawH2(self.port)
        gzip = raw.request("/test.Echo/Unary", extra=[("grpc-encoding", "gzip")],
                           body=grpc_frame(b"x", flags=1))
        flagged = raw.request("/test.Echo/Unary", body=grpc_frame(b"x", flags=1))
        self.assertTrue(raw.pump(lambda: {gzip, flagged} <= raw.ended))
        self.assertEqual(raw.headers[gzip]["grpc-status"], "12")
        self.assertEqual(raw.headers[gzip]["grpc-accept-encoding"], "identity")
        self.assertEqual(raw.headers[flagged]["grpc-status"], "13")
        raw.close()

    def test_header_list_over_the_limit_is_refused(self):
        raw = RawH2(self.port)
        sid = raw.request("/test.Echo/Unary", extra=[("x-big", "b" * 20000)],
                          body=grpc_frame(b"x"))
        self.assertTrue(raw.pump(lambda: sid in raw.ended or sid in raw.reset))
        self.assertEqual(raw.headers.get(sid, {}).get("grpc-status"), "8")
        raw.close()

    def test_many_streams_on_one_connection(self):
        stub = self.channel.unary_unary("/test.Echo/Unary")
        futures = [stub.future(b"%d" % i, timeout=TIMEOUT) for i in range(1000)]
        self.assertEqual([f.result() for f in futures], [b"%d" % i for i in range(1000)])

    def test_a_paused_consumer_closes_the_clients_window(self):
        """The client never reads the echoes: the server's writes back up, its bidi observer
        pauses, and the client's send window closes instead of the server buffering without
        bound. Once the client reads, everything comes back."""
        raw = RawH2(self.port)
        sid = raw.request("/test.Echo/Bidi", end=False)
        message = grpc_frame(b"p" * 16000)
        sent = 0
        stalled = False
        while sent * len(message) < 16 * MAX_MESSAGE:
            if raw.conn.local_flow_control_window(sid) < len(message):
                raw.pump(lambda: raw.conn.local_flow_control_window(sid) >= len(message),
                         timeout=0.5, ack=False)
                if raw.conn.local_flow_control_window(sid) < len(message):
                    stalled = True
                    break
            raw.conn.send_data(sid, message)
            raw.sock.sendall(raw.conn.data_to_send())
            sent += 1
        self.assertTrue(stalled, "the server kept taking bytes it could not answer")
        # Its write queue (256 KiB) + our unread window (64 KiB) + its stream window (1 MiB).
        self.assertLess(sent * len(message), 3 * MAX_MESSAGE)
        for length, stream in raw.unacked:
            raw.conn.acknowledge_received_data(length, stream)
        raw.conn.end_stream(sid)
        raw.sock.sendall(raw.conn.data_to_send())
        self.assertTrue(raw.pump(lambda: sid in raw.ended))
        self.assertEqual(raw.headers[sid]["grpc-status"], "0")
        self.assertEqual(raw.data[sid], message * sent)
        raw.close()

    def test_connection_closed_mid_stream_frees_every_stream(self):
        base = self.info()
        raw = RawH2(self.port)
        for _ in range(5):
            raw.request("/test.Echo/Wait", body=grpc_frame(b"w"), end=False)
        raw.request("/test.Echo/Bidi", body=grpc_frame(b"half")[:7], end=False)  # half a message
        raw.request("/test.Echo/ServerStream", extra=[("copies", "100000")],
                    body=grpc_frame(b"y" * 1000))  # writes blocked on the closed window
        self.wait_for(lambda i: int(i["live_streams"]) >= int(base["live_streams"]) + 7,
                      "the streams to open")
        raw.close()
        info = self.wait_for(lambda i: int(i["live_streams"]) == 1, "every stream freed")
        self.assertEqual(int(info["wait_cancels"]), int(base["wait_cancels"]) + 5)

    def test_h2load_unary_all_2xx(self):
        body = os.path.join(os.environ.get("TMPDIR", "/tmp"), "native_wire_h2load_%d" % os.getpid())
        with open(body, "wb") as f:
            f.write(grpc_frame(b"h" * 100))
        try:
            out = subprocess.run(
                ["h2load", "-n", "4000", "-c", "4", "-m", "32", "-d", body,
                 "-H", "content-type: application/grpc", "-H", "te: trailers",
                 "http://127.0.0.1:%d/test.Echo/Unary" % self.port],
                capture_output=True, text=True, timeout=60).stdout
        finally:
            os.unlink(body)
        self.assertRegex(out, r"requests: 4000 total, 4000 started, 4000 done, 4000 succeeded, "
                              r"0 failed, 0 errored", out)
        self.assertRegex(out, r"status codes: 4000 2xx, 0 3xx, 0 4xx, 0 5xx", out)


class AuthorizationHandOverTest(EchoServerCase):
    """Connection::Receive: a request's `authorization` literal equal to the connection's
    previous one is cut from its HEADERS frame before nghttp2 decodes it, and the remembered
    value handed to the stream. Each case checks the value the handler saw (the echo server
    returns it as x-authorization) and, through the server's counter, which path it took."""

    def reuses(self):
        return self.counter("authorization_reuses")

    def seen(self, raw, sid):
        self.assertIn(sid, raw.ended, "stream %d was not answered" % sid)
        headers = raw.headers[sid]
        self.assertEqual(headers.get("grpc-status"), "0")
        return headers.get("x-authorization"), headers.get("x-authorization-repeated")

    def test_each_call_sees_its_own_token_and_repeats_skip_decoding(self):
        raw = RawH2(self.port)
        before = self.reuses()
        # (representation, value, reused?): the first authorization of a connection is
        # nghttp2's; from the second on the connection decodes and remembers it itself; an
        # equal literal after that is a reuse. The key is the value's literal only, so the
        # raw-name form (libgrpc's) reuses what the static-name raw form taught.
        calls = [
            (never_indexed_authorization(TOKEN_A), TOKEN_A, False),
            (never_indexed_authorization(TOKEN_A), TOKEN_A, False),
            (never_indexed_authorization(TOKEN_A), TOKEN_A, True),
            (never_indexed_authorization(TOKEN_A), TOKEN_A, True),
            (never_indexed_authorization(TOKEN_B), TOKEN_B, False),
            (never_indexed_authorization(TOKEN_A), TOKEN_A, False),
            (never_indexed_authorization(TOKEN_A, huffman=False), TOKEN_A, False),
            (never_indexed_authorization(TOKEN_A, huffman=False), TOKEN_A, True),
            (raw_authorization(TOKEN_A), TOKEN_A, True),
            (raw_authorization(TOKEN_B), TOKEN_B, False),
            (raw_authorization(TOKEN_B), TOKEN_B, True),
            (raw_authorization(TOKEN_B[:-1] + b"C"), TOKEN_B[:-1] + b"C", False),  # last differs
            (raw_authorization(TOKEN_B[:-1]), TOKEN_B[:-1], False),  # one byte shorter
            (raw_authorization(TOKEN_A), TOKEN_A, False),  # as long, every byte after 7 differs
            # Huffman codes of one length ('a', 'c': 5 bits): literals of one size.
            (never_indexed_authorization(TOKEN_A + b"a"), TOKEN_A + b"a", False),
            (never_indexed_authorization(TOKEN_A + b"a"), TOKEN_A + b"a", True),
            (never_indexed_authorization(TOKEN_A + b"c"), TOKEN_A + b"c", False),
            (never_indexed_authorization(b"Cearer" + TOKEN_A[6:] + b"c"), b"Cearer" + TOKEN_A[6:] + b"c", False),
        ]
        for representation, value, reused in calls:
            sid = raw.call_block(request_block("/test.Echo/Unary", [representation]))
            self.assertEqual(self.seen(raw, sid), (value.decode(), None))
        self.assertEqual(self.reuses() - before, sum(1 for c in calls if c[2]))
        raw.close()

    def test_padding_priority_and_continuation(self):
        raw = RawH2(self.port)
        block = request_block("/test.Echo/Unary", [never_indexed_authorization(TOKEN_A)])
        raw.call_block(block)
        raw.call_block(block)  # remembered from here
        before = self.reuses()
        for kwargs in [dict(pad=7), dict(priority=True), dict(pad=200, priority=True),
                       dict(pad=0)]:
            sid = raw.call_block(block, **kwargs)
            self.assertEqual(self.seen(raw, sid), (TOKEN_A.decode(), None), kwargs)
        self.assertEqual(self.reuses() - before, 4)
        # A block in HEADERS + CONTINUATION is nghttp2's to decode, split anywhere.
        for split_at in [1, len(block) // 2, len(block) - 5, len(block) - 1]:
            sid = raw.call_block(block, split_at=split_at)
            self.assertEqual(self.seen(raw, sid), (TOKEN_A.decode(), None), split_at)
        self.assertEqual(self.reuses() - before, 4)
        raw.close()

    def test_two_authorization_fields_reach_the_handler_as_two(self):
        raw = RawH2(self.port)
        one = never_indexed_authorization(TOKEN_A)
        raw.call_block(request_block("/test.Echo/Unary", [one]))
        raw.call_block(request_block("/test.Echo/Unary", [one]))
        for pair in [[one, one], [one, raw_authorization(TOKEN_B)],
                     [raw_authorization(TOKEN_B), one]]:
            before = self.reuses()
            sid = raw.call_block(request_block("/test.Echo/Unary", pair))
            self.assertEqual(self.seen(raw, sid)[1], "yes")
            self.assertEqual(self.reuses() - before, 1 if pair[0] == one else 0)
        raw.close()

    def test_authorization_before_the_pseudo_headers_is_refused(self):
        # First on a fresh connection (nghttp2 decodes it and refuses), then once the literal
        # is remembered (the connection hands it over, and the stream refuses what follows).
        raw = RawH2(self.port)
        one = never_indexed_authorization(TOKEN_A)
        for _ in range(3):
            sid = raw.call_block(request_block("/test.Echo/Unary", [one], fields_first=True))
            self.assertIn(sid, raw.reset)
            self.assertEqual(raw.reset_codes[sid], 1)  # PROTOCOL_ERROR
            self.assertNotIn("x-authorization", raw.headers.get(sid, {}))
        for _ in range(3):
            sid = raw.call_block(request_block("/test.Echo/Unary", [one]))
            self.assertEqual(self.seen(raw, sid), (TOKEN_A.decode(), None))
        before = self.reuses()
        sid = raw.call_block(request_block("/test.Echo/Unary", [one], fields_first=True))
        self.assertIn(sid, raw.reset)
        self.assertEqual(raw.reset_codes[sid], 1)
        self.assertEqual(self.reuses() - before, 1)
        sid = raw.call_block(request_block("/test.Echo/Unary", [one]))
        self.assertEqual(self.seen(raw, sid), (TOKEN_A.decode(), None))
        raw.close()

    def test_an_invalid_value_is_left_to_nghttp2(self):
        raw = RawH2(self.port)
        good = never_indexed_authorization(TOKEN_A)
        raw.call_block(request_block("/test.Echo/Unary", [good]))
        raw.call_block(request_block("/test.Echo/Unary", [good]))
        for bad in [raw_authorization(b"Bearer a\x01b"), raw_authorization(b"Bearer a\r\nx: y"),
                    never_indexed_authorization(b"Bearer a\x00b"),
                    never_indexed_authorization(b" Bearer leading-space")]:
            sid = raw.call_block(request_block("/test.Echo/Unary", [bad]))
            self.assertIn(sid, raw.reset, bad)
            sid = raw.call_block(request_block("/test.Echo/Unary", [good]))
            self.assertEqual(self.seen(raw, sid), (TOKEN_A.decode(), None))
        raw.close()
        # Huffman octets that do not decode (padding that is not EOS): an HPACK error is the
        # connection's (COMPRESSION_ERROR), as nghttp2 answers it, remembered literal or not.
        for warm in [0, 2]:
            raw = RawH2(self.port)
            for _ in range(warm):
                raw.call_block(request_block("/test.Echo/Unary", [good]))
            broken = b"\x1f\x08" + bytes([0x80 | 3]) + b"\x00\x00\x00"
            raw.call_block(request_block("/test.Echo/Unary", [broken]))
            self.assertIsNotNone(raw.goaway)
            self.assertEqual(raw.goaway.error_code, 9)  # COMPRESSION_ERROR
            raw.close()

    def test_a_table_size_update_after_the_literal_stays_an_error(self):
        """A dynamic table size update after a field is an HPACK error (RFC 7541 §4.2). Cutting
        the literal before it must not make it legal: the connection gets COMPRESSION_ERROR
        whether the literal was remembered or not."""
        good = never_indexed_authorization(TOKEN_A)
        for warm in [0, 2]:
            raw = RawH2(self.port)
            for _ in range(warm):
                raw.call_block(request_block("/test.Echo/Unary", [good]))
            block = good + b"\x20" + request_block("/test.Echo/Unary")
            raw.call_block(block)
            self.assertIsNotNone(raw.goaway, warm)
            self.assertEqual(raw.goaway.error_code, 9, warm)  # COMPRESSION_ERROR
            raw.close()

    def test_grpcio_many_calls_in_flight_each_sees_its_token(self):
        """grpcio (libgrpc's raw literals), 400 calls in flight on one connection, tokens
        alternating in runs: several requests per read, cut and handed over in one pass."""
        stub = self.channel.unary_unary("/test.Echo/Unary")
        before = self.reuses()
        tokens = [(TOKEN_A if (i // 7) % 2 else TOKEN_B).decode() for i in range(400)]
        futures = [stub.future(b"%d" % i, timeout=TIMEOUT,
                               metadata=[("authorization", tokens[i])]) for i in range(400)]
        for i, future in enumerate(futures):
            self.assertEqual(future.result(), b"%d" % i)
            seen = dict(future.initial_metadata())
            self.assertEqual(seen.get("x-authorization"), tokens[i], i)
            self.assertNotIn("x-authorization-repeated", seen)
        self.assertGreater(self.reuses() - before, 200)

    def test_h2load_reused_token_all_2xx(self):
        body = os.path.join(os.environ.get("TMPDIR", "/tmp"), "native_wire_auth_%d" % os.getpid())
        with open(body, "wb") as f:
            f.write(grpc_frame(b"h" * 100))
        before = self.reuses()
        try:
            out = subprocess.run(
                ["h2load", "-n", "4000", "-c", "4", "-m", "32", "-d", body,
                 "-H", "content-type: application/grpc", "-H", "te: trailers",
                 "-H", "authorization: " + TOKEN_A.decode(),
                 "http://127.0.0.1:%d/test.Echo/Unary" % self.port],
                capture_output=True, text=True, timeout=60).stdout
        finally:
            os.unlink(body)
        self.assertRegex(out, r"status codes: 4000 2xx, 0 3xx, 0 4xx, 0 5xx", out)
        # All but a few per connection (the first ones, before it is remembered).
        self.assertGreater(self.reuses() - before, 3000)


class MalformedRequestTest(EchoServerCase):
    """RFC 9113 §8.1.1-8.3: a malformed request is a stream error (the stream is reset, the
    connection and its other streams go on). These rules were nghttp2's HTTP messaging checks
    until the twelfth session; percore's own (core/net/request_header_rules.h) took over, and
    this test pins what nghttp2 did (it passed against the old server too)."""

    def dispatched(self):
        return self.counter("unary_started")

    POST = b"\x83"
    HTTP = b"\x86"
    PATH = b"\x04" + hpack_string(b"/test.Echo/Unary")
    AUTHORITY = b"\x01" + hpack_string(b"localhost")
    GRPC = b"\x0f\x10" + hpack_string(b"application/grpc")

    def answered(self, raw, block, **kwargs):
        sid = raw.call_block(block, **kwargs)
        if sid in raw.reset:
            self.assertEqual(raw.reset_codes[sid], 1)  # PROTOCOL_ERROR, as nghttp2 answered
            return "reset"
        if sid in raw.ended:
            return raw.headers[sid].get("grpc-status", raw.headers[sid].get(":status"))
        return "nothing"

    def check(self, cases):
        raw = RawH2(self.port)
        good = self.POST + self.HTTP + self.PATH + self.AUTHORITY + self.GRPC
        for name, block, want in cases:
            before = self.dispatched()
            self.assertEqual(self.answered(raw, block), want, name)
            if want == "reset":  # refused before any handler saw it
                self.assertEqual(self.dispatched(), before, name)
            self.assertEqual(self.answered(raw, good), "0", "after " + name)  # it goes on
        self.assertIsNone(raw.goaway)
        raw.close()

    def test_pseudo_headers(self):
        P, H, A, G = self.PATH, self.HTTP, self.AUTHORITY, self.GRPC
        M = self.POST
        self.check([
            ("well formed", M + H + P + A + G, "0"),
            ("host instead of :authority", M + H + P + literal(b"host", b"localhost") + G, "0"),
            ("no :method", H + P + A + G, "reset"),
            ("no :scheme", M + P + A + G, "reset"),
            ("no :path", M + H + A + G, "reset"),
            ("no :authority nor host", M + H + P + G, "reset"),
            ("two :path", M + H + P + P + A + G, "reset"),
            ("two :method", M + M + H + P + A + G, "reset"),
            ("two host", M + H + P + literal(b"host", b"a") + literal(b"host", b"a") + G,
             "reset"),
            ("a pseudo-header after a regular one", M + H + A + G + P, "reset"),
            ("unknown pseudo-header", M + H + P + A + literal(b":foo", b"x") + G, "reset"),
            (":status in a request", M + H + P + A + b"\x88" + G, "reset"),
            ("empty :path", M + H + b"\x04\x00" + A + G, "reset"),
            (":path with a space", M + H + b"\x04" + hpack_string(b"/a b") + A + G, "reset"),
            ("empty :authority", M + H + P + b"\x01\x00" + G, "reset"),
            (":method with a space", literal(b":method", b"PO ST") + H + P + A + G, "reset"),
            (":scheme not a scheme", M + literal(b":scheme", b"1ttp") + P + A + G, "reset"),
            ("GET is answered 405", b"\x82" + H + P + A + G, "405"),
            # An http(s) :path is absolute, or "*" for OPTIONS only (RFC 9113 §8.3.1).
            (":path not absolute", M + H + b"\x04" + hpack_string(b"test.Echo/Unary") + A + G,
             "reset"),
            (":path * with POST", M + H + b"\x04\x01*" + A + G, "reset"),
            (":path * with OPTIONS", literal(b":method", b"OPTIONS") + H + b"\x04\x01*" + A + G,
             "405"),
            (":scheme HTTPS, :path not absolute",
             M + literal(b":scheme", b"HTTPS") + b"\x04" + hpack_string(b"x/y") + A + G, "reset"),
            ("another scheme, any :path",
             M + literal(b":scheme", b"foo") + b"\x04" + hpack_string(b"x/y") + A + G, "12"),
            # CONNECT (RFC 9113 §8.5): :authority only.
            ("CONNECT", literal(b":method", b"CONNECT") + b"\x01" + hpack_string(b"x:1"), "405"),
            ("CONNECT with :scheme and :path", literal(b":method", b"CONNECT") + H + P + A,
             "reset"),
            (":path then CONNECT", P + literal(b":method", b"CONNECT") + A, "reset"),
            ("CONNECT with host only", literal(b":method", b"CONNECT") +
             literal(b"host", b"x:1"), "reset"),
        ])

    def test_regular_fields(self):
        base = self.POST + self.HTTP + self.PATH + self.AUTHORITY + self.GRPC
        self.check([
            ("te: trailers", base + literal(b"te", b"trailers"), "0"),
            ("te: Trailers", base + literal(b"te", b"Trailers"), "0"),
            ("te: gzip", base + literal(b"te", b"gzip"), "reset"),
            ("connection", base + literal(b"connection", b"close"), "reset"),
            ("keep-alive", base + literal(b"keep-alive", b"1"), "reset"),
            ("proxy-connection", base + literal(b"proxy-connection", b"x"), "reset"),
            ("transfer-encoding", base + literal(b"transfer-encoding", b"chunked"), "reset"),
            ("upgrade", base + literal(b"upgrade", b"h2c"), "reset"),
            ("upper-case name", base + literal(b"X-Thing", b"1"), "reset"),
            ("name with a space", base + literal(b"x thing", b"1"), "reset"),
            ("name with a colon inside", base + literal(b"x:y", b"1"), "reset"),
            ("empty name", base + literal(b"", b"1"), "reset"),
            ("NUL in a value", base + literal(b"x-a", b"a\x00b"), "reset"),
            ("CR in a value", base + literal(b"x-a", b"a\rb"), "reset"),
            ("LF in a value", base + literal(b"x-a", b"a\nb"), "reset"),
            ("DEL in a value", base + literal(b"x-a", b"a\x7fb"), "reset"),
            ("a leading space", base + literal(b"x-a", b" ab"), "reset"),
            ("a trailing tab", base + literal(b"x-a", b"ab\t"), "reset"),
            ("a tab and obs-text inside", base + literal(b"x-a", b"a\tb\xff"), "0"),
            ("an empty value", base + literal(b"x-a", b""), "0"),
            ("content-length: 0", base + literal(b"content-length", b"0"), "0"),
            ("content-length not a number", base + literal(b"content-length", b"1x"),
             "reset"),
            ("content-length twice", base + literal(b"content-length", b"0") * 2, "reset"),
            ("content-length over the body", base + literal(b"content-length", b"5"),
             "reset"),
            ("content-length of nineteen zeros", base + literal(b"content-length", b"0" * 19),
             "0"),
            ("content-length past 2^63", base + literal(b"content-length", b"9" * 19), "reset"),
        ])

    def test_content_length_and_data(self):
        raw = RawH2(self.port)
        base = self.POST + self.HTTP + self.PATH + self.AUTHORITY + self.GRPC
        message = grpc_frame(b"hello")  # 10 bytes
        for length, want in [(b"10", "0"), (b"9", "reset"), (b"11", "reset")]:
            sid = raw.send_block(base + literal(b"content-length", length), end=False)
            raw.send_frame(0x0, 0x1, sid, message)
            raw.pump(lambda: sid in raw.ended or sid in raw.reset)
            got = "reset" if sid in raw.reset else raw.headers[sid].get("grpc-status")
            self.assertEqual(got, want, length)
            self.assertEqual(raw.reset_codes.get(sid, 1), 1)
            if want == "0":
                self.assertEqual(raw.data[sid], message)
        raw.close()

    def test_trailers(self):
        raw = RawH2(self.port)
        base = self.POST + self.HTTP + self.PATH + self.AUTHORITY + self.GRPC
        message = grpc_frame(b"hi")
        # Trailers end the request; a pseudo-header in them, or trailers that do not end the
        # stream, make it malformed.
        for headers, trailers, flags, want in [
                (base, literal(b"x-t", b"1"), 0x5, "0"),
                (base, self.PATH, 0x5, "reset"),
                (base, literal(b"x-t", b"1"), 0x4, "reset"),
                (base, literal(b"x-t", b"a\nb"), 0x5, "reset"),
                (base, literal(b"connection", b"x"), 0x5, "reset"),
                (base, literal(b"te", b"gzip"), 0x5, "reset"),
                (base, literal(b"content-length", b"7"), 0x5, "0"),  # the 7 bytes sent
                (base, literal(b"content-length", b"5"), 0x5, "reset"),
                (base + literal(b"content-length", b"7"), literal(b"content-length", b"7"), 0x5,
                 "reset"),
                (base + literal(b"host", b"x"), literal(b"host", b"x"), 0x5, "reset")]:
            sid = raw.send_block(headers, end=False)
            raw.send_frame(0x0, 0x0, sid, message)
            raw.send_frame(0x1, flags, sid, trailers)
            raw.pump(lambda: sid in raw.ended or sid in raw.reset)
            got = "reset" if sid in raw.reset else raw.headers[sid].get("grpc-status")
            self.assertEqual(got, want, (trailers, flags))
            self.assertEqual(raw.reset_codes.get(sid, 1), 1)
        raw.close()


class LimitsTest(unittest.TestCase):
    def test_streams_past_max_concurrent_streams_are_refused(self):
        proc, port = start_server("--shards", "1", "--max-concurrent-streams", "4")
        raw = RawH2(port)
        try:
            # Sent before h2 reads the server's SETTINGS (h2 would hold them back itself);
            # nghttp2 applies its limit from the moment it sent it.
            sids = [raw.request("/test.Echo/Wait", body=grpc_frame(b"w"), end=False)
                    for _ in range(10)]
            self.assertTrue(raw.pump(lambda: len(raw.reset) >= 6, timeout=3))
            self.assertEqual(sorted(raw.reset), sids[4:])  # the first four stay open
        finally:
            raw.close()
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 0)

    def test_a_connections_buffered_bytes_are_bounded(self):
        """16 streams each send all but the last byte of a 1 MiB message: the server must buffer
        them (they are incomplete), but past the connection's budget (2 MiB here) it stops
        returning connection window, so the client stalls at budget + one connection window
        (8 MiB) instead of pushing all 16 MiB. Other clients are still served."""
        proc, port = start_server("--shards", "1", "--connection-buffer-bytes", str(2 << 20))
        raw = RawH2(port)
        try:
            raw.pump(lambda: False, timeout=0.2)  # take the server's SETTINGS (1 MiB windows)
            chunk = b"c" * 16000
            sent = 0
            stalled = False
            for _ in range(16):
                sid = raw.request("/test.Echo/Unary", body=b"\x00" + MAX_MESSAGE.to_bytes(4, "big"),
                                  end=False)
                left = MAX_MESSAGE - 1
                while left > 0 and not stalled:
                    piece = chunk[:min(len(chunk), left)]
                    if raw.conn.local_flow_control_window(sid) < len(piece):
                        raw.pump(lambda: raw.conn.local_flow_control_window(sid) >= len(piece),
                                 timeout=0.5)
                        if raw.conn.local_flow_control_window(sid) < len(piece):
                            stalled = True
                            break
                    raw.conn.send_data(sid, piece)
                    raw.sock.sendall(raw.conn.data_to_send())
                    left -= len(piece)
                    sent += len(piece)
                if stalled:
                    break
            self.assertTrue(stalled, "all %d bytes were taken" % sent)
            self.assertLess(sent, (2 << 20) + (8 << 20) + 2 * MAX_MESSAGE)
            other = channel(port, own_connection=True)
            self.assertEqual(other.unary_unary("/test.Echo/Unary")(b"ok", timeout=TIMEOUT), b"ok")
            other.close()
        finally:
            raw.close()
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 0)
        self.assertIn("live_streams=0", out)

    def test_out_of_descriptors_does_not_stop_accepting(self):
        proc, port = start_server("--shards", "1")
        soft, hard = resource.prlimit(proc.pid, resource.RLIMIT_NOFILE)
        held = []
        try:
            ch = channel(port, own_connection=True)
            self.assertEqual(ch.unary_unary("/test.Echo/Unary")(b"a", timeout=TIMEOUT), b"a")
            open_fds = len(os.listdir("/proc/%d/fd" % proc.pid))
            resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (open_fds + 2, hard))
            for _ in range(12):  # more connections than descriptors left
                held.append(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT))
            time.sleep(0.3)
            closed = 0
            for s in held:  # the server closed the ones it had no descriptor for
                s.settimeout(0.2)
                try:
                    if s.recv(1) == b"":
                        closed += 1
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    closed += 1
            self.assertGreater(closed, 0)
            for s in held:
                s.close()
            held.clear()
            resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (soft, hard))
            time.sleep(0.2)  # past the accept back-off
            fresh = channel(port, own_connection=True)
            self.assertEqual(fresh.unary_unary("/test.Echo/Unary")(b"b", timeout=TIMEOUT), b"b")
            fresh.close()
            ch.close()
        finally:
            for s in held:
                s.close()
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 0)


class DrainTest(unittest.TestCase):
    def test_goaway_on_drain_lets_the_call_in_flight_finish(self):
        proc, port = start_server("--shards", "2")
        try:
            ch = channel(port)
            slow = ch.unary_unary("/test.Echo/Slow")
            self.assertEqual(slow(b"warm", timeout=TIMEOUT), b"warm")  # the connection is up
            raw = RawH2(port)  # a second, idle connection: it sees the GOAWAY
            self.assertTrue(raw.pump(lambda: 1 in raw.conn.remote_settings or True, timeout=0.2))
            future = slow.future(b"slow", timeout=TIMEOUT)  # answers after 300 ms
            time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            self.assertTrue(raw.pump(lambda: raw.goaway is not None))
            self.assertEqual(raw.goaway.error_code, 0)
            self.assertEqual(future.result(), b"slow")  # the call in flight finished
            out, _ = proc.communicate(timeout=TIMEOUT)
            self.assertEqual(proc.returncode, 0)
            self.assertIn("drained connections=0 live_streams=0", out)
            with self.assertRaises(OSError):  # no longer listening
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            raw.close()
            ch.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    SERVER_BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
