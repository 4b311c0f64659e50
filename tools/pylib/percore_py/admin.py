"""percore-server with its admin listener (--admin) on a free port, for the tests that scrape
/metrics or ask /readyz: the port is read from the server's stderr line "admin listening on
HOST:PORT (port N)"."""

from percore_py.server import Server


def start_with_admin(binary, *flags):
    """`binary --admin 127.0.0.1:0 *flags`; returns (server, admin port)."""
    server = Server(binary, "--admin", "127.0.0.1:0", *flags)
    try:
        return server, server.logged_ports("admin")[0]
    except RuntimeError:
        server.kill()
        raise
