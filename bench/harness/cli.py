"""bench/run: percore's end-to-end benchmark, with its baselines measured in the same run.

Builds release (and the grpc-go baseline, bench/baseline/go/build, checked with grpcio before
it is measured), then for each server (percore with --shards 1 and 2; grpc-go with GOMAXPROCS=1;
the baseline gRPC C++ servers written the usual ways: sync, callback, async, the async "ceiling"
that answers GetUser with one prebuilt User, and the "stream-ceiling" that streams it as every
ListUsers message; and nghttpd -n 1 serving a static file, the HTTP/2 floor) starts it pinned to
CPU 0 (taskset), seeds it with users, and drives it from CPU 1 with percore-load (and, for unary
GetUser, with h2load from nghttp2-client on pre-encoded gRPC frames; the floor only with h2load
GETs). Writes bench/results/<date>-<host>.md and .json and a latency plot
(.png, gnuplot). Finishes in a few minutes on a 2-core machine.

  bench/run [--duration SECONDS] [--users N] [--quick] [--only percore,async,...]
            [--build DIR] [--no-build] [--no-callgrind] [--load-client grpc|native]
            [--report-from JSON]

Besides the figures, it profiles: `perf stat` counts the server's CPU time and context switches
during the timed GetUser and ListUsers runs (and the load generator's CPU time), so the report can
say whether a figure is bound by the server or by the load; a short `valgrind --tool=callgrind`
pass counts instructions per GetUser and per ListUsers message and splits them between gRPC,
protobuf, the allocator and the server's own code (stable even on a busy machine).

Figures are measured, never asserted; ratios are against baselines from the same run.
This module is the command line and the order of the run; the steps are the other modules of
bench/harness (see its __init__.py).
"""

import argparse
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys

from harness import callgrind, env, scenarios, servers
from harness.report import write_report

