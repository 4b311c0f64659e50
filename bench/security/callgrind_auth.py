#!/usr/bin/python3
"""What a reused JWT costs one GetUser, in instructions (callgrind: stable on a busy machine):
percore-server --shards 1 under valgrind, 3,000 GetUser from h2load (pre-encoded frames,
-c 2 -m 32) without authentication and with `--jwt-secret-file` and one HS256 token reused by
every call, on both transports; start-up and seeding excluded (issue 13's target: within 10%).
Usage, from a checkout after a release build:
  PYTHONPATH=bench:tools/pylib /usr/bin/python3 bench/security/callgrind_auth.py build/release
      [CALLS]"""

import os
import subprocess
import sys
import tempfile
import time

import jwt

from harness import env, load, servers
from harness.callgrind import CallgrindRun

SECRET = "bench-secret-0123456789abcdef0123456789"


def instructions_per_call(name, command, calls, token):
    run = CallgrindRun(name, command)
    try:
        address = run.server.address
        metadata = [("authorization", "Bearer " + token)] if token else None
        user_id = servers.seed(address, 100, metadata)[50]
        body = os.path.join(run.dir, "get.bin")
        with open(body, "wb") as f:
            f.write(load.grpc_frame(load.get_user_request(user_id)))
        cmd = load.h2load_args(2, 32, ["-n", str(calls)], body,
                               "http://%s/user.v1.UserService/GetUser" % address)
        if token:
            cmd[1:1] = ["-H", "authorization: Bearer " + token]
        run.zero()
        out = env.run(env.pin(env.LOAD_CPU, cmd), stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT).stdout
        if "%d 2xx" % calls not in out:
            raise RuntimeError("h2load did not get %d answers:\n%s" % (calls, out))
        run.dump()
        total, _ = next(run.phases())
        return round(total / calls)
    finally:
        run.close()


def main(build, calls=3000):
    env.use_build(build)
    with tempfile.TemporaryDirectory(prefix="percore-callgrind-auth-") as tmp:
        secret_file = os.path.join(tmp, "secret")
        with open(secret_file, "w") as f:
            f.write(SECRET)
        token = jwt.encode({"sub": "bench", "roles": ["admin"], "exp": int(time.time()) + 86400},
                           SECRET, algorithm="HS256")
        for native in (False, True):
            transport = "native " if native else "libgrpc"
            # Under callgrind calls wait longer than the default shedding allows (bench/harness/cli).
            server = servers.percore_cmd(1, False, native) + ["--shed-queue-delay-ms", "0"]
            plain = instructions_per_call("plain", server, calls, None)
            authed = instructions_per_call(
                "jwt", server + ["--jwt-secret-file", secret_file], calls, token)
            print("%s GetUser instructions: no auth %d, reused HS256 token %d (%+.1f%%)" %
                  (transport, plain, authed, 100.0 * (authed - plain) / plain), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], *(int(n) for n in sys.argv[2:3]))
