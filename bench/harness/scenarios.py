"""The timed runs: against one seeded server, unary GetUser closed loop (percore-load and
h2load), CreateUser, GetUser open loop and ListUsers pages, each with its CPU profile; h2load
GETs of the HTTP/2 floor's static file (nghttpd, no gRPC: "h2get", in the h2load GetUser table);
and the watch fan-out (one writer, 1,000 watchers of every user) against percore --shards 1."""

import json
import time

from percore_py.procfs import peak_rss_bytes

from harness.load import get_user_request, h2load_get, h2load_unary, percore_load, \
    summarize, watch_all_users
from harness.profile import RunProfile
from harness.servers import percore_server, seed

ALL = {"get", "h2load", "create", "open", "list"}
# The HTTP/2 floor (servers.H2Floor): h2load GETs a static file, as many clients and streams as
# the h2load GetUser run.
H2_FLOOR = {"h2get"}
H2LOAD_CLIENTS, H2LOAD_STREAMS = 2, 32


def _peak_rss_mib(server):
    return round(peak_rss_bytes(server.proc.pid) / 1048576.0, 1)


def measure_server(server, args, scenarios):
    result = {"server": server.name}
    if getattr(server, "label", None):
        result["label"] = server.label
    ids = seed(server.address, args.users) if scenarios & ALL else []
    some = ids[len(ids) // 2] if ids else ""
    dur = "%ds" % args.duration
    conns = "2"
    if "get" in scenarios:
        data = [{"id": i} for i in ids[:: max(1, len(ids) // 256)]]
        prof = RunProfile(server)
        r = percore_load(server.address, "user.v1.UserService.GetUser", data,
                         ["-c", "64", "--connections", conns, "-z", dur, "--duration-stop", "wait"])
        result["get_user"] = summarize(r)
        result["get_user"]["profile"] = prof.stop(calls=r.get("count", 0))
        result["get_user"]["error_kinds"] = r.get("errorDistribution") or {}
    if "h2load" in scenarios:
        prof = RunProfile(server)
        result["get_user_h2load"] = h2load_unary(
            server.address, "/user.v1.UserService/GetUser", get_user_request(some),
            clients=H2LOAD_CLIENTS, streams=H2LOAD_STREAMS, duration=args.duration)
        result["get_user_h2load"]["profile"] = prof.stop(
            calls=result["get_user_h2load"]["ok_2xx"])
    if "h2get" in scenarios:
        prof = RunProfile(server)
        result["get_user_h2load"] = h2load_get(server.address, server.PATH,
                                               clients=H2LOAD_CLIENTS, streams=H2LOAD_STREAMS,
                                               duration=args.duration)
        result["get_user_h2load"]["profile"] = prof.stop(
            calls=result["get_user_h2load"]["ok_2xx"])
    if "create" in scenarios:
        stamp = int(time.time() * 1000)
        data = [{"name": "Load %d" % i, "email": "load%d-%d@example.com" % (i, stamp)}
                for i in range(20000)]
        r = percore_load(server.address, "user.v1.UserService.CreateUser", data,
                         ["-c", "64", "--connections", conns, "-n", str(len(data))])
        result["create_user"] = summarize(r)
    if "open" in scenarios:
        data = [{"id": i} for i in ids[:256]]
        r = percore_load(server.address, "user.v1.UserService.GetUser", data,
                         ["-c", "64", "--connections", conns, "-z", dur, "--rps",
                          str(args.open_loop_rps), "--duration-stop", "wait"])
        result["get_user_open_loop"] = summarize(r)
        result["get_user_open_loop"]["target_rps"] = args.open_loop_rps
    if "list" in scenarios:
        prof = RunProfile(server)
        r = percore_load(server.address, "user.v1.UserService.ListUsers", {"page_size": 1000},
                         ["-c", "8", "--connections", conns, "-z", dur, "--duration-stop", "wait"])
        result["list_users"] = summarize(r)
        result["list_users"]["profile"] = prof.stop(messages=r.get("messagesReceived", 0))
    result["peak_rss_mib"] = _peak_rss_mib(server)
    return result


def measure_watch_fanout(args):
    """1 writer updating users (closed loop), 1,000 watchers of every user: events delivered per
    second, the writer's rate and latency."""
    server = percore_server(1)
    try:
        ids = seed(server.address, 100)
        watchers = watch_all_users(server.address, 1000, "%ds" % (args.duration + 2))
        time.sleep(1.5)  # let the watches register
        updates = [{"id": i, "name": "Renamed %d" % n} for n, i in enumerate(ids)]
        prof = RunProfile(server)
        # Closed loop: the writer's rate is what one shard sustains while it fans every update
        # out to all watchers, and its p99 is an update's latency then (an open loop past that
        # rate measures only the queue it builds).
        writer = percore_load(server.address, "user.v1.UserService.UpdateUser", updates,
                              ["-c", "1", "-z", "%ds" % args.duration])
        profile = prof.stop(calls=writer.get("count", 0))
        # Each update reaches every watcher: the server's CPU per delivery holds up even when
        # the machine is too busy for the rates to mean much.
        deliveries = writer.get("statusCodeDistribution", {}).get("OK", 0) * 1000
        if deliveries:
            profile["server_cpu_us_per_delivery"] = round(
                profile["server_cpu_s"] * 1e6 / deliveries, 2)
        out, _ = watchers.communicate(timeout=args.duration + 60)
        watch = json.loads(out)
        return {"writer": summarize(writer), "watchers": summarize(watch), "profile": profile,
                "watch_status": watch.get("statusCodeDistribution", {}),
                "peak_rss_mib": _peak_rss_mib(server)}
    finally:
        server.stop()