COMPARISON_ONLY = {"get", "h2load", "list"}
# Every server measured, in report order, and its scenarios (percore on libgrpc and on its own
# transport, --transport native, run everything): a 2-shard or minimal-stack percore
# runs only what the 1- vs 2-shard and stack comparisons need, the stream ceiling only ListUsers,
# the HTTP/2 floor only h2load GETs.
PLAN = [("percore-1shard", lambda: servers.percore_server(1), scenarios.ALL),
        ("percore-1shard-native", lambda: servers.percore_server(1, native=True), scenarios.ALL),
        ("percore-1shard-minimal", lambda: servers.percore_server(1, minimal_stack=True),
         COMPARISON_ONLY),
        ("percore-2shard", lambda: servers.percore_server(2), COMPARISON_ONLY),
        ("grpc-go", servers.grpcgo_server, scenarios.ALL),
        ("baseline-sync", lambda: servers.baseline_server("sync"), scenarios.ALL),
        ("baseline-callback", lambda: servers.baseline_server("callback"), scenarios.ALL),
        ("baseline-async", lambda: servers.baseline_server("async"), scenarios.ALL),
        ("baseline-ceiling", lambda: servers.baseline_server("ceiling"), scenarios.ALL),
        ("baseline-stream-ceiling", lambda: servers.baseline_server("stream-ceiling"), {"list"}),
        ("nghttpd-floor", servers.H2Floor, scenarios.H2_FLOOR)]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per timed run")
    parser.add_argument("--users", type=int, default=10000, help="users seeded per server")
    parser.add_argument("--open-loop-rps", type=int, default=5000)
    parser.add_argument("--only", default="", help="comma-separated servers to run")
    parser.add_argument("--quick", action="store_true", help="2 s runs, 1,000 users")
    parser.add_argument("--build", default=env.DEFAULT_BUILD, help="build directory (release)")
    parser.add_argument("--no-build", action="store_true", help="use the binaries as they are")
    parser.add_argument("--no-callgrind", action="store_true", help="skip the callgrind pass")
    parser.add_argument("--callgrind-calls", type=int, default=3000,
                        help="GetUser calls per server under callgrind")
    parser.add_argument("--load-client", choices=("grpc", "native"), default="grpc",
                        help="percore-load's --client-transport for every percore-load row: "
                             "grpc (libgrpc, the default) or native (nghttp2 on epoll, about "
                             "a fifth of the instructions per call)")
    parser.add_argument("--report-from", metavar="JSON",
                        help="only write the report again from a run's .json (e.g. after "
                             "editing bench/tried.md)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.users, args.callgrind_calls = 2, 1000, 2000
    return args


def report_again(args):
    """--report-from: the report of an earlier run, with that run's settings."""
    with open(args.report_from) as f:
        results = json.load(f)
    args.duration, args.users = results["duration_s"], results["users"]
    args.open_loop_rps = results.get("open_loop_rps", args.open_loop_rps)
    args.callgrind_calls = results.get("callgrind_calls", args.callgrind_calls)
    started = datetime.datetime.strptime(results["date"][:19], "%Y-%m-%dT%H:%M:%S")
    base = write_report(results, args, started)
    env.log("wrote", base + ".md", base + ".json")


def build(args, plan):
    env.run([os.path.join(env.ROOT, "tools/bootstrap"), "--bench"])
    env.use_build(args.build)
    if not args.no_build:
        targets = os.environ.get("PERCORE_TARGETS", env.BUILD_TARGETS)
        env.run([os.path.join(env.ROOT, "tools/build"), env.build_dir()],
                env=dict(os.environ, PERCORE_TARGETS=targets))
    if any(name == "grpc-go" for name, _, _ in plan):
        if not args.no_build:
            env.run([os.path.join(env.ROOT, "bench/baseline/go/build"), env.build_dir()],
                    stdout=subprocess.DEVNULL)
        env.log("checking the grpc-go baseline (bench/baseline/go/check_grpcgo.py)")
        servers.check_grpcgo()


def run_callgrind(args, results):
    results["callgrind"] = []
    pages = callgrind.CALLGRIND_LIST_PAGES
    # Under callgrind the server runs ~50x slower: calls wait longer than the default shedding
    # threshold to start and would be refused (the seeding failed so on a loaded machine).
    unshed = ["--shed-queue-delay-ms", "0"]
    for name, cmd, list_pages in [
            ("percore-1shard", servers.percore_cmd(1) + unshed, pages),
            ("percore-1shard-minimal", servers.percore_cmd(1, minimal_stack=True) + unshed, pages),
            ("percore-1shard-native", servers.percore_cmd(1, native=True) + unshed, pages),
            ("baseline-callback", servers.baseline_cmd("callback"), pages),
            ("baseline-async", servers.baseline_cmd("async"), pages),
            ("baseline-ceiling", servers.baseline_cmd("ceiling"), 0),
            ("baseline-stream-ceiling", servers.baseline_cmd("stream-ceiling"), pages)]:
        env.log("callgrind pass:", name)
        results["callgrind"].append(
            callgrind.callgrind_pass(name, cmd, args.callgrind_calls, list_pages))
    env.log("callgrind pass: watch fan-out")
    results["callgrind_watch"] = callgrind.callgrind_watch("percore-1shard",
                                                           servers.percore_cmd(1))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.report_from:
        report_again(args)
        return
    started = datetime.datetime.utcnow()
    only = set(filter(None, args.only.split(",")))
    plan = [p for p in PLAN if not only or any(o in p[0] for o in only)]
    build(args, plan)
    results = {"date": started.isoformat() + "Z", "host": socket.gethostname(),
               "duration_s": args.duration, "users": args.users, "servers": [],
               "loadavg_start": os.getloadavg(),
               "command": " ".join(["bench/run"] + argv),
               "open_loop_rps": args.open_loop_rps, "callgrind_calls": args.callgrind_calls,
               "load_client": args.load_client}
    env.LOAD_CLIENT = args.load_client
    for name, make, wanted in plan:
        env.log("measuring", name)
        server = make()
        try:
            results["servers"].append(scenarios.measure_server(server, args, wanted))
        finally:
            server.stop()
    if not only or "watch" in only:
        env.log("measuring watch fan-out")
        results["watch"] = scenarios.measure_watch_fanout(args)
    if not args.no_callgrind and (not only or "callgrind" in only) and shutil.which("valgrind"):
        run_callgrind(args, results)
    results["loadavg_end"] = os.getloadavg()
    results["wall_s"] = round((datetime.datetime.utcnow() - started).total_seconds())
    base = write_report(results, args, started)
    env.log("wrote", base + ".md", base + ".json")
    with open(base + ".md") as f:
        print(f.read())
