"""What security costs per call (issue 13's benchmark), on one pinned core as bench/run measures
(server on CPU 0, h2load on CPU 1, pre-encoded gRPC frames, -c 2 -m 32), in interleaved rounds
so run-to-run noise shows: GetUser with no auth, with a reused HS256 token, and over TLS; and
ListUsers(page_size 1000) in plaintext and over TLS; on both transports. The first use of a
token per algorithm is the micro-benchmark build/release/bench/security/security_bench.
Usage, from a checkout on a quiet machine:
  PYTHONPATH=bench:tools/pylib python3 bench/security/auth_tls_rounds.py BUILD[,BUILD2...]
      [ROUNDS [SECONDS]] [--transports grpc,native] [--variants get,token,tls,list,list-tls]
Several builds (comma-separated) are alternated within each round, so two binaries compare in
the same minutes.
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

import grpc
import jwt
from percore_py.stubs import stub_modules

from harness import env, load, servers

SECRET = "bench-secret-0123456789abcdef0123456789"
USERS = 1000


def make_certificate(directory):
    """A self-signed P-256 certificate for 127.0.0.1 (openssl), as (cert, key) paths."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    env.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=percore-bench",
             "-addext", "subjectAltName=IP:127.0.0.1"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
    return cert, key


def seed(server, cert, token):
    """USERS users through grpcio (over TLS when `cert`); returns one user's id."""
    pb, pb_grpc = stub_modules("user.v1.user")
    if cert:
        with open(cert, "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        channel = grpc.secure_channel(server.address, credentials)
    else:
        channel = grpc.insecure_channel(server.address)
    metadata = [("authorization", "Bearer " + token)] if token else None
    stub = pb_grpc.UserServiceStub(channel)
    futures = [stub.CreateUser.future(pb.CreateUserRequest(
        name="User %d" % i, email="user%d@example.com" % i), timeout=30, metadata=metadata)
        for i in range(USERS)]
    ids = [f.result().id for f in futures]
    channel.close()
    return ids[len(ids) // 2]


def h2load(server, scheme, path, body, seconds, token):
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
        f.write(load.grpc_frame(body))
        data_file = f.name
    cmd = load.h2load_args(2, 32, ["-D", str(seconds)], data_file,
                           "%s://%s%s" % (scheme, server.address, path))
    if token:
        cmd[1:1] = ["-H", "authorization: Bearer " + token]
    try:
        out = env.run(env.pin(env.LOAD_CPU, cmd), stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT).stdout
    finally:
        os.unlink(data_file)
    rps = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    ok = re.search(r"status codes: (\d+) 2xx", out)
    if not rps or not ok or int(ok.group(1)) == 0:
        raise RuntimeError("h2load failed:\n" + out)
    return float(rps.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("builds")
    parser.add_argument("rounds", nargs="?", type=int, default=3)
    parser.add_argument("seconds", nargs="?", type=int, default=5)
    parser.add_argument("--transports", default="grpc,native")
    parser.add_argument("--variants", default="get,token,tls,list,list-tls")
    args = parser.parse_args()
    builds = args.builds.split(",")
    rounds, seconds = args.rounds, args.seconds
    env.use_build(builds[0])
    tmp = tempfile.TemporaryDirectory(prefix="percore-bench-security-")
    cert, key = make_certificate(tmp.name)
    secret_file = os.path.join(tmp.name, "secret")
    with open(secret_file, "w") as f:
        f.write(SECRET)
    token = jwt.encode({"sub": "bench", "roles": ["admin"], "exp": int(time.time()) + 86400},
                       SECRET, algorithm="HS256")
    tls_flags = ["--tls-cert", cert, "--tls-key", key]
    auth_flags = ["--jwt-secret-file", secret_file]
    list_body = b"\x08" + bytes([0xe8, 0x07])  # ListUsersRequest{page_size = 1000}
    # (name, server flags, scheme, with token, rpc)
    variants = {"get": ("GetUser plaintext", [], "http", False, "get"),
                "token": ("GetUser reused HS256 token", auth_flags, "http", True, "get"),
                "tls": ("GetUser TLS", tls_flags, "https", False, "get"),
                "list": ("ListUsers(1000) plaintext", [], "http", False, "list"),
                "list-tls": ("ListUsers(1000) TLS", tls_flags, "https", False, "list")}
    chosen = [variants[v] for v in args.variants.split(",")]
    transports = [t == "native" for t in args.transports.split(",")]
    for r, build in ((r, b) for r in range(rounds) for b in builds):
        env.use_build(build)
        for native in transports:
            for name, flags, scheme, with_token, rpc in chosen:
                server = servers.Measured(name, servers.percore_cmd(1, False, native) + flags)
                try:
                    user_id = seed(server, cert if scheme == "https" else None,
                                   token if with_token else None)
                    if rpc == "get":
                        rate = h2load(server, scheme, "/user.v1.UserService/GetUser",
                                      load.get_user_request(user_id), seconds,
                                      token if with_token else None)
                        figure = "%9.0f req/s" % rate
                    else:
                        rate = h2load(server, scheme, "/user.v1.UserService/ListUsers",
                                      list_body, seconds, None)
                        figure = "%9.0f messages/s" % (rate * USERS)
                    print("round %d %s%-7s %-28s %s" % (
                        r, build + " " if len(builds) > 1 else "",
                        "native" if native else "libgrpc", name, figure), flush=True)
                finally:
                    server.stop()
    tmp.cleanup()


if __name__ == "__main__":
    main()
