"""Shared by native_wire_test.py: starting tests/core/net/echo_server.cc, gRPC framing, the
request header blocks it writes by hand (with percore_py.h2_bytes), and RawH2, one HTTP/2
connection driven by hand (python3-h2) for what grpcio will not send."""

import re
import socket
import subprocess
import time

import grpc
import h2.config
import h2.connection
import h2.events

from percore_py.h2_bytes import frame, hpack_literal, hpack_string

TIMEOUT = 10
MAX_MESSAGE = 1 << 20  # echo_server's max_message_bytes


def start_server(binary, *args):
    proc = subprocess.Popen([binary, *args], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    match = re.match(r"port (\d+)", line)
    if not match:
        proc.kill()
        raise RuntimeError("echo server did not start: %r" % line)
    return proc, int(match.group(1))


def grpc_frame(message, flags=0):
    return bytes([flags]) + len(message).to_bytes(4, "big") + message


def channel(port, own_connection=False):
    options = [("grpc.use_local_subchannel_pool", 1)] if own_connection else []
    return grpc.insecure_channel("127.0.0.1:%d" % port, options=options)


# --- HPACK by hand (RFC 7541), for header blocks no library would encode this way ----------

def never_indexed_authorization(value, huffman=True):
    """nghttp2's way (h2load, grpc-js, Envoy): never indexed, name static entry 23."""
    return b"\x1f\x08" + hpack_string(value, huffman)


def raw_authorization(value):
    """libgrpc's way: without indexing, name and value raw literals."""
    return hpack_literal(b"authorization", value)


def request_block(path, fields=(), fields_first=False):
    """A gRPC request's header block of literals without indexing (the server's dynamic table
    stays empty), with `fields` (encoded representations) after the regular headers, or before
    the pseudo-headers."""
    pseudo = (b"\x83\x86" + b"\x04" + hpack_string(path.encode()) +  # POST, http, :path
              b"\x01" + hpack_string(b"localhost"))                 # :authority
    regular = (b"\x0f\x10" + hpack_string(b"application/grpc") +     # content-type (31)
               b"\x00" + hpack_string(b"te") + hpack_string(b"trailers"))
    extra = b"".join(fields)
    return extra + pseudo + regular if fields_first else pseudo + regular + extra


class RawH2:
    """One HTTP/2 connection driven by hand."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        self.headers = {}   # stream id -> dict of response headers (HEADERS and trailers)
        self.data = {}      # stream id -> bytes received
        self.ended = set()
        self.reset = set()
        self.reset_codes = {}  # stream id -> RST_STREAM error code
        self.goaway = None
        self.unacked = []

    def request(self, path, content_type="application/grpc", extra=(), body=None, end=True):
        sid = self.conn.get_next_available_stream_id()
        headers = [(":method", "POST"), (":scheme", "http"), (":path", path),
                   (":authority", "localhost"), ("content-type", content_type),
                   ("te", "trailers"), *extra]
        self.conn.send_headers(sid, headers, end_stream=body is None and end)
        if body is not None:
            self.conn.send_data(sid, body, end_stream=end)
        self.sock.sendall(self.conn.data_to_send())
        return sid

    def send_frame(self, kind, flags, sid, payload):
        self.sock.sendall(self.conn.data_to_send() + frame(kind, flags, sid, payload))

    def send_block(self, block, pad=0, priority=False, split_at=None, end=True):
        """A request with no message whose HEADERS carry `block` as given (h2 opens the stream
        in its own books; its encoding is dropped, so only hand-built blocks may be sent on
        this connection). `pad` bytes of padding, a PRIORITY section, or the block split into
        HEADERS + CONTINUATION at `split_at`."""
        self.sock.sendall(self.conn.data_to_send())
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", "/"),
                                     (":authority", "x")], end_stream=end)
        self.conn.data_to_send()
        first = block if split_at is None else block[:split_at]
        flags = (0x1 if end else 0) | (0x4 if split_at is None else 0) | (0x8 if pad else 0) | (
            0x20 if priority else 0)
        payload = ((bytes([pad]) if pad else b"") + (b"\x00\x00\x00\x00\x0f" if priority else b"")
                   + first + b"\x00" * pad)
        frames = frame(0x1, flags, sid, payload)
        if split_at is not None:
            frames += frame(0x9, 0x4, sid, block[split_at:])
        self.sock.sendall(frames)
        return sid

    def call_block(self, *args, **kwargs):
        """send_block, then waits for the stream's end or reset; returns its stream id."""
        sid = self.send_block(*args, **kwargs)
        self.pump(lambda: sid in self.ended or sid in self.reset or self.goaway is not None)
        return sid

    def pump(self, until, timeout=TIMEOUT, ack=True):
        deadline = time.time() + timeout
        while not until() and time.time() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            for event in self.conn.receive_data(chunk):
                sid = getattr(event, "stream_id", None)
                if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    self.headers.setdefault(sid, {}).update(dict(event.headers))
                elif isinstance(event, h2.events.DataReceived):
                    self.data[sid] = self.data.get(sid, b"") + event.data
                    if ack:
                        self.conn.acknowledge_received_data(event.flow_controlled_length, sid)
                    else:
                        self.unacked.append((event.flow_controlled_length, sid))
                elif isinstance(event, h2.events.StreamEnded):
                    self.ended.add(sid)
                elif isinstance(event, h2.events.StreamReset):
                    self.reset.add(sid)
                    self.reset_codes[sid] = event.error_code
                elif isinstance(event, h2.events.ConnectionTerminated):
                    self.goaway = event
            data = self.conn.data_to_send()
            if data:
                self.sock.sendall(data)
        return until()

    def close(self):
        self.sock.close()
