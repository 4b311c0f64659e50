"""What durability costs CreateUser on one shard: the same closed loop (percore-load -c 64,
30,000 distinct users) against percore-server --shards 1 (pinned to CPU 0) in memory and with
--data-dir under each --fsync policy, in one run (issue 10's targets: everysec >= 90% of
in-memory, always >= 50%). The data directory is under /var/tmp: say which disk when quoting.
Usage (from the checkout, after a release build):
  PYTHONPATH=tools/pylib python3 bench/durability/fsync_policies.py build/release"""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import env  # noqa: E402 (bench/ is on the path only now)
from harness.load import percore_load, summarize  # noqa: E402
from percore_py.server import Server  # noqa: E402

POLICIES = [("in-memory", []), ("no", ["--fsync", "no"]),
            ("everysec", ["--fsync", "everysec"]), ("always", ["--fsync", "always"])]


def main(build):
    env.use_build(build)
    binary = os.path.join(build, "services/server/percore-server")
    for label, fsync in POLICIES:
        data_dir = tempfile.mkdtemp(prefix="percore-fsync-bench-", dir="/var/tmp")
        durable = ["--data-dir", data_dir] + fsync if fsync else []
        server = Server(binary, "--shards", "1", "--services", "user", *durable,
                        wrapper=["taskset", "-c", "0"])
        stamp = int(time.time() * 1000)
        users = [{"name": "Load %d" % i, "email": "load%d-%d@example.com" % (i, stamp)}
                 for i in range(30000)]
        try:
            report = summarize(percore_load(server.address, "user.v1.UserService.CreateUser",
                                            users, ["-c", "64", "-n", str(len(users))]))
        finally:
            server.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
        print("%-9s %9.1f req/s  p50 %7.0f us  p99 %7.0f us  errors %d" % (
            label, report["rps"], report["p50_us"], report["p99_us"], report["errors"]),
            flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
