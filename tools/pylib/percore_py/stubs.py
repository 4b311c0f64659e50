"""Python stubs for percore's protos and gRPC's own (health, reflection, interop testing),
generated once per process at run time with Debian's protoc and grpc_python_plugin, so that
the clients are grpcio code percore did not write."""

import atexit
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

import grpc

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
_STUBS = None
# Ours, when the checkout has them (a proto added later is picked up without a change here).
_OWN_PROTOS = ("user/v1/user.proto", "commerce/v1/money.proto", "inventory/v1/inventory.proto",
               "payment/v1/payment.proto", "order/v1/order.proto",
               "cluster/v1/cluster_admin.proto")
_GRPC_PROTOS = ("grpc/health/v1/health.proto", "grpc/reflection/v1alpha/reflection.proto",
                "grpc/reflection/v1/reflection.proto",
                "grpc/testing/test.proto", "grpc/testing/messages.proto",
                "grpc/testing/empty.proto")


def load_stubs():
    """Generates the stubs once per process; returns the output folder."""
    global _STUBS
    if _STUBS:
        return _STUBS
    out = tempfile.mkdtemp(prefix="percore-pystubs-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    common = ["protoc", "-I/usr/share/grpc-proto", "-I" + os.path.join(_REPO, "proto"),
              "-I/usr/include", "--python_out=" + out, "--grpc_python_out=" + out,
              "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"]
    own = [p for p in _OWN_PROTOS if os.path.exists(os.path.join(_REPO, "proto", p))]
    subprocess.run(common + list(_GRPC_PROTOS) + own, check=True)
    # The generated modules live in a package named "grpc", like grpcio itself: extend its path.
    grpc.__path__.append(os.path.join(out, "grpc"))
    sys.path.insert(0, out)
    _STUBS = out
    return out


def stub_module(name):
    """One generated module, e.g. "user.v1.user_pb2"."""
    load_stubs()
    return importlib.import_module(name)


def stub_modules(proto):
    """The messages and the service stubs of one proto, e.g. "grpc.health.v1.health":
    (health_pb2, health_pb2_grpc)."""
    return stub_module(proto + "_pb2"), stub_module(proto + "_pb2_grpc")
