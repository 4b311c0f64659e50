"""Instructions per GET /v1/users/{id} (HTTP/1.1 keep-alive, the gateway) against per GetUser over
gRPC, the same server under callgrind (bench/harness/callgrind.py's counters: zeroed after
seeding, dumped after each phase), one shard, libgrpc and native transports; then, outside
valgrind, the context switches per request of each of the server's threads (/proc/PID/task/*/
status before and after a fixed number of requests; a count, not a rate). Load-insensitive
figures, so fine on a shared machine.
Usage: PYTHONPATH=bench:tools/pylib /usr/bin/python3 bench/gateway/callgrind_rest.py BUILD
         [REQUESTS [OUT.json]]"""

import collections
import json
import os
import re
import shutil
import subprocess
import sys
import time

from harness import callgrind, env, load, servers


def gateway_port(server):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"HTTP gateway listening on \S+ \(port (\d+)\)", server.stderr_text())
        if match:
            return int(match.group(1))
        time.sleep(0.05)
    raise RuntimeError("no gateway port in the log:\n" + server.stderr_text())


def rest_load(port, user_id, requests, connections):
    env.run(env.pin(env.LOAD_CPU, ["h2load", "--h1", "-c", str(connections), "-n", str(requests),
                                   "http://127.0.0.1:%d/v1/users/%s" % (port, user_id)]),
            stdout=subprocess.DEVNULL)


def grpc_load(address, user_id, requests, folder):
    data = os.path.join(folder, "get.bin")
    with open(data, "wb") as f:
        f.write(load.grpc_frame(load.get_user_request(user_id)))
    env.run(env.pin(env.LOAD_CPU, load.h2load_args(
        2, 32, ["-n", str(requests)], data, "http://%s/user.v1.UserService/GetUser" % address)),
        stdout=subprocess.DEVNULL)


def switches(pid):
    """(voluntary, nonvoluntary) context switches by thread name, summed."""
    out = collections.Counter()
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                text = f.read()
        except OSError:
            continue
        name = re.search(r"^Name:\s*(.*)$", text, re.M).group(1)
        out[(name, "vol")] += int(re.search(r"^voluntary_ctxt_switches:\s*(\d+)", text, re.M)[1])
        out[(name, "invol")] += int(
            re.search(r"^nonvoluntary_ctxt_switches:\s*(\d+)", text, re.M)[1])
    return out


def instructions(native, requests):
    cmd = servers.percore_cmd(1, native=native) + ["--http", "127.0.0.1:0",
                                                   "--shed-queue-delay-ms", "0"]
    run = callgrind.CallgrindRun("percore", cmd)
    try:
        ids = servers.seed(run.server.address, 30)
        port = gateway_port(run.server)
        rest_load(port, ids[15], 50, 4)  # warm: first-use costs (descriptor tables, buffers)
        run.zero()
        rest_load(port, ids[15], requests, 16)
        run.dump()
        grpc_load(run.server.address, ids[15], requests, run.dir)
        run.dump()
        phases = list(run.phases())
        if os.environ.get("KEEP_CALLGRIND"):  # a folder for callgrind_annotate
            keep = os.path.join(os.environ["KEEP_CALLGRIND"], "native" if native else "libgrpc")
            shutil.copytree(run.dir, keep, dirs_exist_ok=True)
        return {"rest_get_user": {"instructions_per_call": round(phases[0][0] / requests),
                                  "share": phases[0][1]},
                "grpc_get_user": {"instructions_per_call": round(phases[1][0] / requests),
                                  "share": phases[1][1]}}
    finally:
        run.close()


def context_switches(native, requests):
    server = servers.Measured("percore", servers.percore_cmd(1, native=native) +
                              ["--http", "127.0.0.1:0"])
    try:
        ids = servers.seed(server.address, 30)
        port = gateway_port(server)
        rest_load(port, ids[15], 200, 4)
        pid = server.proc.pid
        before = switches(pid)
        rest_load(port, ids[15], requests, 64)
        after = switches(pid)
        return {"%s %s" % key: round((after[key] - before[key]) / requests, 3)
                for key in sorted(after) if after[key] != before[key]}
    finally:
        server.stop()


def main():
    env.use_build(sys.argv[1])
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    results = {}
    for native in (False, True):
        name = "native" if native else "libgrpc"
        r = instructions(native, requests)
        r["context_switches_per_rest_request"] = context_switches(native, 20 * requests)
        results[name] = r
        print(name, "GET /v1/users/{id}", r["rest_get_user"]["instructions_per_call"],
              "instructions; GetUser over gRPC", r["grpc_get_user"]["instructions_per_call"],
              flush=True)
        print(name, "REST share", r["rest_get_user"]["share"], flush=True)
        print(name, "context switches per REST request", r["context_switches_per_rest_request"],
              flush=True)
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
