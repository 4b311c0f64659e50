"""Helpers for system tests: start the real percore-server and talk to it with Python's grpcio
(Debian's python3-grpcio), a client percore did not write. Stubs are generated at run time with
Debian's protoc and grpc_python_plugin from the protos the server serves (Debian's grpc-proto and this repo's proto/)."""

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
    protos += [p for p in ("user/v1/user.proto",)
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
    """percore-server on 127.0.0.1 and a free port, stopped with SIGTERM."""

    def __init__(self, binary, *flags):
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not match:
            self.proc.kill()
            raise RuntimeError("server did not start: %r %s" % (line, self.proc.stderr.read()))
        self.port = int(match.group(1))
        self.address = "127.0.0.1:%d" % self.port
        self.channel = grpc.insecure_channel(self.address)

    def stop(self, timeout=30):
        """SIGTERM; returns the exit code."""
        self.channel.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
