"""A server process (percore-server or percore-baseline) on 127.0.0.1 and a free port: started
with --listen 127.0.0.1:0, its port read from the first stdout line ("... listening on
127.0.0.1:PORT ..."), stopped with SIGTERM. Every process started here and not yet reaped is
killed when the Python process exits, so a test that died half-way leaves no server behind.

With PERCORE_TRANSPORT=native in the environment, every percore-server started here gets
`--transport native` (percore's own HTTP/2 transport), so a system test runs unchanged against
both transports (tests/system/meson.build registers the _native copies); baselines are left
alone. native() says which one a test is running against."""

import atexit
import fcntl
import functools
import os
import re
import signal
import subprocess
import tempfile

import grpc

_LIVE = set()  # every server process started and not yet reaped


@atexit.register
def _kill_leftovers():
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def native():
    """True when the tests run percore-server on its own transport (PERCORE_TRANSPORT=native)."""
    return os.environ.get("PERCORE_TRANSPORT", "grpc") == "native"


def transport_flags(binary):
    """["--transport", "native"] for percore-server when PERCORE_TRANSPORT=native, else []."""
    if native() and os.path.basename(binary) == "percore-server":
        return ["--transport", "native"]
    return []


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
        _LIVE.add(self.proc)
        line = self.proc.stdout.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not match:
            self.proc.kill()
            self.proc.wait()
            _LIVE.discard(self.proc)
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

    def _close_channel(self):
        if "channel" in self.__dict__:
            self.channel.close()

    def stop(self, timeout=30):
        """SIGTERM; returns the exit code (killed if it has not exited after `timeout` s)."""
        self._close_channel()
        if self.proc.poll() is not None:
            _LIVE.discard(self.proc)
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            _LIVE.discard(self.proc)

    def kill(self):
        """SIGKILL, as a crash: no drain, no goodbye to clients."""
        self.proc.kill()
        self.proc.wait()
        _LIVE.discard(self.proc)
        self._close_channel()

    def __del__(self):
        # stderr_text() is read after stop() and kill(), so the files stay open until the object
        # goes; closed here, they raise no ResourceWarning.
        proc = getattr(self, "proc", None)
        for f in (getattr(self, "_stderr", None), proc.stdout if proc else None):
            if f is not None:
                f.close()
