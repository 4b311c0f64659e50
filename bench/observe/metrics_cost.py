"""GetUser with metrics on against metrics built out (meson -Dmetrics=false, meson_options.txt),
same run: callgrind instructions per call (stable on a busy machine) and, unless
--callgrind-only, h2load req/s on one pinned core in interleaved rounds (quiet machine only).
Usage, from a checkout:
  bench/observe/metrics_cost [--rounds 3] [--duration 8] [--calls 3000] [--callgrind-only]
                             [--no-build]
Builds build/release and build/nometrics (-Dmetrics=false; only percore-server), then prints
one line per measurement and the difference (issue 12's target: within 3%)."""
import argparse
import os
import statistics
import subprocess

from harness import callgrind, env, load, servers

BUILDS = [("metrics on", "release", []), ("built out", "nometrics", ["-Dmetrics=false"])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds per h2load run")
    parser.add_argument("--calls", type=int, default=3000, help="GetUser calls under callgrind")
    parser.add_argument("--callgrind-only", action="store_true")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        for _, folder, options in BUILDS:
            subprocess.run([os.path.join(env.ROOT, "tools", "build"),
                            os.path.join(env.ROOT, "build", folder)] + options, check=True,
                           env=dict(os.environ, PERCORE_TARGETS="percore-server"))
    instructions = {}
    for name, folder, _ in BUILDS:
        env.use_build(os.path.join(env.ROOT, "build", folder))
        result = callgrind.callgrind_pass(name, servers.percore_cmd(1), args.calls, 0)
        instructions[name] = result["get_user"]["instructions_per_call"]
        print("callgrind %-10s %8d instructions per GetUser" % (name, instructions[name]),
              flush=True)
    on, off = instructions["metrics on"], instructions["built out"]
    print("callgrind: metrics cost %+d instructions per call (%+.2f%%)" %
          (on - off, 100.0 * (on - off) / off))
    if args.callgrind_only:
        return
    rates = {name: [] for name, _, _ in BUILDS}
    for r in range(args.rounds):
        for name, folder, _ in BUILDS:  # interleaved, so drift hits both alike
            env.use_build(os.path.join(env.ROOT, "build", folder))
            server = servers.percore_server(1)
            try:
                ids = servers.seed(server.address, 1000)
                figures = load.h2load_unary(server.address, "/user.v1.UserService/GetUser",
                                            load.get_user_request(ids[500]), 2, 32,
                                            args.duration)
            finally:
                server.stop()
            rates[name].append(figures["rps"])
            print("round %d %-10s %10.0f req/s" % (r, name, figures["rps"]), flush=True)
    on, off = (statistics.median(rates[n]) for n in ("metrics on", "built out"))
    print("h2load medians: on %.0f, built out %.0f req/s: metrics cost %.2f%%" %
          (on, off, 100.0 * (off - on) / off))


if __name__ == "__main__":
    main()
