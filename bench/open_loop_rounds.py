"""Open-loop GetUser at a fixed rate against percore on one pinned core (server CPU 0, load CPU
1, as bench/run), for several server flag sets in interleaved rounds: p50/p99/p99.9 in µs.
Usage, from a checkout on a quiet machine:
  PYTHONPATH=bench:tools/pylib python3 bench/open_loop_rounds.py BUILD RPS ROUNDS [LOAD_CLIENT [ONLY]]
LOAD_CLIENT is percore-load's --client-transport (grpc, the default, or native: 1.9 µs of load CPU
per call instead of 27, so the load core adds no queueing of its own); ONLY is a comma-separated
list of variant names to run (libgrpc, native, native-poll).
(bench/run measures one round of each server; this repeats the open loop alone, interleaved, to
see how much of a p99 difference is noise.)"""
import sys

from harness import env, load, servers

build, rps, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
env.use_build(build)
if len(sys.argv) > 4:
    env.LOAD_CLIENT = sys.argv[4]
only = sys.argv[5].split(",") if len(sys.argv) > 5 else None
VARIANTS = [("libgrpc", servers.percore_cmd(1, False, False)),
            ("native", servers.percore_cmd(1, False, True)),
            ("native-poll", servers.percore_cmd(1, False, True) +
             ["--idle-poll-us", "200"])]
VARIANTS = [(name, cmd) for name, cmd in VARIANTS if only is None or name in only]
print("load client: %s; native-poll is --transport native --idle-poll-us 200" % env.LOAD_CLIENT)
for r in range(rounds):
    for name, cmd in VARIANTS:
        server = servers.Measured(name, cmd)
        try:
            ids = servers.seed(server.address, 1000)
            data = [{"id": i} for i in ids[:256]]
            res = load.summarize(load.percore_load(
                server.address, "user.v1.UserService.GetUser", data,
                ["-c", "64", "--connections", "2", "-z", "5s", "--rps", str(rps),
                 "--duration-stop", "wait"]))
            print("round %d %-28s %8.0f req/s  p50 %6.0f  p99 %7.0f  p99.9 %7.0f" %
                  (r, name, res["rps"], res["p50_us"], res["p99_us"], res["p999_us"]), flush=True)
        finally:
            server.stop()
