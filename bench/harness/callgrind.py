"""Instructions per call, stable even on a busy machine: the server under
valgrind --tool=callgrind, its counters zeroed after start-up and seeding and dumped after each
phase, and each dump's self instructions split by where they ran (gRPC, protobuf, the
allocator, the server's own code, ...)."""

import collections
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import env, load, servers

# The callgrind pass: users seeded (ListUsers pages are this long) and pages listed.
CALLGRIND_USERS = 300
CALLGRIND_LIST_PAGES = 4
# PERCORE_CALLGRIND_KEEP=DIR: each run's dumps are copied to DIR/<server name>/ before removal.
KEEP_DIR = os.environ.get("PERCORE_CALLGRIND_KEEP")

# Shared objects by what they are; the server binary itself is split by function name.
CATEGORIES = [
    (r"libgrpc\+\+", "gRPC C++"), (r"lib(grpc|gpr|upb|address_sorting|cares|re2)\b", "gRPC core"),
    (r"libabsl", "abseil"), (r"libprotobuf", "protobuf"), (r"libjemalloc", "allocator"),
    (r"libc\.so|libstdc\+\+|libm\.so|ld-linux", "libc/libstdc++"),
]


def categorize(obj, fn):
    base = os.path.basename(obj)
    if base.startswith(("percore-server", "percore-baseline")):
        if "percore::" in fn:
            return "server's own code"
        if fn.startswith(("grpc::", "grpc_")) or "grpc::" in fn:
            return "gRPC C++"  # header code inlined into the binary
        if "google::protobuf" in fn or "::v1::" in fn:
            return "protobuf"
        return "server's own code"
    for pattern, name in CATEGORIES:
        if re.search(pattern, base):
            return name
    return "other"


def dump_costs(path, key):
    """Self instructions (Ir) of a callgrind dump (name-compressed format), summed by
    key(shared object, function); `key` is asked once per pair."""
    names = {"ob": {}, "fn": {}}
    obj = fn = ""
    skip_next = False
    costs = collections.Counter()
    cache = {}

    def resolve(kind, text):
        text = text.strip()
        m = re.match(r"\((\d+)\)(?: (.*))?$", text)
        if not m:
            return text
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), "?")

    with open(path, errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                if skip_next:  # a call's inclusive cost, already counted in the callee
                    skip_next = False
                    continue
                parts = line.split()
                if len(parts) > 1:
                    pair = (obj, fn)
                    if pair not in cache:
                        cache[pair] = key(obj, fn)
                    costs[cache[pair]] += int(parts[1])
            elif line.startswith("ob="):
                obj = resolve("ob", line[3:])
            elif line.startswith("fn="):
                fn = resolve("fn", line[3:])
            elif line.startswith("cob="):
                resolve("ob", line[4:])
            elif line.startswith("cfn="):
                resolve("fn", line[4:])
            elif line.startswith("calls="):
                skip_next = True
    return costs


def callgrind_costs(path):
    """Self instructions (Ir) per category (categorize) from a callgrind dump."""
    return dump_costs(path, categorize)


class CallgrindRun:
    """A server under callgrind with its output folder; zero() and dump() drive its counters,
    phases() reads the dumps in order as (instructions, share per category)."""

    def __init__(self, name, command):
        self.dir = tempfile.mkdtemp(prefix="percore-callgrind-")
        try:
            self.server = servers.under_callgrind(name, command, os.path.join(self.dir, "cg.out"))
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.pid = str(self.server.proc.pid)

    def _control(self, flag):
        env.run(["callgrind_control", flag, self.pid], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)

    def zero(self):
        self._control("-z")

    def dump(self):
        self._control("-d")

    def phases(self):
        dumps = sorted((p for p in os.listdir(self.dir) if re.match(r"cg\.out\.\d+$", p)),
                       key=lambda p: int(p.rsplit(".", 1)[1]))
        for dump in dumps:
            costs = callgrind_costs(os.path.join(self.dir, dump))
            total = sum(costs.values())
            yield total, {k: round(v / total, 3) for k, v in costs.most_common()}

    def close(self):
        self.server.stop()
        if KEEP_DIR:  # the dumps, for callgrind_annotate
            shutil.copytree(self.dir, os.path.join(KEEP_DIR, self.server.name), dirs_exist_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def callgrind_pass(name, cmd, get_calls, list_pages):
    """The server under callgrind: instructions per GetUser (h2load) and per ListUsers message
    (percore-load, pages of 1,000), each phase dumped on its own, start-up and seeding excluded."""
    run = CallgrindRun(name, cmd)
    result = {"server": name}
    try:
        address = run.server.address
        ids = servers.seed(address, CALLGRIND_USERS)
        run.zero()
        get = os.path.join(run.dir, "get.bin")
        with open(get, "wb") as f:
            f.write(load.grpc_frame(load.get_user_request(ids[len(ids) // 2])))
        env.run(env.pin(env.LOAD_CPU, load.h2load_args(
            2, 32, ["-n", str(get_calls)], get,
            "http://%s/user.v1.UserService/GetUser" % address)), stdout=subprocess.DEVNULL)
        run.dump()
        messages = 0
        if list_pages:
            report = load.percore_load(address, "user.v1.UserService.ListUsers",
                                       {"page_size": 1000}, ["-c", "1", "-n", str(list_pages)])
            run.dump()
            # As received: the stream ceiling writes page_size messages whatever is stored.
            messages = report.get("messagesReceived") or list_pages * min(1000, len(ids))
        phases = [("get_user", get_calls)] + ([("list_users_message", messages)]
                                              if list_pages else [])
        for (phase, count), (total, share) in zip(phases, run.phases()):
            result[phase] = {"instructions_per_call": round(total / count), "share": share}
    finally:
        run.close()
    return result


def _wait_until_idle(pid, bound_s=60):
    """Until the process's CPU time stops growing (checked every 2 s), at most `bound_s`: with
    watch streams open the server never quite idles under valgrind (2026-12-02: a few ticks
    every 2 s with 4 streams), and an unbounded wait never ended."""
    last = -1
    deadline = time.monotonic() + bound_s
    while True:
        with open("/proc/%s/stat" % pid) as f:
            ticks = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
        if ticks == last:
            return
        if time.monotonic() > deadline:
            env.log("callgrind: the server's CPU time still grows after %d s; the watch figure "
                    "includes that background work" % bound_s)
            return
        last = ticks
        time.sleep(2)


def callgrind_watch(name, cmd, watchers=200, updates=30):
    """percore under callgrind with `watchers` watchers of every user: instructions per
    delivered event (the owner's fan-out plus each watcher's stream write), while `updates`
    updates are written one at a time."""
    run = CallgrindRun(name, cmd)
    try:
        ids = servers.seed(run.server.address, 10)
        watch = load.watch_all_users(run.server.address, watchers, "600s",
                                     stderr=subprocess.DEVNULL)
        time.sleep(8)  # registrations under valgrind
        run.zero()
        data = [{"id": ids[n % len(ids)], "name": "Renamed %d" % n} for n in range(updates)]
        load.percore_load(run.server.address, "user.v1.UserService.UpdateUser", data,
                          ["-c", "1", "-n", str(updates)])
        # Deliveries finish after the writes: wait until the server's CPU time stops growing.
        _wait_until_idle(run.pid)
        run.dump()
        watch.send_signal(signal.SIGINT)
        try:
            watch.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            watch.kill()
        total, share = next(run.phases())
        return {"server": name, "watchers": watchers, "updates": updates,
                "instructions_per_delivery": round(total / (watchers * updates)),
                "share": share}
    finally:
        run.close()
