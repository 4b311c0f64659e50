"""Load generation for bench/run: percore-load (ghz-compatible flags and JSON report) pinned to
the load CPU, its report summarized, and h2load (nghttp2-client) on pre-encoded gRPC frames for
unary GetUser (and GETs of a static file, for the HTTP/2 floor)."""

import json
import os
import re
import subprocess
import tempfile

from harness import env


def percore_load(address, call, data, extra, proto_args=None):
    """One percore-load run of `call` with request `data` (a message or a list of them); returns
    its JSON report. `proto_args` name the .proto (default env.PROTO_ARGS: user.v1)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(data, f)  # a file: large request arrays exceed the argument list limit
        data_file = f.name
    cmd = [env.binary("tools/load/percore-load"), "--insecure", "--client-transport",
           env.LOAD_CLIENT, "--call", call,
           "-D", data_file, "-O", "json"] + (proto_args or env.PROTO_ARGS) + extra + [address]
    try:
        out = env.run(env.pin(env.LOAD_CPU, cmd), stdout=subprocess.PIPE).stdout
    finally:
        os.unlink(data_file)
    return json.loads(out)


def watch_all_users(address, watchers, duration, stderr=None):
    """percore-load holding `watchers` WatchUserUpdates streams for `duration` (a ghz duration,
    e.g. "10s"), started and left running: the caller reads its JSON report from stdout."""
    return subprocess.Popen(
        env.pin(env.LOAD_CPU, [env.binary("tools/load/percore-load"), "--insecure",
                               "--client-transport", env.LOAD_CLIENT,
                               "--call", "user.v1.UserService.WatchUserUpdates", "-d", "{}",
                               "-c", str(watchers), "-n", str(watchers), "--connections", "4",
                               "-z", duration, "-O", "json"] + env.PROTO_ARGS + [address]),
        stdout=subprocess.PIPE, stderr=stderr, text=True)


def percentile(report, pct):
    for entry in report.get("latencyDistribution") or []:
        if abs(entry["percentage"] - pct) < 1e-6:
            return entry["latency"]
    return None


def summarize(report):
    """The figures the report shows from one percore-load report (latencies in microseconds)."""
    codes = report.get("statusCodeDistribution", {})
    return {
        "rps": round(report.get("rps", 0), 1),
        "count": report.get("count", 0),
        "ok": codes.get("OK", 0),
        "errors": sum(v for k, v in codes.items() if k != "OK"),
        "p50_us": (percentile(report, 50) or 0) / 1000.0,
        "p99_us": (percentile(report, 99) or 0) / 1000.0,
        "p999_us": (percentile(report, 99.9) or 0) / 1000.0,
        "messages_per_s": round(report.get("messagesPerSecond", 0), 1),
        "mb_per_s": round(report.get("bytesPerSecond", 0) / 1e6, 2),
    }


def grpc_frame(message_bytes):
    return b"\x00" + len(message_bytes).to_bytes(4, "big") + message_bytes


def get_user_request(user_id):
    raw = user_id.encode()
    return b"\x0a" + bytes([len(raw)]) + raw  # GetUserRequest{id = 1}


def h2load_args(clients, streams, amount, data_file, url):
    """h2load sending `data_file` (one gRPC frame) as every request's body, for `amount`
    (["-D", seconds] or ["-n", requests])."""
    return ["h2load", "-c", str(clients), "-m", str(streams)] + amount + [
        "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", data_file, url]


def h2load_unary(address, path, body, clients, streams, duration):
    """h2load on pre-encoded gRPC frames: req/s and mean latency (h2load has no percentiles)."""
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
        f.write(grpc_frame(body))
        data_file = f.name
    cmd = h2load_args(clients, streams, ["-D", str(duration)], data_file,
                      "http://%s%s" % (address, path))
    try:
        return _h2load_figures(cmd)
    finally:
        os.unlink(data_file)


def h2load_get(address, path, clients, streams, duration):
    """h2load GETting `path` (no body, no gRPC headers): req/s and mean latency."""
    return _h2load_figures(["h2load", "-c", str(clients), "-m", str(streams), "-D",
                            str(duration), "http://%s%s" % (address, path)])


def _h2load_figures(cmd):
    """Runs h2load pinned to the load CPU and reads its figures from its output."""
    out = env.run(env.pin(env.LOAD_CPU, cmd), stdout=subprocess.PIPE,
                  stderr=subprocess.STDOUT).stdout
    rps = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    ok = re.search(r"status codes: (\d+) 2xx", out)
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", out)

    def us(text):
        m = re.match(r"([\d.]+)(us|ms|s)", text or "")
        if not m:
            return 0.0
        return float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1e6}[m.group(2)]

    return {"rps": float(rps.group(1)) if rps else 0.0,
            "ok_2xx": int(ok.group(1)) if ok else 0,
            "mean_us": us(mean.group(1) if mean else None)}
