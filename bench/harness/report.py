"""bench/run's report: the Markdown tables (bench/results/<date>-<host>.md), the raw results
(.json, from which --report-from writes the report again) and the GetUser latency plot (.png,
gnuplot). Figures are shown, never asserted; ratios are against baselines from the same run."""

import json
import os
import shutil
import socket
import subprocess
import tempfile

from harness.callgrind import CALLGRIND_LIST_PAGES, CALLGRIND_USERS
from harness.env import LOAD_CPU, ROOT, SERVER_CPU
from harness.targets import bound_of, grpcgo_section, ratio, targets_section


def write_report(results, args, started):
    host = socket.gethostname()
    date = started.strftime("%Y-%m-%d")
    out_dir = os.path.join(ROOT, "bench", "results")
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(out_dir, "%s-%s" % (date, host))
    servers = results["servers"]
    baselines = [s for s in servers if s["server"].startswith("baseline-")
                 and "ceiling" not in s["server"]]
    # A server that refuses calls fast must not look fastest: only error-free runs compete.
    clean = [s for s in baselines if s.get("get_user", {}).get("errors", 1) == 0]
    best_get = max(clean, key=lambda s: s["get_user"]["rps"], default=None)
    callback = next((s for s in servers if s["server"] == "baseline-callback"), None)
    ceiling = next((s for s in servers if s["server"] == "baseline-ceiling"), None)
    grpcgo = next((s for s in servers if s["server"] == "grpc-go"), None)

    # Runs before the option existed used libgrpc's client.
    LOAD_CLIENT_TEXT = {"grpc": "libgrpc (--client-transport grpc)",
                        "native": "nghttp2 on epoll (--client-transport native)"}
    lines = ["# percore benchmark, %s on %s" % (started.strftime("%Y-%m-%d %H:%M UTC"), host), "",
             "Command: `%s`. Server pinned to CPU %s, load to CPU %s; %d s per run, "
             "%d seeded users. Latencies in microseconds. percore-load's client: %s." % (
                 results.get("command", "bench/run"), SERVER_CPU, LOAD_CPU, args.duration,
                 args.users, LOAD_CLIENT_TEXT[results.get("load_client", "grpc")]), ""]

    def table(title, key, cols):
        lines.extend(["## " + title, "", "| server | " + " | ".join(c[0] for c in cols) + " |",
                      "|---" * (len(cols) + 1) + "|"])
        for s in servers:
            if key not in s:
                continue
            row = [str(c[1](s[key], s)) for c in cols]
            lines.append("| %s | %s |" % (s.get("label", s["server"]), " | ".join(row)))
        lines.append("")

    def vs(metric, against, key):
        return lambda r, s: ratio(r[metric], (against or {}).get(key, {}).get(metric)) or "-"

    table("Unary GetUser, closed loop (percore-load -c 64 --connections 2)", "get_user", [
        ("req/s", lambda r, s: r["rps"]), ("p50", lambda r, s: r["p50_us"]),
        ("p99", lambda r, s: r["p99_us"]), ("p99.9", lambda r, s: r["p999_us"]),
        ("errors", lambda r, s: r["errors"]),
        ("× best baseline", vs("rps", best_get, "get_user")),
        ("× ceiling", vs("rps", ceiling, "get_user")),
        ("× grpc-go", vs("rps", grpcgo, "get_user"))])
    table("Unary GetUser with h2load (pre-encoded frames, -c 2 -m 32)", "get_user_h2load", [
        ("req/s", lambda r, s: r["rps"]), ("mean", lambda r, s: round(r["mean_us"], 1)),
        ("2xx", lambda r, s: r["ok_2xx"]), ("× grpc-go", vs("rps", grpcgo, "get_user_h2load"))])
    if any(s["server"] == "nghttpd-floor" for s in servers):
        lines.extend(["The nghttpd row is not a gRPC server: `nghttpd --no-tls -n 1` (one worker "
                      "thread) answering h2load's GETs of a static 160-byte file, with the same "
                      "-c 2 -m 32 (no request body, no trailers, no gRPC framing, no handler): a "
                      "floor for HTTP/2 itself on one core.", ""])
    table("Unary CreateUser (-c 64)", "create_user", [
        ("req/s", lambda r, s: r["rps"]), ("p50", lambda r, s: r["p50_us"]),
        ("p99", lambda r, s: r["p99_us"]), ("p99.9", lambda r, s: r["p999_us"]),
        ("errors", lambda r, s: r["errors"])])
    table("Unary GetUser, open loop at --rps %d (latency from intended send time)"
          % args.open_loop_rps, "get_user_open_loop", [
              ("achieved req/s", lambda r, s: r["rps"]), ("p50", lambda r, s: r["p50_us"]),
              ("p99", lambda r, s: r["p99_us"]), ("p99.9", lambda r, s: r["p999_us"])])
    table("ListUsers, page of 1,000 (server streaming, -c 8)", "list_users", [
        ("messages/s", lambda r, s: r["messages_per_s"]), ("MB/s", lambda r, s: r["mb_per_s"]),
        ("pages/s", lambda r, s: r["rps"]),
        ("× callback baseline", vs("messages_per_s", callback, "list_users")),
        ("× grpc-go", vs("messages_per_s", grpcgo, "list_users"))])
    if any(s["server"] == "baseline-stream-ceiling" for s in servers):
        lines.extend(["baseline-stream-ceiling writes one User serialized at start-up, page_size "
                      "times back to back (percore's write shape: the first at once, the buffer hint on "
                      "those between, the last with the status; no store, no copy): "
                      "what a streamed message costs in libgrpc itself.", ""])
    def busy(key):
        return lambda r, s: "%.0f%%" % (100 * (r.get("profile") or {}).get(key, 0))

    def prof(key):
        return lambda r, s: (r.get("profile") or {}).get(key, "-")

    def cpu(load, load_short, per, extra=()):
        """The CPU accounting of one timed run (harness/profile.py), per call or message."""
        return [("server busy", busy("server_cpu_busy")), (load + " busy", busy("load_cpu_busy")),
                ("other work", busy("other_cpu_busy")),
                ("server CPU us/" + per, prof("server_cpu_us_per_" + per)),
                ("%ss per server CPU-s" % per, prof("%ss_per_server_cpu_s" % per)),
                ("%s CPU us/%s" % (load_short, per), prof("load_cpu_us_per_" + per))] + list(extra)

    table("CPU during the timed GetUser run (perf stat on the server; share of one CPU)",
          "get_user", cpu("load generator", "load", "call", [
              ("server ctx switches/s", prof("server_context_switches_per_s"))]))
    table("CPU during the h2load GetUser run", "get_user_h2load", cpu("h2load", "h2load", "call"))
    table("CPU during the timed ListUsers run", "list_users",
          cpu("load generator", "load", "message"))
    cg = results.get("callgrind") or []
    if cg:
        cats = ["gRPC core", "gRPC C++", "abseil", "protobuf", "allocator", "libc/libstdc++",
                "server's own code", "other"]
        for phase, title in [("get_user", "instructions per GetUser (h2load -c 2 -m 32, "
                              "%d calls)" % args.callgrind_calls),
                             ("list_users_message", "instructions per ListUsers message "
                              "(%d pages of %d users, percore-load -c 1)" % (
                                  CALLGRIND_LIST_PAGES, CALLGRIND_USERS))]:
            rows = [c for c in cg if phase in c]
            if not rows:
                continue
            lines.extend(["## callgrind: " + title, "",
                          "Start-up and seeding excluded; share of the instructions by where "
                          "they ran (gRPC C++ includes its header code inlined into the server).",
                          "", "| server | instructions | " + " | ".join(cats) + " |",
                          "|---" * (len(cats) + 2) + "|"])
            for c in rows:
                share = c[phase]["share"]
                lines.append("| %s | %s | %s |" % (
                    c["server"], "{:,}".format(c[phase]["instructions_per_call"]),
                    " | ".join("%.1f%%" % (100 * share.get(k, 0)) for k in cats)))
            lines.append("")
    lines.extend(grpcgo_section(results))
    lines.extend(targets_section(results, best_get, callback))
    lines.extend(["## Noise", "",
                  "Load average at start %s, at end %s (2 CPUs; other engineers build on this "
                  "machine). \"other work\" above is the CPU the rest of the machine used during "
                  "each timed run, as a share of one CPU. Whole run: %s s." % (
                      "/".join("%.1f" % x for x in results.get("loadavg_start", [])),
                      "/".join("%.1f" % x for x in results.get("loadavg_end", [])),
                      results.get("wall_s", "?")), ""])
    lines.extend(["## Peak RSS of the server", ""] +
                 ["- %s: %s MiB" % (s["server"], s["peak_rss_mib"]) for s in servers] + [""])
    if "watch" in results:
        w = results["watch"]
        lines.extend(["## Watch fan-out (1 writer in a closed loop, 1,000 watchers of all users, "
                      "percore --shards 1)", "",
                      "- events delivered: %s/s" % w["watchers"]["messages_per_s"],
                      "- writer: %s req/s, p99 %s us, errors %s" % (
                          w["writer"]["rps"], w["writer"]["p99_us"], w["writer"]["errors"]),
                      "- watch streams ended with: %s" % json.dumps(w["watch_status"]),
                      "- during the writer's run: %s" % bound_of(w.get("profile")),
                      "- server CPU per delivered event: %s us" % (w.get("profile") or {}).get(
                          "server_cpu_us_per_delivery", "-"),
                      "- peak RSS %s MiB" % w["peak_rss_mib"], ""])
    cw = results.get("callgrind_watch")
    if cw:
        lines.extend(["callgrind (stable): %s instructions per delivered event with %d watchers "
                      "and %d updates (percore --shards 1; %s)." % (
                          "{:,}".format(cw["instructions_per_delivery"]), cw["watchers"],
                          cw["updates"], ", ".join("%s %.0f%%" % (k, 100 * v)
                                                   for k, v in cw["share"].items() if v >= 0.01)),
                      ""])
    if os.path.exists(base + ".png"):
        os.unlink(base + ".png")
    plot(servers, base + ".png")
    if os.path.exists(base + ".png"):
        lines.extend(["![latency percentiles](%s)" % os.path.basename(base + ".png"), ""])
    with open(base + ".md", "w") as f:
        f.write("\n".join(lines))
    with open(base + ".json", "w") as f:
        json.dump(results, f, indent=2)
    return base


def plot(servers, png):
    if not shutil.which("gnuplot"):
        return
    rows = [(s["server"], s["get_user"]) for s in servers if "get_user" in s]
    if not rows:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
        for name, r in rows:
            f.write('"%s" %f %f %f\n' % (name, r["p50_us"], r["p99_us"], r["p999_us"]))
        dat = f.name
    script = """
set terminal pngcairo size 900,480 noenhanced
set output '%s'
set title 'GetUser latency percentiles (closed loop, -c 64)'
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set ylabel 'microseconds'
set logscale y
set xtics rotate by -20
plot '%s' using 2:xtic(1) title 'p50', '' using 3 title 'p99', '' using 4 title 'p99.9'
""" % (png, dat)
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
    os.unlink(dat)

