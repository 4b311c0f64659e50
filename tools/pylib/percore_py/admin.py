"""percore-server with its admin listener (--admin) on a free port, for the tests that scrape
/metrics or ask /readyz: the port is read from the server's stderr line "admin listening on
HOST:PORT (port N)"."""

import re
import time

from percore_py.server import Server


def start_with_admin(binary, *flags):
    """`binary --admin 127.0.0.1:0 *flags`; returns (server, admin port)."""
    server = Server(binary, "--admin", "127.0.0.1:0", *flags)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        match = re.search(r"admin listening on \S+ \(port (\d+)\)", server.stderr_text())
        if match:
            return server, int(match.group(1))
        time.sleep(0.02)
    server.kill()
    raise RuntimeError("no admin port: " + server.stderr_text())
