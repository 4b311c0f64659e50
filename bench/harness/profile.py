"""Where the CPU went during one timed run: `perf stat` on the server (CPU time, context
switches), the load generator's CPU time (children reaped meanwhile), and what the rest of the
machine used (/proc/stat), so the report can say what bound each figure."""

import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time


def machine_cpu_seconds():
    """Busy and steal CPU-seconds of the whole machine so far (/proc/stat, all CPUs)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    steal = fields[7] if len(fields) > 7 else 0
    return (sum(fields[:8]) - idle - steal) / hz, steal / hz


class RunProfile:
    """Started before a timed run against `server` (anything with a `proc`); stop() after it
    returns the CPU accounting, per call or per message when given their count."""

    def __init__(self, server):
        self.out = tempfile.NamedTemporaryFile(suffix=".perf", delete=False).name
        self.perf = None
        if shutil.which("perf"):
            self.perf = subprocess.Popen(
                ["perf", "stat", "-x", ",", "-e", "task-clock,context-switches,cpu-migrations",
                 "-p", str(server.proc.pid), "-o", self.out],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.2)  # attached before the load starts
        self.t0 = time.monotonic()
        self.children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.self0 = resource.getrusage(resource.RUSAGE_SELF)
        self.machine0 = machine_cpu_seconds()

    def _perf_counters(self):
        counters = {}
        if self.perf:
            self.perf.send_signal(signal.SIGINT)
            self.perf.wait(timeout=10)
            with open(self.out) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) > 2 and parts[0] and parts[0][0].isdigit():
                        counters[parts[2]] = float(parts[0])
        os.unlink(self.out)
        return counters

    def stop(self, calls=0, messages=0):
        wall = time.monotonic() - self.t0
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        machine = machine_cpu_seconds()
        load_cpu = (children.ru_utime + children.ru_stime - self.children0.ru_utime -
                    self.children0.ru_stime)
        self_cpu = me.ru_utime + me.ru_stime - self.self0.ru_utime - self.self0.ru_stime
        counters = self._perf_counters()
        server_cpu = counters.get("task-clock", 0) / 1000.0
        busy = machine[0] - self.machine0[0]
        result = {
            "wall_s": round(wall, 2),
            "server_cpu_s": round(server_cpu, 3),
            "server_cpu_busy": round(server_cpu / wall, 3) if wall else None,
            "load_cpu_busy": round(load_cpu / wall, 3) if wall else None,
            "other_cpu_busy": round(max(0.0, busy - server_cpu - load_cpu - self_cpu) / wall, 3),
            "steal_cpu": round((machine[1] - self.machine0[1]) / wall, 3),
            "server_context_switches_per_s": round(counters.get("context-switches", 0) / wall),
        }
        if calls:
            result["server_cpu_us_per_call"] = round(server_cpu * 1e6 / calls, 2)
            # What one saturated core would serve: holds up when the run was not server-bound.
            result["calls_per_server_cpu_s"] = round(calls / server_cpu) if server_cpu else None
            result["load_cpu_us_per_call"] = round(load_cpu * 1e6 / calls, 2)
        if messages:
            result["server_cpu_us_per_message"] = round(server_cpu * 1e6 / messages, 3)
            result["messages_per_server_cpu_s"] = (round(messages / server_cpu)
                                                   if server_cpu else None)
            result["load_cpu_us_per_message"] = round(load_cpu * 1e6 / messages, 3)
        return result
