"""What a snapshot while serving costs GetUser's tail (issue 10's target: a snapshot of 1 million
users raises GetUser p99 by less than 2x while it runs). One shard (percore-server --shards 1
--services user --data-dir, pinned to CPU 0) holding USERS users; then open-loop GetUser at RPS
for SECONDS from percore-load on CPU 1, beside a trickle of 20 CreateUser per second (the writes
that make a time-triggered snapshot due), twice in one run:
  - `--snapshot-every 0`: no snapshot while serving (the trickle only);
  - `--snapshot-every 2s`: a snapshot of every user each 2 s with writes, so most of the window
    has one running; the snapshots taken and the last one's bytes come from /metrics.
The data directory is under /var/tmp: say which disk when quoting.
Usage (from the checkout, after a release build, on a quiet machine):
  PYTHONPATH=bench:tools/pylib /usr/bin/python3 bench/durability/snapshot_p99.py build/release \
      [USERS [RPS [SECONDS [ROUNDS]]]]      (defaults 1000000 20000 10 1; rounds alternate)"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

from harness import env, load
from percore_py import admin
from percore_py.stubs import stub_modules


def user_requests(count, stamp):
    return [{"name": "Snap %d" % i, "email": "snap%d-%d@example.com" % (i, stamp)}
            for i in range(count)]


def run(build, users, rps, seconds, snapshot_every):
    data_dir = tempfile.mkdtemp(prefix="percore-snapshot-bench-", dir="/var/tmp")
    server, port = admin.start_with_admin(
        os.path.join(build, "services/server/percore-server"), "--shards", "1", "--services",
        "user", "--data-dir", data_dir, "--snapshot-every", snapshot_every,
        "--shutdown-grace", "1")
    try:
        stamp = int(time.time() * 1000)
        created = load.percore_load(server.address, "user.v1.UserService.CreateUser",
                                    user_requests(users, stamp), ["-c", "64", "-n", str(users)])
        ids = user_ids(server, 256)
        # The creates leave a few hundred MB of log in the page cache; its writeback stalled the
        # first window of a run (2026-12-03: p99 479 ms without any snapshot). Settle it first.
        os.sync()
        time.sleep(2)
        before = snapshots(port)
        trickle = subprocess.Popen(
            env.pin(env.LOAD_CPU, [env.binary("tools/load/percore-load"), "--insecure", "--call",
                                   "user.v1.UserService.CreateUser", "-d",
                                   '{"name": "Trickle", "email": "t@example.com"}', "--rps",
                                   "20", "-c", "1", "-z", "%ds" % (seconds + 1), "-O", "json"] +
                    env.PROTO_ARGS + [server.address]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            got = load.summarize(load.percore_load(
                server.address, "user.v1.UserService.GetUser", ids,
                ["-c", "64", "--connections", "2", "-z", "%ds" % seconds, "--rps", str(rps),
                 "--duration-stop", "wait"]))
        finally:
            trickle.wait(timeout=seconds + 30)
        after = snapshots(port)
        return load.summarize(created), got, after[0] - before[0], after[1]
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def user_ids(server, count):
    """GetUser requests for the first `count` users (one ListUsers page)."""
    pb, pb_grpc = stub_modules("user.v1.user")
    page = pb_grpc.UserServiceStub(server.channel).ListUsers(
        pb.ListUsersRequest(page_size=count), timeout=30)
    return [{"id": user.id} for user in page]


def snapshots(port):
    """(snapshots taken while serving, bytes of the last one), summed over the shards and the
    stores (only users is hosted)."""
    taken, last = 0, 0
    for (name, labels), value in admin.metrics(port).items():
        if name == "percore_snapshots_total" and ("result", "ok") in labels:
            taken += value
        elif name == "percore_snapshot_last_bytes":
            last += value
    return taken, last


def main(build, users=1000000, rps=20000, seconds=10, rounds=1):
    env.use_build(build)
    for label in ("0", "2s") * rounds:
        created, got, taken, last = run(build, users, rps, seconds, label)
        print("--snapshot-every %-3s create %8.0f users/s | GetUser open loop %d/s: %8.0f req/s "
              "p50 %6.0f us p99 %7.0f us p99.9 %7.0f us errors %d | snapshots %d, last %.1f MB" % (
                  label, created["rps"], rps, got["rps"], got["p50_us"], got["p99_us"],
                  got["p999_us"], got["errors"], taken, last / 1e6), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], *(int(n) for n in sys.argv[2:6]))
