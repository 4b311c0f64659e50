"""A server process (percore-server or percore-baseline) on 127.0.0.1 and a free port: started
with --listen 127.0.0.1:0, its port read from the first stdout line ("... listening on
127.0.0.1:PORT ..."), stopped with SIGTERM. Every process started here and not yet reaped is
killed when the Python process exits, so a test that died half-way leaves no server behind.

With PERCORE_TRANSPORT=native in the environment, every percore-server started here gets
`--transport native` (percore's own HTTP/2 transport), and without it `--transport grpc`
(libgrpc's, though the binary's default is native), so a system test runs unchanged against
both transports (tests/system/meson.build registers the _native copies); baselines are left
alone. native() says which one a test is running against."""

import fcntl
import functools
import os
import re
import subprocess
import tempfile
import time

import grpc

from percore_py import children

def native():
    """True when the tests run percore-server on its own transport (PERCORE_TRANSPORT=native)."""
    return os.environ.get("PERCORE_TRANSPORT", "grpc") == "native"


def transport_flags(binary):
    """percore-server's --transport as PERCORE_TRANSPORT says (grpc when unset: the plain tests
    are libgrpc's, the `_native` twins percore's own, whatever the binary's default is).
    PERCORE_TRANSPORT=none: no flag, for a percore-server from before --transport existed
    (bench/callgrind_getuser.py on a pre-seam checkout)."""
    if (os.path.basename(binary) == "percore-server" and
            os.environ.get("PERCORE_TRANSPORT") != "none"):
        return ["--transport", "native" if native() else "grpc"]
    return []


def run_refused(binary, *flags, timeout=10):
    """`binary *flags` run to its end, for flags it should refuse before serving: (exit code,
    stderr). percore-server exits 2 on a flag error, with a message naming the flag."""
    proc = subprocess.run([binary, *flags], capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stderr


class Server:
    """`binary --listen 127.0.0.1:0 *flags`, run under `wrapper` (e.g. taskset or valgrind) when
    given, with `preexec_fn` in the child (e.g. setrlimit). Its stderr goes to a temporary file
    (stderr_text()), so a chatty server never blocks on a full pipe."""

    def __init__(self, binary, *flags, wrapper=(), preexec_fn=None):
        # O_APPEND: the child's writes always land at the end, even while
        # stderr_text() seeks the shared file offset back to 0 to read (a line written then
        # would otherwise overwrite the start of the file).
        self._stderr = tempfile.TemporaryFile(mode="w+", prefix="percore-server-stderr-")
        fd_flags = fcntl.fcntl(self._stderr.fileno(), fcntl.F_GETFL)
        fcntl.fcntl(self._stderr.fileno(), fcntl.F_SETFL, fd_flags | os.O_APPEND)
        self.proc = subprocess.Popen(
            [*wrapper, binary, "--listen", "127.0.0.1:0", *transport_flags(binary), *flags],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True, preexec_fn=preexec_fn)
        children.track(self.proc)
        line = self.proc.stdout.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not match:
            children.kill(self.proc)
            raise RuntimeError("%s did not start: %r %s" % (binary, line, self.stderr_text()))
        self.first_line = line
        self.port = int(match.group(1))
        self.address = "127.0.0.1:%d" % self.port

    @functools.cached_property
    def channel(self):
        """A grpcio channel to the server, made on first use (bench/run and the tools tests
        never use one)."""
        return grpc.insecure_channel(self.address)

    def stderr_text(self):
        self._stderr.seek(0)
        return self._stderr.read()

    def logged_ports(self, *listeners, timeout=10):
        """The ports of `listeners` ("admin", "HTTP gateway", "health"), read from the lines
        "<listener> listening on HOST:PORT (port N..." the server logs once each one is bound, in
        the order asked; RuntimeError if they are not all logged within `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.stderr_text()
            found = [re.search(r"%s listening on \S+ \(port (\d+)" % re.escape(name), text)
                     for name in listeners]
            if all(found):
                return tuple(int(m.group(1)) for m in found)
            if time.monotonic() > deadline:
                raise RuntimeError("no %s port logged: %s" % (" or ".join(listeners), text))
            time.sleep(0.02)

    def _close_channel(self):
        if "channel" in self.__dict__:
            self.channel.close()

    def stop(self, timeout=30):
        """SIGTERM; returns the exit code (killed if it has not exited after `timeout` s)."""
        self._close_channel()
        return children.terminate(self.proc, timeout)

    def kill(self):
        """SIGKILL, as a crash: no drain, no goodbye to clients."""
        children.kill(self.proc)
        self._close_channel()

    def __del__(self):
        # stderr_text() is read after stop() and kill(), so the files stay open until the object
        # goes; closed here, they raise no ResourceWarning.
        proc = getattr(self, "proc", None)
        for f in (getattr(self, "_stderr", None), proc.stdout if proc else None):
            if f is not None:
                f.close()
