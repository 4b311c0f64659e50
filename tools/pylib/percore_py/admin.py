"""percore-server with its admin listener (--admin) on a free port, for the tests that scrape
/metrics or ask /readyz: the port is read from the server's stderr line "admin listening on
HOST:PORT (port N)"; `get` makes one request, `metrics` reads /metrics into {(name, frozenset of
labels): value} (`parse`, `key`), `total` sums a series over the labels not named."""

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


def get(port, path, method="GET", timeout=10):
    """(status, headers, body) of one request to 127.0.0.1:`port` on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def parse(text):
    """{(name, frozenset of (label, value)): float} of a text-format page; every line that is
    not a comment must be a sample."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, "not a sample line: %r" % line
        labels = frozenset(LABEL.findall(match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def key(name, **labels):
    """The `parse` key of the series `name` with exactly `labels`."""
    return (name, frozenset(labels.items()))


def metrics(port):
    """The samples of one GET /metrics on 127.0.0.1:`port` (`parse`)."""
    return parse(get(port, "/metrics")[2])


def total(port, name, **labels):
    """The sum of the series `name` over every series carrying `labels` (among others: every
    shard, every method...), from one GET /metrics."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in metrics(port).items() if n == name and wanted <= have)
