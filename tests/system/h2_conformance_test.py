"""HTTP/2 protocol cases in the manner of h2spec (RFC 9113), sent frame by frame to the native
transport by a hand-made client (percore_py.raw_h2): each malformed frame gets the connection or
stream error the RFC names, well-formed but unusual frames are accepted, and the server keeps
serving other connections. h2spec itself is not packaged by Debian; these are its generic and
http2 cases that a client can send. Usage: h2_conformance_test.py PATH/TO/percore-server"""

import socket
import struct
import sys
import unittest

from percore_py.raw_h2 import PREFACE, RawClient
from percore_py.server import Server
from percore_py.stubs import stub_modules

SERVER = None
# RFC 9113 section 7 error codes.
NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR = 0x0, 0x1, 0x3, 0x6
# Frame types and flags (section 6).
DATA, HEADERS, RST_STREAM, SETTINGS, PING, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
GET_USER = "/user.v1.UserService/GetUser"


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(
        ">I", stream) + payload


def setting(identifier, value):
    return struct.pack(">HI", identifier, value)


class H2Conformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(SERVER, "--shards", "1", "--shutdown-grace", "1")
        cls.user, cls.user_grpc = stub_modules("user.v1.user")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def tearDown(self):
        # Whatever the case did to its own connection, a new client is served.
        stub = self.user_grpc.UserServiceStub(self.server.channel)
        stub.CreateUser(self.user.CreateUserRequest(
            name="Still here", email="h2-%s@example.com" % self.id().rsplit(".", 1)[-1]),
            timeout=5)

    def connect(self):
        client = RawClient(self.server.port)
        client.pump_until(lambda: client.settings_received)  # the server's, acknowledged
        return client

    def headers_block(self, client, headers):
        return client.encoder.encode(headers)

    def request_headers(self, client, path=GET_USER, extra=()):
        return self.headers_block(client, [
            (":method", "POST"), (":scheme", "http"), (":path", path),
            (":authority", "127.0.0.1"), ("te", "trailers"),
            ("content-type", "application/grpc"), *extra])

    def assert_connection_error(self, client, code):
        client.pump_until(lambda: False)  # until the server closes it (or the hang bound)
        self.assertTrue(client.goaways, "no GOAWAY (closed: %s)" % client.closed)
        self.assertEqual(client.goaways[-1][1], code, client.goaways)
        self.assertTrue(client.closed, "the connection stayed open after GOAWAY")
        client.close()

    def assert_stream_error(self, client, stream, code):
        client.pump_until(lambda: stream in client.resets or stream in client.status)
        self.assertEqual(client.resets.get(stream), code,
                         "resets %s goaways %s" % (client.resets, client.goaways))
        client.close()

    # 3.4: the client connection preface.
    def test_invalid_preface_closes_the_connection(self):
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + frame(SETTINGS, 0, 0))
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except ConnectionResetError:
            pass
        sock.close()  # reaching here means the server closed it (recv returned b"" or reset)
        self.assertNotIn(b"grpc-status", received)

    # 4.2: frame size.
    def test_data_frame_over_max_frame_size_is_frame_size_error(self):
        c = self.connect()
        c.write(frame(HEADERS, END_HEADERS, 1, self.request_headers(c)))
        c.write(frame(DATA, 0, 1, b"\0" * 16385))  # SETTINGS_MAX_FRAME_SIZE is 16,384
        self.assert_connection_error(c, FRAME_SIZE_ERROR)

    # 5.1.1: stream identifiers.
    def test_even_stream_id_from_client_is_protocol_error(self):
        c = self.connect()
        c.write(frame(HEADERS, END_HEADERS, 2, self.request_headers(c)))
        self.assert_connection_error(c, PROTOCOL_ERROR)

    def test_decreasing_stream_id_is_never_served(self):
        # RFC 9113 asks for a connection error; nghttp2 ignores a HEADERS on a stream it cannot
        # tell is closed (its session.c explains why: a client's trailers may cross the server's
        # RST_STREAM), so the stream is dropped, not answered, and the connection stays usable.
        c = self.connect()
        c.write(frame(HEADERS, END_HEADERS, 5, self.request_headers(c)))
        c.write(frame(HEADERS, END_HEADERS | END_STREAM, 3, self.request_headers(c)))
        c.ping(b"after 3!")
        c.pump(0.5)  # time for an answer to stream 3 to show, were it served
        c.pump_until(lambda: b"after 3!" in c.pings_acked)
        self.assertIn(b"after 3!", c.pings_acked)
        self.assertNotIn(3, c.status)
        self.assertNotIn(3, c.data)
        c.close()

    # 5.1: DATA on an idle stream.
    def test_data_on_idle_stream_is_protocol_error(self):
        c = self.connect()
        c.write(frame(DATA, 0, 7, b"\0\0\0\0\0"))
        self.assert_connection_error(c, PROTOCOL_ERROR)

    # 6.1, 6.2: DATA and HEADERS on stream 0.
    def test_data_on_stream_zero_is_protocol_error(self):
        c = self.connect()
        c.write(frame(DATA, 0, 0, b"\0\0\0\0\0"))
        self.assert_connection_error(c, PROTOCOL_ERROR)

    def test_headers_on_stream_zero_is_protocol_error(self):
        c = self.connect()
        c.write(frame(HEADERS, END_HEADERS, 0, self.request_headers(c)))
        self.assert_connection_error(c, PROTOCOL_ERROR)

    # 6.4: RST_STREAM on an idle stream.
    def test_rst_stream_on_idle_stream_is_protocol_error(self):
        c = self.connect()
        c.write(frame(RST_STREAM, 0, 9, struct.pack(">I", 8)))
        self.assert_connection_error(c, PROTOCOL_ERROR)

    # 6.5: SETTINGS.
    def test_settings_ack_with_payload_is_frame_size_error(self):
        c = self.connect()
        c.write(frame(SETTINGS, ACK, 0, setting(0x3, 100)))
        self.assert_connection_error(c, FRAME_SIZE_ERROR)

    def test_settings_length_not_multiple_of_six_is_frame_size_error(self):
        c = self.connect()
        c.write(frame(SETTINGS, 0, 0, b"\0\x03\0\0\0"))
        self.assert_connection_error(c, FRAME_SIZE_ERROR)

    def test_settings_enable_push_two_is_protocol_error(self):
        c = self.connect()
        c.write(frame(SETTINGS, 0, 0, setting(0x2, 2)))
        self.assert_connection_error(c, PROTOCOL_ERROR)

    def test_settings_initial_window_over_limit_is_flow_control_error(self):
        c = self.connect()
        c.write(frame(SETTINGS, 0, 0, setting(0x4, 1 << 31)))
        self.assert_connection_error(c, FLOW_CONTROL_ERROR)

    def test_settings_max_frame_size_too_small_is_protocol_error(self):
        c = self.connect()
        c.write(frame(SETTINGS, 0, 0, setting(0x5, 16383)))
        self.assert_connection_error(c, PROTOCOL_ERROR)

    def test_unknown_setting_is_ignored(self):
        c = self.connect()
        c.write(frame(SETTINGS, 0, 0, setting(0xFF, 1)))
        c.ping(b"unknown!")
        c.pump_until(lambda: b"unknown!" in c.pings_acked)
        self.assertIn(b"unknown!", c.pings_acked)
        self.assertEqual(c.goaways, [])
        c.close()

    # 6.7: PING.
    def test_ping_is_acknowledged_with_its_payload(self):
        c = self.connect()
        c.ping(b"h2spec!!")
        c.pump_until(lambda: c.pings_acked)
        self.assertEqual(c.pings_acked, [b"h2spec!!"])
        c.close()

    def test_ping_of_seven_bytes_is_frame_size_error(self):
        c = self.connect()
        c.write(frame(PING, 0, 0, b"1234567"))
        self.assert_connection_error(c, FRAME_SIZE_ERROR)

    def test_ping_on_a_stream_is_protocol_error(self):
        c = self.connect()
        c.write(frame(PING, 0, 1, b"12345678"))
        self.assert_connection_error(c, PROTOCOL_ERROR)

    # 6.9: WINDOW_UPDATE.
    def test_window_update_of_zero_on_connection_is_protocol_error(self):
        c = self.connect()
        c.write(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)))
        self.assert_connection_error(c, PROTOCOL_ERROR)

    def test_connection_window_over_limit_is_flow_control_error(self):
        c = self.connect()
        c.write(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", (1 << 31) - 1)))
        self.assert_connection_error(c, FLOW_CONTROL_ERROR)

    # 6.10: CONTINUATION.
    def test_continuation_without_headers_is_protocol_error(self):
        c = self.connect()
        c.write(frame(CONTINUATION, END_HEADERS, 1, self.request_headers(c)))
        self.assert_connection_error(c, PROTOCOL_ERROR)

    def test_headers_then_data_before_continuation_is_protocol_error(self):
        c = self.connect()
        c.write(frame(HEADERS, 0, 1, self.request_headers(c)))  # no END_HEADERS
        c.write(frame(DATA, 0, 1, b"\0\0\0\0\0"))
        self.assert_connection_error(c, PROTOCOL_ERROR)

    # 5.5: unknown frame types are ignored.
    def test_unknown_frame_type_is_ignored(self):
        c = self.connect()
        c.write(frame(0xEE, 0, 0, b"ignore me"))
        c.ping(b"stillok!")
        c.pump_until(lambda: b"stillok!" in c.pings_acked)
        self.assertIn(b"stillok!", c.pings_acked)
        self.assertEqual(c.goaways, [])
        c.close()

    # 8.2, 8.3: malformed requests are stream errors.
    def test_uppercase_header_name_is_stream_protocol_error(self):
        c = self.connect()
        c.write(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                      self.request_headers(c, extra=[("X-Upper", "1")])))
        self.assert_stream_error(c, 1, PROTOCOL_ERROR)

    def test_connection_specific_header_is_stream_protocol_error(self):
        c = self.connect()
        c.write(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                      self.request_headers(c, extra=[("connection", "keep-alive")])))
        self.assert_stream_error(c, 1, PROTOCOL_ERROR)

    def test_missing_path_is_stream_protocol_error(self):
        c = self.connect()
        block = self.headers_block(c, [(":method", "POST"), (":scheme", "http"),
                                       (":authority", "127.0.0.1"),
                                       ("content-type", "application/grpc")])
        c.write(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
        self.assert_stream_error(c, 1, PROTOCOL_ERROR)

    def test_pseudo_header_after_regular_header_is_stream_protocol_error(self):
        c = self.connect()
        block = self.headers_block(c, [(":method", "POST"), (":scheme", "http"),
                                       ("te", "trailers"), (":path", GET_USER),
                                       (":authority", "127.0.0.1")])
        c.write(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
        self.assert_stream_error(c, 1, PROTOCOL_ERROR)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main()
