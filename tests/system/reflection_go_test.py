"""Server reflection as grpc-go sees it: tests/system/reflection_go_client (grpc-go's own
generated v1alpha client and Go protobuf's protodesc, from Debian's Go sources in GOPATH mode,
no network) lists the services of a real percore-server, fetches each one's file on one stream
and builds them all. Skipped (exit 77) when Go and grpc-go are not installed (they come with
`tools/bootstrap --bench`).
Usage: reflection_go_test.py PATH/TO/percore-server"""

import os
import shutil
import subprocess
import sys
import tempfile

from percore_py.server import Server

HERE = os.path.dirname(os.path.abspath(__file__))
GOCODE = "/usr/share/gocode/src/google.golang.org"
EXPECTED = {"grpc.health.v1.Health": 2, "grpc.reflection.v1.ServerReflection": 1,
            "grpc.reflection.v1alpha.ServerReflection": 1, "grpc.testing.TestService": 8,
            "inventory.v1.InventoryService": 8, "order.v1.OrderService": 6,
            "payment.v1.PaymentService": 4, "user.v1.UserService": 6}


def main(server_binary):
    if not shutil.which("go") or not all(os.path.isdir(os.path.join(GOCODE, p)) for p in (
            "grpc/reflection/grpc_reflection_v1alpha", "protobuf/reflect/protodesc")):
        print("SKIP: Go or grpc-go is not installed (tools/bootstrap --bench)")
        return 77
    out = tempfile.mkdtemp(prefix="percore-reflection-go-")
    try:
        env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode", GOPROXY="off",
                   GOFLAGS="", CGO_ENABLED="0")
        binary = os.path.join(out, "reflection_go_client")
        subprocess.run(["go", "build", "-o", binary, "."], cwd=os.path.join(
            HERE, "reflection_go_client"), env=env, check=True, timeout=600)
        server = Server(server_binary, "--shards", "2", "--shutdown-grace", "2")
        try:
            run = subprocess.run([binary, server.address], capture_output=True, text=True,
                                 timeout=60)
        finally:
            code = server.stop()
        print(run.stdout, run.stderr)
        lines = run.stdout.splitlines()
        got = dict(line.rsplit(" ", 1) for line in lines[:-1])
        ok = (run.returncode == 0 and {k: int(v) for k, v in got.items()} == EXPECTED and
              lines[-1] == "unknown 5" and code == 0)  # 5: NOT_FOUND
        print("OK" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
