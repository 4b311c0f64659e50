"""Helpers for system tests: start the real percore-server and talk to it with Python's grpcio
(Debian's python3-grpcio), a client percore did not write. Stubs are generated at run time with
Debian's protoc and grpc_python_plugin from the protos the server serves (Debian's grpc-proto and this repo's proto/)."""

import atexit
import importlib
import os
import re
import signal
import subprocess
import sys
import tempfile

import grpc

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_STUBS = None
_LIVE = set()  # every server process started and not yet reaped


@atexit.register
def _kill_leftovers():
    """A test that died half-way must not leave servers behind."""
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def load_stubs():
    """Generates Python stubs once per process; returns the output folder."""
    global _STUBS
    if _STUBS:
        return _STUBS
    out = tempfile.mkdtemp(prefix="percore-pystubs-")
    common = ["protoc", "-I/usr/share/grpc-proto", "-I" + os.path.join(_REPO, "proto"),
              "-I/usr/include", "--python_out=" + out, "--grpc_python_out=" + out,
              "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"]
    protos = [
        "grpc/health/v1/health.proto",
        "grpc/reflection/v1alpha/reflection.proto",
        "grpc/testing/test.proto",
        "grpc/testing/messages.proto",
        "grpc/testing/empty.proto",
    ]
    protos += [p for p in ("user/v1/user.proto", "commerce/v1/money.proto",
                           "inventory/v1/inventory.proto", "payment/v1/payment.proto",
                           "order/v1/order.proto")
               if os.path.exists(os.path.join(_REPO, "proto", p))]
    subprocess.run(common + protos, check=True)
    # The generated modules live in a package named "grpc", like grpcio itself: extend its path.
    grpc.__path__.append(os.path.join(out, "grpc"))
    sys.path.insert(0, out)
    _STUBS = out
    return out


def stub_module(name):
    load_stubs()
    return importlib.import_module(name)


class Server:
    """percore-server on 127.0.0.1 and a free port, stopped with SIGTERM. Its stderr goes to a
    temporary file (stderr_text()), so a chatty server never blocks on a full pipe."""

    def __init__(self, binary, *flags):
        self._stderr = tempfile.TemporaryFile(mode="w+", prefix="percore-server-stderr-")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", *flags],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        _LIVE.add(self.proc)
        line = self.proc.stdout.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not match:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("server did not start: %r %s" % (line, self.stderr_text()))
        self.first_line = line
        self.port = int(match.group(1))
        self.address = "127.0.0.1:%d" % self.port
        self.channel = grpc.insecure_channel(self.address)

    def stderr_text(self):
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self, timeout=30):
        """SIGTERM; returns the exit code."""
        self.channel.close()
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
        self.channel.close()


def rss_bytes(pid):
    """The process's resident memory (VmRSS), 0 once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def asan_built(pid):
    """Whether the process runs with AddressSanitizer: its allocator's redzones and quarantine
    (256 MB by default) make RSS say little about what the server itself keeps."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()
