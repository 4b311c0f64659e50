"""percore-server with its admin listener (--admin) on a free port, for the tests that scrape
/metrics or ask /readyz: the port is read from the server's stderr line "admin listening on
HOST:PORT (port N)"; `metrics` reads /metrics into {(name, frozenset of labels): value}."""

import http.client
import re

from percore_py.server import Server


def start_with_admin(binary, *flags):
    """`binary --admin 127.0.0.1:0 *flags`; returns (server, admin port)."""
    server = Server(binary, "--admin", "127.0.0.1:0", *flags)
    try:
        return server, server.logged_ports("admin")[0]
    except RuntimeError:
        server.kill()
        raise


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metrics(port):
    """The samples of one GET /metrics on 127.0.0.1:`port`: {(name, frozenset of (label,
    value)): float}."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    samples = {}
    for line in text.splitlines():
        match = SAMPLE.match(line) if line and not line.startswith("#") else None
        if match:
            samples[(match.group(1), frozenset(LABEL.findall(match.group(2) or "")))] = float(
                match.group(3))
    return samples
