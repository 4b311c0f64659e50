"""A hand-made HTTP/2 client for system tests (Debian's hpack + hyperframe): frames in and out
one by one, answering SETTINGS and PING as any client must, reading on after a GOAWAY (h2's
state machine refuses every frame after one). For tests of GOAWAY, keepalive pings and
connection lifetimes; grpcio or h2 are the clients for everything else."""

import socket
import time

import hpack
from hyperframe.frame import (DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                              RstStreamFrame, SettingsFrame, WindowUpdateFrame)

from percore_py.stubs import stub_module, stub_modules

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def grpc_frame(message_bytes):
    return b"\x00" + len(message_bytes).to_bytes(4, "big") + message_bytes


class RawClient:
    """One connection to 127.0.0.1:port. goaways: (last_stream_id, error_code, debug data) in
    arrival order; status: stream id -> grpc-status; data: stream id -> bytes received;
    resets: stream id -> RST_STREAM error code; pings_acked: payloads of PING ACKs;
    closed: the server closed the socket."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.goaways = []
        self.status = {}
        self.data = {}
        self.resets = {}
        self.pings_acked = []
        self.closed = False
        self.settings_received = False  # the server's own SETTINGS (not an ACK) came
        self.buffer = b""
        self.sock.sendall(PREFACE + SettingsFrame(0).serialize())

    def open(self, stream_id, path, message, end):
        headers = [(":method", "POST"), (":scheme", "http"), (":path", path),
                   (":authority", "127.0.0.1"), ("te", "trailers"),
                   ("content-type", "application/grpc")]
        frame = HeadersFrame(stream_id, self.encoder.encode(headers), flags=["END_HEADERS"])
        self.sock.sendall(frame.serialize())
        self.send(stream_id, message, end)

    def send(self, stream_id, message, end):
        flags = ["END_STREAM"] if end else []
        self.sock.sendall(DataFrame(stream_id, grpc_frame(message), flags=flags).serialize())

    def ping(self, payload=b"keepaliv"):
        self.write(PingFrame(0, payload).serialize())

    def pump(self, seconds):
        """Reads frames for up to `seconds` (until the server closes the socket)."""
        end = time.time() + seconds
        while not self.closed and time.time() < end:
            self.sock.settimeout(max(0.01, end - time.time()))
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                break
            self.buffer += chunk
            while len(self.buffer) >= 9:
                frame, length = Frame.parse_frame_header(memoryview(self.buffer[:9]))
                if len(self.buffer) < 9 + length:
                    break
                frame.parse_body(memoryview(self.buffer[9:9 + length]))
                self.buffer = self.buffer[9 + length:]
                self.on_frame(frame)

    def pump_until(self, condition, seconds=10):
        """Reads frames until `condition()` holds, the server closes the socket, or `seconds`
        (a bound against hangs, not a wait: a slow sanitizer build may need much of it)."""
        end = time.time() + seconds
        while not condition() and not self.closed and time.time() < end:
            self.pump(min(0.05, max(0.0, end - time.time())))

    def on_frame(self, frame):
        if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
            self.settings_received = True
            self.write(SettingsFrame(0, flags=["ACK"]).serialize())
        elif isinstance(frame, PingFrame) and "ACK" not in frame.flags:
            self.write(PingFrame(0, frame.opaque_data, flags=["ACK"]).serialize())
        elif isinstance(frame, PingFrame):
            self.pings_acked.append(bytes(frame.opaque_data))
        elif isinstance(frame, RstStreamFrame):
            self.resets[frame.stream_id] = frame.error_code
        elif isinstance(frame, GoAwayFrame):
            self.goaways.append((frame.last_stream_id, frame.error_code,
                                 bytes(frame.additional_data)))
        elif isinstance(frame, HeadersFrame):
            headers = dict(self.decoder.decode(frame.data))
            if "grpc-status" in headers:
                self.status[frame.stream_id] = int(headers["grpc-status"])
        elif isinstance(frame, DataFrame):
            self.data[frame.stream_id] = self.data.get(frame.stream_id, b"") + frame.data
            if frame.flow_controlled_length:
                for sid in (0, frame.stream_id):
                    self.write(WindowUpdateFrame(
                        sid, window_increment=frame.flow_controlled_length).serialize())

    def write(self, data):
        try:
            self.sock.sendall(data)
        except OSError:  # the server closed the connection; what it sent is still read
            pass

    def close(self):
        self.sock.close()


class RawChatCase:
    """A unittest mixin for tests that hold raw connections open with a ChatSession call (a
    bidi stream the server keeps open while the client sends): the user and order stubs,
    raw_client(port) closed at the test's end, and chat(id), one ChatMessage's bytes."""

    @classmethod
    def setUpClass(cls):
        cls.user_pb, cls.user_grpc = stub_modules("user.v1.user")
        cls.order_pb = stub_module("order.v1.order_pb2")

    def raw_client(self, port):
        client = RawClient(port)
        self.addCleanup(client.close)
        return client

    def chat(self, message_id):
        return self.order_pb.ChatMessage(message_id=message_id, text="help").SerializeToString()
