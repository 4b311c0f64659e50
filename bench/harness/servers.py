"""The servers bench/run measures: percore-server (1 or 2 shards, with or without
--minimal-stack), percore-baseline in each mode, the grpc-go baseline (GOMAXPROCS=1), started
pinned to the server CPU (or under valgrind for the callgrind pass), and seeded with users
through Python's grpcio; and nghttpd -n 1 serving a static file, the HTTP/2 floor."""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import grpc
from percore_py import children
from percore_py.server import Server
from percore_py.stubs import stub_modules

from harness import env


class Measured(Server):
    """A server under test, pinned to the server CPU (under `tool` when given), and the name it
    has in the report."""

    def __init__(self, name, command, tool=()):
        self.name = name
        super().__init__(command[0], *command[1:], wrapper=env.pin(env.SERVER_CPU, list(tool)))


def percore_cmd(shards, minimal_stack=False, native=False):
    """percore-server and its flags (--listen is added when it starts); `native`: percore's own
    HTTP/2 transport (--transport native) instead of libgrpc's; None: no --transport (a
    server from before the flag existed, libgrpc's)."""
    return ([env.binary("services/server/percore-server"), "--shards", str(shards),
             "--services", "user", "--shutdown-grace", "1"] +
            (["--minimal-stack"] if minimal_stack else []) +
            ([] if native is None else ["--transport", "native" if native else "grpc"]))


def percore_server(shards, minimal_stack=False, native=False):
    name = "percore-%dshard%s%s" % (shards, "-minimal" if minimal_stack else "",
                                    "-native" if native else "")
    return Measured(name, percore_cmd(shards, minimal_stack, native))


def baseline_cmd(mode):
    return [env.binary("bench/baseline/percore-baseline"), "--mode", mode, "--threads", "1",
            "--shutdown-grace", "1"]


def baseline_server(mode):
    return Measured("baseline-" + mode, baseline_cmd(mode))


def grpcgo_cmd():
    return [env.binary(env.GRPCGO_BINARY), "--shutdown-grace", "1"]


def grpcgo_server():
    """grpc-go on one core: pinned like the others, and GOMAXPROCS=1 so the Go scheduler runs Go
    code on one thread (as a one-core deployment would set it)."""
    return Measured("grpc-go", grpcgo_cmd(), tool=["env", "GOMAXPROCS=1"])


def check_grpcgo():
    """The grpc-go baseline's correctness check (bench/baseline/go/check_grpcgo.py, grpcio)
    before it is measured: a baseline that answers wrongly must not be a figure."""
    env.run(["/usr/bin/python3", os.path.join(env.ROOT, "bench/baseline/go/check_grpcgo.py"),
             env.binary(env.GRPCGO_BINARY)],
            env=dict(os.environ, PYTHONPATH=os.path.join(env.ROOT, "tools/pylib")))


class H2Floor:
    """`nghttpd --no-tls -n 1` (nghttp2-server, one worker thread) on a loopback port, pinned to
    the server CPU, serving one static file of FILE_BYTES (about a GetUser answer's size) for
    h2load to GET: a floor for HTTP/2 itself, not a gRPC server (no trailers, no gRPC framing, no
    handler)."""

    FILE_BYTES = 160
    PATH = "/user.bin"
    name = "nghttpd-floor"
    label = "nghttpd -n 1 (HTTP/2 floor: static 160-byte GET, not gRPC)"

    def __init__(self):
        self.docroot = tempfile.mkdtemp(prefix="percore-h2floor-")
        with open(os.path.join(self.docroot, self.PATH.lstrip("/")), "wb") as f:
            f.write(b"x" * self.FILE_BYTES)
        with socket.socket() as s:  # a free port (nghttpd cannot report the one it got for 0)
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.address = "127.0.0.1:%d" % self.port
        self.proc = children.track(subprocess.Popen(
            env.pin(env.SERVER_CPU, ["nghttpd", "--no-tls", "-n", "1", "-a", "127.0.0.1", "-d",
                                     self.docroot, str(self.port)]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("nghttpd did not start on port %d" % self.port)
                time.sleep(0.05)

    def stop(self):
        children.terminate(self.proc)
        shutil.rmtree(self.docroot, ignore_errors=True)


def under_callgrind(name, command, out_file):
    """The server under valgrind --tool=callgrind, pinned like the others."""
    return Measured(name, command,
                    tool=["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file])


def seed(address, users, metadata=None):
    """Creates `users` users, 200 calls in flight at a time (with `metadata`, e.g. an
    authorization header, when given); returns their ids in order."""
    pb, pb_grpc = stub_modules("user.v1.user")
    channel = grpc.insecure_channel(address)
    stub = pb_grpc.UserServiceStub(channel)
    futures = []
    ids = []
    for i in range(users):
        futures.append(stub.CreateUser.future(pb.CreateUserRequest(
            name="User %d" % i, email="user%d@example.com" % i, roles=["member"]), timeout=30,
            metadata=metadata))
        if len(futures) >= 200:
            ids += [f.result().id for f in futures]
            futures = []
    ids += [f.result().id for f in futures]
    channel.close()
    return ids
