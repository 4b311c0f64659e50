"""Instructions per GetUser and per ListUsers message under callgrind (bench/harness's
callgrind_pass: 3,000 GetUser from h2load, 4 ListUsers pages of 300 users, each phase dumped on
its own) for percore-1shard and percore-1shard-native, against one checkout and its build; for
comparing two commits (run it once per checkout). Callgrind counts hold on a loaded machine.
Usage: /usr/bin/python3 bench/callgrind_getuser.py CHECKOUT BUILD_DIR OUT.json
  (BUILD_DIR relative to CHECKOUT, with percore-server and tools/load/percore-load built)
A CHECKOUT from before bench/harness (before the seam work, e.g. ef0a877^): only its
percore-server is measured; the harness, h2load's and percore-load's side come from this
script's own checkout and its build/release (percore-load built there), and a server without
--transport (before the native transport) is measured on libgrpc alone, without the flag."""

import json
import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(root, build, out):
    root = os.path.abspath(root)
    server = os.path.join(root, build, "services/server/percore-server")
    pre_seam = not os.path.isdir(os.path.join(root, "bench/harness"))
    harness_root = HERE if pre_seam else root
    sys.path[:0] = [os.path.join(harness_root, "bench"), os.path.join(harness_root, "tools/pylib")]
    from harness import callgrind, env, servers
    os.chdir(harness_root)
    env.use_build(os.path.join(HERE, "build/release") if pre_seam else os.path.join(root, build))
    transports = [False, True]
    if pre_seam and "--transport" not in open(server, "rb").read().decode("latin-1"):
        transports = [None]
        os.environ["PERCORE_TRANSPORT"] = "none"  # percore_py.server adds no --transport
    unshed = ["--shed-queue-delay-ms", "0"]  # under callgrind calls wait longer to start
    results = []
    for native in transports:
        name = "percore-1shard-native" if native else "percore-1shard"
        cmd = [server] + servers.percore_cmd(1, native=native)[1:] + unshed
        r = callgrind.callgrind_pass(name, cmd, 3000, callgrind.CALLGRIND_LIST_PAGES)
        results.append(r)
        print(name, "GetUser", r["get_user"]["instructions_per_call"], "ListUsers message",
              r["list_users_message"]["instructions_per_call"], flush=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
