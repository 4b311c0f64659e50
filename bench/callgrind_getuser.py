"""Instructions per GetUser and per ListUsers message under callgrind (bench/harness's
callgrind_pass: 3,000 GetUser from h2load, 4 ListUsers pages of 300 users, each phase dumped on
its own) for percore-1shard and percore-1shard-native, against one checkout and its build; for
comparing two commits (run it once per checkout). Callgrind counts hold on a loaded machine.
Usage: /usr/bin/python3 bench/callgrind_getuser.py CHECKOUT BUILD_DIR OUT.json
  (BUILD_DIR relative to CHECKOUT, with percore-server and tools/load/percore-load built)"""

import json
import os
import sys


def main(root, build, out):
    sys.path[:0] = [os.path.join(root, "bench"), os.path.join(root, "tools/pylib")]
    from harness import callgrind, env, servers
    os.chdir(root)
    env.use_build(build)
    unshed = ["--shed-queue-delay-ms", "0"]  # under callgrind calls wait longer to start
    results = []
    for name, native in (("percore-1shard", False), ("percore-1shard-native", True)):
        r = callgrind.callgrind_pass(name, servers.percore_cmd(1, native=native) + unshed, 3000,
                                     callgrind.CALLGRIND_LIST_PAGES)
        results.append(r)
        print(name, "GetUser", r["get_user"]["instructions_per_call"], "ListUsers message",
              r["list_users_message"]["instructions_per_call"], flush=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
