"""Where bench/run's pieces are and where they run: the repository, the build directory whose
binaries it measures (set once by the command line), the CPU the server is pinned to and the
one the load generator is pinned to, and the .proto every load run names."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BUILD = os.environ.get("PERCORE_BENCH_BUILD", os.path.join(ROOT, "build", "release"))
# What bench/run runs; built alone, not the whole tree (the tests take far longer to compile).
BUILD_TARGETS = "percore-server percore-load percore-baseline"
# The grpc-go baseline: built by bench/baseline/go/build into the build directory (not by meson).
GRPCGO_BINARY = "bench/baseline/go/grpcgo-baseline"
SERVER_CPU = "0"
LOAD_CPU = "1"
# The baselines serve no reflection: every load run names the .proto (the same for all servers).
PROTO_ARGS = ["--proto", os.path.join(ROOT, "proto/user/v1/user.proto"), "-i",
              os.path.join(ROOT, "proto")]

_build = DEFAULT_BUILD
# percore-load's --client-transport (bench/run --load-client): grpc (libgrpc) or native.
LOAD_CLIENT = "grpc"


def use_build(path):
    """The build directory whose binaries every later step runs."""
    global _build
    _build = os.path.abspath(path)


def build_dir():
    return _build


def binary(relative):
    """A built binary, e.g. binary("tools/load/percore-load")."""
    return os.path.join(_build, relative)


def log(*parts):
    print("bench/run:", *parts, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def cpus_available():
    return len(os.sched_getaffinity(0))


def pin(cpu, cmd):
    """`cmd` pinned to `cpu` with taskset (as it is on a 1-CPU machine)."""
    return ["taskset", "-c", cpu] + cmd if cpus_available() > 1 else cmd
