"""Shared by native_wire_test.py: starting tests/core/net/echo_server.cc, gRPC framing, and
RawH2, one HTTP/2 connection driven by hand (python3-h2) for what grpcio will not send."""

import re
import socket
import subprocess
import time

import grpc
import h2.config
import h2.connection
import h2.events

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
                elif isinstance(event, h2.events.ConnectionTerminated):
                    self.goaway = event
            data = self.conn.data_to_send()
            if data:
                self.sock.sendall(data)
        return until()

    def close(self):
        self.sock.close()
