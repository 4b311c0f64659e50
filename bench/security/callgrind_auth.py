#!/usr/bin/python3
"""What a reused JWT costs one GetUser, in instructions of the SERVER (callgrind: stable on a
busy machine): percore-server --shards 1 under valgrind, GetUser without authentication and
with `--jwt-secret-file` and one HS256 token reused by every call, on both transports; start-up,
seeding and the client's warm-up excluded (issue 13's target: within 10%).

Clients (--clients, default h2load):
  h2load  pre-encoded frames, -c 2 -m 32, CALLS calls; like every nghttp2-based encoder it sends
          `authorization` as a never-indexed literal, so every call carries (and the server
          Huffman-decodes) the whole token;
  grpc    percore-load --client-transport grpc (libgrpc's client, -c 32, no deadline): libgrpc
          1.51's HPACK encoder sends metadata it does not know as a literal without indexing,
          name and value raw (seen on the wire), so every call carries the whole token too; the
          figure is the difference between a run of CALLS/4 calls and one of CALLS + CALLS/4, so
          the connection, the reachability check and the first call are out;
  python  grpcio (libgrpc core underneath, the same literal), 32 calls in flight on one
          channel, 200 warm-up calls before the counters are zeroed.
  grpcgo  grpc-go's client (bench/baseline/go/client, built here by bench/baseline/go/build;
          ghz is built on it), -c 32 on one connection: its HPACK encoder indexes
          `authorization`, so after the first call the token is a one-byte index (nghttp2 still
          copies and checks the value each call); measured as the grpc client, by difference.
Since the twelfth session the native transport does not decode a literal it was sent on the
connection before (core/net/authorization_memo.h): with h2load, grpc and python the server
receives the whole token but hands over the value it decoded the first time.
--as-user: the calls carry a token of the user they read (roles ["user"], sub = the user's id),
          so the rule's own-resource check runs (the default token is an admin's, which skips it).
--functions N also prints the N functions (self instructions, by shared object) whose cost per
call grew most with the token: where the difference goes.
Usage, from a checkout after a release build:
  PYTHONPATH=bench:tools/pylib /usr/bin/python3 bench/security/callgrind_auth.py build/release
      [CALLS] [--clients h2load,grpc,python] [--transports grpc,native] [--functions N]
      [--keep DIR] [--as-user]"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import tempfile
import time

import grpc
import jwt

from harness import env, load, servers
from harness.callgrind import CallgrindRun, dump_costs
from percore_py.stubs import stub_modules

SECRET = "bench-secret-0123456789abcdef0123456789"
IN_FLIGHT = 32


def function_costs(path):
    """Self instructions per (shared object, function) of one callgrind dump."""
    return dump_costs(path, lambda obj, fn: (os.path.basename(obj), fn))


def dumps(run):
    return [os.path.join(run.dir, p) for p in sorted(
        (p for p in os.listdir(run.dir) if re.match(r"cg\.out\.\d+$", p)),
        key=lambda p: int(p.rsplit(".", 1)[1]))]


def drive_h2load(address, user_id, token, calls, run):
    body = os.path.join(run.dir, "get.bin")
    with open(body, "wb") as f:
        f.write(load.grpc_frame(load.get_user_request(user_id)))
    cmd = load.h2load_args(2, IN_FLIGHT, ["-n", str(calls)], body,
                           "http://%s/user.v1.UserService/GetUser" % address)
    if token:
        cmd[1:1] = ["-H", "authorization: Bearer " + token]
    run.zero()
    out = env.run(env.pin(env.LOAD_CPU, cmd), stdout=subprocess.PIPE,
                  stderr=subprocess.STDOUT).stdout
    if "%d 2xx" % calls not in out:
        raise RuntimeError("h2load did not get %d answers:\n%s" % (calls, out))
    run.dump()
    return {"calls": calls, "dump": dumps(run)[-1]}


def drive_percore_load(address, user_id, token, calls, run):
    small = max(calls // 4, 100)
    cmd = [env.binary("tools/load/percore-load"), "--insecure", "--client-transport", "grpc",
           "--call", "user.v1.UserService.GetUser", "-d", '{"id":"%s"}' % user_id,
           "-c", str(IN_FLIGHT), "-t", "0", "-O", "json"] + env.PROTO_ARGS + [address]
    if token:
        cmd[1:1] = ["-m", '{"authorization":"Bearer %s"}' % token]
    run.zero()
    for n in (small, small + calls):
        out = env.run(env.pin(env.LOAD_CPU, cmd[:1] + ["-n", str(n)] + cmd[1:]),
                      stdout=subprocess.PIPE).stdout
        if '"OK":%d' % n not in out.replace(" ", ""):
            raise RuntimeError("percore-load did not get %d OK answers:\n%s" % (n, out))
        run.dump()
    first, second = dumps(run)[-2:]
    return {"calls": calls, "dump": second, "minus": first}


def drive_python(address, user_id, token, calls, run):
    pb, pb_grpc = stub_modules("user.v1.user")
    metadata = [("authorization", "Bearer " + token)] if token else None
    request = pb.GetUserRequest(id=user_id)
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.UserServiceStub(channel)

        def batch(n):
            done = 0
            while done < n:
                futures = [stub.GetUser.future(request, metadata=metadata, timeout=60)
                           for _ in range(min(IN_FLIGHT, n - done))]
                for f in futures:
                    f.result()
                done += len(futures)

        batch(200)  # the connection, the first (literal) header, the caches warm
        run.zero()
        batch(calls)
        run.dump()
    return {"calls": calls, "dump": dumps(run)[-1]}


def drive_grpcgo(address, user_id, token, calls, run):
    client = env.binary("bench/baseline/go/grpcgo-client")
    if not os.path.exists(client):
        env.run([os.path.join(env.ROOT, "bench/baseline/go/build"), env.build_dir()],
                stdout=subprocess.DEVNULL)
    small = max(calls // 4, 100)
    run.zero()
    for n in (small, small + calls):
        cmd = [client, "-addr", address, "-n", str(n), "-c", str(IN_FLIGHT), "-id", user_id]
        if token:
            cmd += ["-token", token]
        out = env.run(env.pin(env.LOAD_CPU, ["env", "GOMAXPROCS=1"] + cmd),
                      stdout=subprocess.PIPE).stdout
        if "ok %d" % n not in out:
            raise RuntimeError("grpcgo-client did not get %d OK answers:\n%s" % (n, out))
        run.dump()
    first, second = dumps(run)[-2:]
    return {"calls": calls, "dump": second, "minus": first}


DRIVERS = {"h2load": drive_h2load, "grpc": drive_percore_load, "python": drive_python,
           "grpcgo": drive_grpcgo}


def measure(name, command, client, calls, token, keep=None, as_user=False):
    """{"per_call": instructions, "functions": Counter of per-call self cost} of the server;
    `keep`: a folder the measured dump is copied into (for callgrind_annotate)."""
    run = CallgrindRun(name, command)
    try:
        address = run.server.address
        metadata = [("authorization", "Bearer " + token)] if token else None
        user_id = servers.seed(address, 100, metadata)[50]
        if token and as_user:
            token = jwt.encode({"sub": user_id, "roles": ["user"],
                                "exp": int(time.time()) + 86400}, SECRET, algorithm="HS256")
        got = DRIVERS[client](address, user_id, token, calls, run)
        if keep:
            os.makedirs(keep, exist_ok=True)
            for key in ("dump", "minus"):
                if key in got:
                    shutil.copy(got[key], os.path.join(keep, "%s-%s-%s.cg" % (name, client, key)))
        costs = function_costs(got["dump"])
        if "minus" in got:
            costs.subtract(function_costs(got["minus"]))
        per_function = collections.Counter({k: v / got["calls"] for k, v in costs.items()})
        return {"per_call": round(sum(costs.values()) / got["calls"]),
                "functions": per_function}
    finally:
        run.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("build")
    parser.add_argument("calls", nargs="?", type=int, default=3000)
    parser.add_argument("--clients", default="h2load")
    parser.add_argument("--transports", default="grpc,native")
    parser.add_argument("--functions", type=int, default=0)
    parser.add_argument("--keep", help="copy the measured dumps into this folder")
    parser.add_argument("--as-user", action="store_true",
                        help="a user's own token (the own-resource rule runs), not an admin's")
    args = parser.parse_args()
    env.use_build(args.build)
    with tempfile.TemporaryDirectory(prefix="percore-callgrind-auth-") as tmp:
        secret_file = os.path.join(tmp, "secret")
        with open(secret_file, "w") as f:
            f.write(SECRET)
        token = jwt.encode({"sub": "bench", "roles": ["admin"], "exp": int(time.time()) + 86400},
                           SECRET, algorithm="HS256")
        for transport in args.transports.split(","):
            # Under callgrind calls wait longer than the default shedding allows
            # (bench/harness/cli).
            server = servers.percore_cmd(1, False, transport == "native") + [
                "--shed-queue-delay-ms", "0"]
            for client in args.clients.split(","):
                keep = args.keep and os.path.join(args.keep, transport)
                plain = measure("plain", server, client, args.calls, None, keep)
                authed = measure("jwt", server + ["--jwt-secret-file", secret_file], client,
                                 args.calls, token, keep, args.as_user)
                a, b = plain["per_call"], authed["per_call"]
                print("%-7s server, %-6s client: GetUser instructions: no auth %d, reused HS256 "
                      "token %d (%+d, %+.1f%%)" % (transport, client, a, b, b - a,
                                                   100.0 * (b - a) / a), flush=True)
                if args.functions:
                    grown = authed["functions"]
                    grown.subtract(plain["functions"])
                    for (obj, fn), cost in grown.most_common(args.functions):
                        print("    %+7.0f  %s  %s" % (cost, obj, fn[:110]))


if __name__ == "__main__":
    main()
